"""A population's GeNN spike recording buffer, read a whole batch at once through
pygenn's public recording API (``GeNNModel.pull_recording_buffers_from_device``,
one transfer of every population's buffer, and ``NeuronGroup.spike_recording_data``,
decoded by GeNN's C++), or one step at a time for code that steps the engine by hand.

pygenn 5.4 has no public way to pull one step of the buffer, so the per-step read
goes through groups' private ``_get_array``; the batch read, which every recorder
uses, does not."""
from __future__ import annotations

import numpy as np
from pygenn import types


class RecordingBuffer:
    """A population's spike recording buffer: one bit per neuron, example and step,
    laid out (recording step, example, 32-bit words), the recording step being the
    model's timestep modulo the number of recorded steps."""

    def __init__(self, model, group, num_neurons, batch_size, num_steps):
        self.model = model
        self.group = group
        self.num_neurons = num_neurons
        self.words = (num_neurons + 31) // 32
        self.batch_size = batch_size
        self.num_steps = num_steps
        self._array = None

    def spikes(self, timestep) -> np.ndarray:
        """bool (batch_size, neurons): who spiked in ``timestep``; pulls only that step."""
        if self._array is None:
            self._array = self.group._get_array("recordSpk", types.Uint32)
        size = self.batch_size * self.words
        start = (timestep % self.num_steps) * size
        self._array._array.pull_slice_1d_from_device(start, size)
        return self._unpack(self._array.view[start:start + size])[0]

    def steps(self, first, stop, num_examples, pulled) -> tuple[np.ndarray, np.ndarray]:
        """The spikes of timesteps [first, stop) of the first ``num_examples``
        examples: (int32 timestep, int32 neuron, int64 spikes of each example),
        example by example, in time order, neurons ascending within a step. ``pulled``: the model's
        buffers were pulled after step ``stop - 1`` (one pull serves every group)."""
        if stop - first > self.num_steps:
            raise ValueError(f"the recording buffer holds {self.num_steps} steps, not "
                             f"{stop - first}")
        if stop - first < self.num_steps:
            # GeNN decodes only a full buffer: a short batch (stepped by hand) reads bits
            return self._steps_from_bits(first, stop, num_examples)
        if not pulled:
            self.model.pull_recording_buffers_from_device()
        # GeNN stamps buffer slot k with time (stop - num_steps + k) dt; the slot
        # holds the step s of [first, stop) with s % num_steps == k
        start_time = (stop - self.num_steps) * self.model.dt
        steps, neurons, counts = [], [], np.zeros(num_examples, dtype=np.int64)
        for example, (times, ids) in enumerate(self.group.spike_recording_data[:num_examples]):
            slots = np.rint((np.asarray(times) - start_time) / self.model.dt).astype(np.int64)
            example_steps = first + (slots - first) % self.num_steps
            ids = np.asarray(ids, dtype=np.int64)
            # GeNN lists an example's spikes by time, ids descending within a word
            order = np.argsort(example_steps * self.num_neurons + ids, kind="stable")
            steps.append(example_steps[order])
            neurons.append(ids[order])
            counts[example] = len(ids)
        steps = np.concatenate(steps) if steps else np.zeros(0, dtype=np.int64)
        neurons = np.concatenate(neurons) if neurons else np.zeros(0, dtype=np.int64)
        return steps.astype(np.int32), neurons.astype(np.int32), counts

    def _steps_from_bits(self, first, stop, num_examples):
        if self._array is None:
            self._array = self.group._get_array("recordSpk", types.Uint32)
        self._array.pull_from_device()
        slots = np.arange(first, stop) % self.num_steps
        spikes = self._unpack(self._array.view)[slots][:, :num_examples]
        # (example, step, neuron) order
        example, steps, neurons = np.nonzero(spikes.transpose(1, 0, 2))
        return ((steps + first).astype(np.int32), neurons.astype(np.int32),
                np.bincount(example, minlength=num_examples))

    def _unpack(self, words) -> np.ndarray:
        """bool (recording steps, batch_size, neurons) of the buffer's 32-bit words."""
        words = words.reshape(-1, self.batch_size, self.words)
        bits = np.unpackbits(words.view(np.uint8), axis=2, bitorder="little")
        return bits[..., :self.num_neurons].astype(bool)
