from .neuron import Neuron


class BinarySpikeInput(Neuron):
    """Spikes in every timestep where the example's value for the neuron is positive."""

    input_kind = "values"
