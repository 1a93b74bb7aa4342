from .readout import Readout


class MaxVar(Readout):
    """Largest value ``v`` took during the example."""
