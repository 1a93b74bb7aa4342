from .readout import Readout


class SumVar(Readout):
    """Sum over the example's timesteps of ``v``, after the update and before any reset."""
