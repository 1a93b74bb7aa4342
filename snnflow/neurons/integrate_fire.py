from .neuron import SpikingNeuron


class IntegrateFire(SpikingNeuron):
    """Non-leaky integrate-and-fire: V <- V + Isyn; spike when V >= v_thresh."""

    values = ("v", "v_thresh", "v_reset")
    state = ("v",)
