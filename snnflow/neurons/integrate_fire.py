from .neuron import Neuron


class IntegrateFire(Neuron):
    """Non-leaky integrate-and-fire, as mlGeNN's: V <- V + Isyn; when V >= v_thresh
    it spikes and V is set to v_reset."""

    values = ("v", "v_thresh", "v_reset")
    state = ("v",)
    # Fixed for this model (LeakyIntegrateFire makes them choices)
    tau_refrac = None
    relative_reset = False
    integrate_during_refrac = True

    def __init__(self, v_thresh=1.0, v_reset=0.0, v=0.0, readout=None):
        super().__init__(readout)
        self._set_values(v_thresh=v_thresh, v_reset=v_reset, v=v)
