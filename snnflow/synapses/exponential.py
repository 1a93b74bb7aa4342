from .synapse import Synapse


class Exponential(Synapse):
    """Exponentially decaying current: Isyn = inSyn (times tau/dt (1 - exp(-dt/tau))
    with ``scale_i``), then inSyn <- inSyn exp(-dt/tau)."""

    def __init__(self, tau=5.0, scale_i=False):
        if not tau > 0:
            raise ValueError(f"Exponential: tau must be > 0, got {tau!r}")
        self.tau = float(tau)
        self.scale_i = bool(scale_i)
