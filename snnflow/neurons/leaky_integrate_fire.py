from ..utils.decorators import network_default_params
from ..utils.value import ValueDescriptor, decay_per_step
from .neuron import Neuron


class LeakyIntegrateFire(Neuron):
    """Leaky integrate-and-fire: V <- alpha V + Isyn (or alpha V + (1 - alpha) Isyn
    with ``scale_i``), alpha = exp(-dt / tau_mem); spike when V >= v_thresh (and
    not refractory), then V <- V - (v_thresh - v_reset) with ``relative_reset``,
    else V <- v_reset. With ``tau_refrac`` a neuron cannot spike for that many ms
    after a spike, and holds V there unless ``integrate_during_refrac``."""

    v_thresh = ValueDescriptor("Vthresh")
    v_reset = ValueDescriptor("Vreset")
    v = ValueDescriptor("V")
    tau_mem = ValueDescriptor(("Alpha", decay_per_step))
    tau_refrac = ValueDescriptor("TauRefrac")
    state = ("v",)

    @network_default_params
    def __init__(self, v_thresh=1.0, v_reset=0.0, v=0.0, tau_mem=20.0, tau_refrac=None,
                 relative_reset=True, integrate_during_refrac=True, scale_i=False,
                 readout=None):
        super().__init__(readout)
        self.v_thresh = v_thresh
        self.v_reset = v_reset
        self.v = v
        self.tau_mem = tau_mem
        self._check_positive("tau_mem")
        self.tau_refrac = tau_refrac
        self.relative_reset = bool(relative_reset)
        self.integrate_during_refrac = bool(integrate_during_refrac)
        self.scale_i = bool(scale_i)
