"""A population's GeNN spike recording buffer, which pygenn only reaches through
groups' private ``_get_array``: read one step at a time (on demand) or a whole
batch at once (one transfer from the device)."""
from __future__ import annotations

import numpy as np
from pygenn import types


class RecordingBuffer:
    """A population's spike recording buffer: one bit per neuron, example and step,
    laid out (recording step, example, 32-bit words), the recording step being the
    model's timestep modulo the number of recorded steps."""

    def __init__(self, group, num_neurons, batch_size, num_steps):
        self.array = group._get_array("recordSpk", types.Uint32)
        self.num_neurons = num_neurons
        self.words = (num_neurons + 31) // 32
        self.batch_size = batch_size
        self.num_steps = num_steps

    def spikes(self, timestep) -> np.ndarray:
        """bool (batch_size, neurons): who spiked in ``timestep``; pulls only that step."""
        size = self.batch_size * self.words
        start = (timestep % self.num_steps) * size
        self.array._array.pull_slice_1d_from_device(start, size)
        return self._unpack(self.array.view[start:start + size])[0]

    def steps(self, first, stop) -> np.ndarray:
        """bool (steps, batch_size, neurons): who spiked in timesteps [first, stop),
        at most the buffer's length; pulls the whole buffer."""
        if stop - first > self.num_steps:
            raise ValueError(f"the recording buffer holds {self.num_steps} steps, not "
                             f"{stop - first}")
        self.array.pull_from_device()
        slots = np.arange(first, stop) % self.num_steps
        return self._unpack(self.array.view)[slots]

    def _unpack(self, words) -> np.ndarray:
        """bool (recording steps, batch_size, neurons) of the buffer's 32-bit words."""
        words = words.reshape(-1, self.batch_size, self.words)
        bits = np.unpackbits(words.view(np.uint8), axis=2, bitorder="little")
        return bits[..., :self.num_neurons].astype(bool)
