from .readout import Readout


class AvgVar(Readout):
    """Mean over the example's timesteps of ``v``: each step adds float32(1 / timesteps) * v,
    after the update and before any reset."""
