from .readout import Readout


class Var(Readout):
    """Value of the membrane voltage ``v`` at the end of the example (after the last
    step's reset)."""
