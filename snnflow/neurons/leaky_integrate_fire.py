from .neuron import SpikingNeuron


class LeakyIntegrateFire(SpikingNeuron):
    """Leaky integrate-and-fire: V <- alpha V + Isyn (or alpha V + (1 - alpha) Isyn
    with ``scale_i``), alpha = exp(-dt / tau_mem); spike when V >= v_thresh."""

    values = ("v", "v_thresh", "v_reset", "tau_mem")
    state = ("v",)

    def __init__(self, v_thresh=1.0, v_reset=0.0, v=0.0, tau_mem=20.0, tau_refrac=None,
                 relative_reset=True, integrate_during_refrac=True, scale_i=False,
                 readout=None):
        super().__init__(v_thresh, v_reset, v, tau_refrac, relative_reset,
                         integrate_during_refrac, readout, tau_mem=tau_mem)
        self.scale_i = bool(scale_i)
