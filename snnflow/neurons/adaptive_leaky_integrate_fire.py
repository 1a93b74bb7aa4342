from ..utils.decorators import network_default_params
from ..utils.value import ValueDescriptor, decay_per_step
from .neuron import Neuron


class AdaptiveLeakyIntegrateFire(Neuron):
    """Leaky integrate-and-fire with an adaptive threshold (Bellec et al. 2018), as
    mlGeNN's: V <- alpha V + Isyn and A <- rho A, alpha = exp(-dt / tau_mem),
    rho = exp(-dt / tau_adapt); spike when V >= v_thresh + beta A (and not
    refractory), then V is reset as LeakyIntegrateFire's and A <- A + 1.
    With ``tau_refrac`` a neuron cannot spike for that many ms after a spike, and
    holds V there unless ``integrate_during_refrac`` (A decays regardless)."""

    v_thresh = ValueDescriptor("Vthresh")
    v_reset = ValueDescriptor("Vreset")
    v = ValueDescriptor("V")
    a = ValueDescriptor("A")
    beta = ValueDescriptor("Beta")
    tau_mem = ValueDescriptor(("Alpha", decay_per_step))
    tau_refrac = ValueDescriptor("TauRefrac")
    tau_adapt = ValueDescriptor(("Rho", decay_per_step))
    state = ("v", "a")

    @network_default_params
    def __init__(self, v_thresh=1.0, v_reset=0.0, v=0.0, a=0.0, beta=0.0174, tau_mem=20.0,
                 tau_refrac=None, tau_adapt=2000.0, relative_reset=True,
                 integrate_during_refrac=True, readout=None):
        super().__init__(readout)
        self.v_thresh = v_thresh
        self.v_reset = v_reset
        self.v = v
        self.a = a
        self.beta = beta
        self.tau_mem = tau_mem
        self._check_positive("tau_mem")
        self.tau_refrac = tau_refrac
        self.tau_adapt = tau_adapt
        self._check_positive("tau_adapt")
        self.relative_reset = bool(relative_reset)
        self.integrate_during_refrac = bool(integrate_during_refrac)
