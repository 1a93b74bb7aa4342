from .input import SignedSpikeSource


class BinarySpikeInput(SignedSpikeSource):
    """Spikes in every timestep where the example's value for the neuron is
    positive (negative, with ``signed_spikes``: a negative spike)."""
