from .input import InputBase
from .leaky_integrate_fire import LeakyIntegrateFire


class LeakyIntegrateFireInput(InputBase, LeakyIntegrateFire):
    """LeakyIntegrateFire driven by the example's value per neuron in place of Isyn."""

    def __init__(self, v_thresh=1.0, v_reset=0.0, v=0.0, tau_mem=20.0, tau_refrac=None,
                 relative_reset=True, integrate_during_refrac=True, scale_i=False,
                 input_frames=1, input_frame_timesteps=1, readout=None):
        LeakyIntegrateFire.__init__(self, v_thresh=v_thresh, v_reset=v_reset, v=v,
                                    tau_mem=tau_mem, tau_refrac=tau_refrac,
                                    relative_reset=relative_reset,
                                    integrate_during_refrac=integrate_during_refrac,
                                    scale_i=scale_i, readout=readout)
        self._set_frames(input_frames, input_frame_timesteps)
