from .readout import Readout


class MaxVar(Readout):
    """Largest value ``v`` took during the example (after the update, before any reset),
    starting from 0: a ``v`` that stays negative reads 0."""
