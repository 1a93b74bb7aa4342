from ..utils.value import check_value
from .neuron import Neuron


class LeakyIntegrateFire(Neuron):
    """Leaky integrate-and-fire: V <- alpha V + Isyn (or alpha V + (1 - alpha) Isyn
    with ``scale_i``), alpha = exp(-dt / tau_mem); spike when V >= v_thresh (and
    not refractory), then V <- V - (v_thresh - v_reset) with ``relative_reset``,
    else V <- v_reset. With ``tau_refrac`` a neuron cannot spike for that many ms
    after a spike, and holds V there unless ``integrate_during_refrac``."""

    values = ("v", "v_thresh", "v_reset", "tau_mem")
    state = ("v",)

    def __init__(self, v_thresh=1.0, v_reset=0.0, v=0.0, tau_mem=20.0, tau_refrac=None,
                 relative_reset=True, integrate_during_refrac=True, scale_i=False,
                 readout=None):
        super().__init__(readout)
        self._set_values(v_thresh=v_thresh, v_reset=v_reset, v=v, tau_mem=tau_mem)
        if tau_refrac is not None:
            check_value(tau_refrac, "LeakyIntegrateFire.tau_refrac")
        self.tau_refrac = tau_refrac
        self.relative_reset = bool(relative_reset)
        self.integrate_during_refrac = bool(integrate_during_refrac)
        self.scale_i = bool(scale_i)

    def var_names(self):
        return tuple(self.state) + (() if self.tau_refrac is None else ("refrac_time",))
