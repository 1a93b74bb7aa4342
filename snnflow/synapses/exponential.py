from ..utils.decorators import network_default_params
from ..utils.value import ValueDescriptor, decay_per_step
from .synapse import Synapse


class Exponential(Synapse):
    """Exponentially decaying current: Isyn = inSyn (times tau/dt (1 - exp(-dt/tau))
    with ``scale_i``), then inSyn <- inSyn exp(-dt/tau)."""

    tau = ValueDescriptor(("ExpDecay", decay_per_step))

    @network_default_params
    def __init__(self, tau=5.0, scale_i=False):
        if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not tau > 0:
            raise ValueError(f"Exponential: tau must be a number > 0, got {tau!r}")
        self.tau = float(tau)
        self.scale_i = bool(scale_i)
