from .input import InputBase
from .integrate_fire import IntegrateFire


class IntegrateFireInput(InputBase, IntegrateFire):
    """IntegrateFire driven by the example's value per neuron in place of Isyn."""

    def __init__(self, v_thresh=1.0, v_reset=0.0, v=0.0, input_frames=1,
                 input_frame_timesteps=1, readout=None):
        IntegrateFire.__init__(self, v_thresh=v_thresh, v_reset=v_reset, v=v,
                               readout=readout)
        self._set_frames(input_frames, input_frame_timesteps)
