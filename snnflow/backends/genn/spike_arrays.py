"""The two GeNN arrays snnflow needs that pygenn only reaches through groups'
private ``_get_array``: a population's spike recording buffer (read one step at a
time, on demand) and the spike counts that carry last step's spikes into the next
step's delivery (cleared when a batch must start with nothing in flight)."""
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
        words = self.array.view[start:start + size].reshape(self.batch_size, self.words)
        bits = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")
        return bits[:, :self.num_neurons].astype(bool)


def clear_spikes_in_flight(synapse_groups):
    """Forget the spikes the source populations of ``synapse_groups`` emitted in the
    last step. GeNN keeps a population's spikes in the first of its outgoing
    groups that holds them (others share that copy), so groups without one are
    skipped."""
    for group in synapse_groups:
        try:
            count = group._get_array("srcSpkCnt", types.Uint32)
        except IndexError:  # pygenn's answer for an array the group does not have
            continue
        count.view[:] = 0
        count.push_to_device()
