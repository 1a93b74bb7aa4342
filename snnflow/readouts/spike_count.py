from .readout import Readout


class SpikeCount(Readout):
    """Number of spikes each neuron emitted during the example."""
