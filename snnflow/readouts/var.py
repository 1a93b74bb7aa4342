from .readout import Readout


class Var(Readout):
    """Value of the membrane voltage ``v`` after the last timestep."""
