from ..utils.decorators import network_default_params
from ..utils.value import ValueDescriptor, decay_per_step
from .neuron import Neuron


class LeakyIntegrate(Neuron):
    """Non-spiking leaky integrator, the usual readout population:
    V <- alpha V + Isyn + bias (Isyn scaled by 1 - alpha with ``scale_i``)."""

    v = ValueDescriptor("V")
    bias = ValueDescriptor("Bias")
    tau_mem = ValueDescriptor(("Alpha", decay_per_step))
    state = ("v",)

    @network_default_params
    def __init__(self, v=0.0, bias=0.0, tau_mem=20.0, scale_i=False, readout=None):
        super().__init__(readout)
        self.v = v
        self.bias = bias
        self.tau_mem = tau_mem
        self._check_positive("tau_mem")
        self.scale_i = bool(scale_i)
