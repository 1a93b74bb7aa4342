from .input import InputBase


class BinarySpikeInput(InputBase):
    """Spikes in every timestep where the example's value for the neuron is
    positive. With ``signed_spikes`` a negative value emits a negative spike
    instead, which subtracts its connections' weights from their targets (mlGeNN's
    signed weight update)."""

    def __init__(self, signed_spikes=False, input_frames=1, input_frame_timesteps=1,
                 readout=None):
        super().__init__(readout)
        self.signed_spikes = bool(signed_spikes)
        self._set_frames(input_frames, input_frame_timesteps)

    def __repr__(self):
        return (f"{type(self).__name__}(signed_spikes={self.signed_spikes}, "
                f"input_frames={self.input_frames}, "
                f"input_frame_timesteps={self.input_frame_timesteps})")
