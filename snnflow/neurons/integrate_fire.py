from ..utils.value import ValueDescriptor
from .neuron import Neuron


class IntegrateFire(Neuron):
    """Non-leaky integrate-and-fire, as mlGeNN's: V <- V + Isyn; when V >= v_thresh
    it spikes and V is set to v_reset."""

    v_thresh = ValueDescriptor("Vthresh")
    v_reset = ValueDescriptor("Vreset")
    v = ValueDescriptor("V")
    state = ("v",)
    # Fixed for this model (LeakyIntegrateFire makes them choices)
    tau_refrac = None
    relative_reset = False
    integrate_during_refrac = True

    def __init__(self, v_thresh=1.0, v_reset=0.0, v=0.0, readout=None):
        super().__init__(readout)
        self.v_thresh = v_thresh
        self.v_reset = v_reset
        self.v = v
