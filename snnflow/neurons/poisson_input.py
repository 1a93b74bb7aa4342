from .input import InputBase


class PoissonInput(InputBase):
    """Poisson spike source: the example's value per neuron is a rate (spikes/ms);
    in every step a neuron spikes with probability 1 - exp(-|rate| dt) if its rate
    is positive. With ``signed_spikes`` a negative rate emits negative spikes
    (subtracting their connections' weights) at the same probability. Draws are
    reproducible from the compiler's rng_seed and the global example index."""

    def __init__(self, signed_spikes=False, input_frames=1, input_frame_timesteps=1,
                 readout=None):
        super().__init__(readout)
        self.signed_spikes = bool(signed_spikes)
        self._set_frames(input_frames, input_frame_timesteps)

    def __repr__(self):
        return (f"{type(self).__name__}(signed_spikes={self.signed_spikes}, "
                f"input_frames={self.input_frames}, "
                f"input_frame_timesteps={self.input_frame_timesteps})")
