"""Input and InputBase: the bases of input neuron models, as mlGeNN's."""
from __future__ import annotations

from .neuron import Neuron


def _check_count(value, name, model):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{model}: {name} must be an int >= 1, got {value!r}")
    return value


class Input(Neuron):
    """The base of every input model: populations of these read ``x``, as their
    ``input_kind`` says, instead of (or besides) synaptic input."""


class InputBase(Input):
    """An input driven by one value per neuron per example (GeNN's variable
    ``Input``, recordable with ``VarRecorder(pop, genn_var="Input")``).

    With ``input_frames`` > 1 an example is a sequence of frames, ``x`` of shape
    (examples, input_frames, *population shape); frame ``f`` drives the neurons
    from step ``f * input_frame_timesteps`` on, and the last frame stays once
    every frame has been shown (mlGeNN's rule: frame = min(floor(t /
    (input_frame_timesteps dt)), input_frames - 1))."""

    input_kind = "values"
    input_frames = 1
    input_frame_timesteps = 1

    def _set_frames(self, input_frames, input_frame_timesteps):
        model = type(self).__name__
        self.input_frames = _check_count(input_frames, "input_frames", model)
        self.input_frame_timesteps = _check_count(input_frame_timesteps,
                                                  "input_frame_timesteps", model)


class SignedSpikeSource(InputBase):
    """A spike source driven by values that, with ``signed_spikes``, emits a
    negative spike where the value is negative, subtracting its connections'
    weights from their targets (mlGeNN's signed weight update)."""

    def __init__(self, signed_spikes=False, input_frames=1, input_frame_timesteps=1,
                 readout=None):
        super().__init__(readout)
        self.signed_spikes = bool(signed_spikes)
        self._set_frames(input_frames, input_frame_timesteps)

    def __repr__(self):
        return (f"{type(self).__name__}(signed_spikes={self.signed_spikes}, "
                f"input_frames={self.input_frames}, "
                f"input_frame_timesteps={self.input_frame_timesteps})")
