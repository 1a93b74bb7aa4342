from .neuron import Neuron


class LeakyIntegrate(Neuron):
    """Non-spiking leaky integrator, the usual readout population:
    V <- alpha V + Isyn + bias (Isyn scaled by 1 - alpha with ``scale_i``)."""

    values = ("v", "bias", "tau_mem")
    state = ("v",)

    def __init__(self, v=0.0, bias=0.0, tau_mem=20.0, scale_i=False, readout=None):
        super().__init__(readout)
        self._set_values(v=v, bias=bias, tau_mem=tau_mem)
        self.scale_i = bool(scale_i)
