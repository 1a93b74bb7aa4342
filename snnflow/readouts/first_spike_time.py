from .readout import Readout


class FirstSpikeTime(Readout):
    """Negated time (ms) of each neuron's first spike, so that the earliest neuron
    has the largest value; a neuron that never spiked reads minus float32's largest
    value (-3.4028235e38)."""
