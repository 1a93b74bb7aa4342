from .readout import Readout


class AvgVar(Readout):
    """Mean over the example's timesteps of ``v`` (each step adds v / timesteps)."""
