from .input import Input


class BinarySpikeInput(Input):
    """Spikes in every timestep where the example's value for the neuron is positive."""
