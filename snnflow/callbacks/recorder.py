"""Recorder: the shared machinery of the recording callbacks.

A recorder selects examples, timesteps and neurons with filters, gathers one
batch at a time from the engine, and hands each finished batch to a sink (in
memory, or a zarr store); it never keeps data itself."""
from __future__ import annotations

import dataclasses

import numpy as np

from ..utils.network import get_underlying_pop
from ..store import MemoryRecording
from ..utils.filter import (ExampleFilter, check_example_filter, check_filter,
                            filter_indices, filter_mask, neuron_indices)
from .callback import Callback


class Recorder(Callback):
    """Example and timestep selection, batching and the sink; subclasses say what
    one timestep's record is (``layout``, ``begin_batch``, ``record_step(position)``,
    ``end_batch``), or read the whole batch from the engine in ``end_batch``."""

    def __init__(self, key=None, example_filter=None, timestep_filter=None):
        self.key = key
        self.example_filter = check_example_filter(example_filter)
        self.timestep_filter = check_filter(timestep_filter, "timestep_filter")

    def layout_attrs(self) -> dict:
        return {"example_filter": repr(self.example_filter),
                "timestep_filter": repr(self.timestep_filter)}

    def set_params(self, compiled_network, num_examples=None, recording=None, **kwargs):
        self._compiled = compiled_network
        self._engine = compiled_network.engine
        self._timesteps = filter_mask(self.timestep_filter,
                                      (compiled_network.example_timesteps,), "timestep_filter")
        self._num_recorded_steps = int(self._timesteps.sum())
        self._examples = self._resolve_examples(num_examples)
        self._dt = compiled_network.compiler.dt
        layout = dataclasses.replace(self.layout(), examples=self._examples)
        self._sink = (recording or MemoryRecording()).sink(self.key, layout)
        self._rows = np.zeros(0, dtype=np.int64)

    def _resolve_examples(self, num_examples):
        """Sorted global example indices to record, or None for all."""
        spec = self.example_filter
        if spec is None:
            return None
        if num_examples is not None:
            return filter_indices(spec, (num_examples,), "example_filter")
        return np.flatnonzero(ExampleFilter(spec).mask)

    def on_batch_begin(self, batch):
        examples = self._compiled.batch_examples
        keep = np.ones(len(examples), dtype=bool) if self._examples is None else \
            np.isin(examples, self._examples)
        self._rows = np.flatnonzero(keep)
        self._batch_examples = examples[self._rows]
        self._row_selected = keep
        self._recorded_step = 0
        if len(self._rows):
            self.begin_batch()

    def on_timestep_end(self, timestep):
        if len(self._rows) and self._timesteps[timestep]:
            self.record_step(self._recorded_step)
            self._recorded_step += 1

    def on_batch_end(self, batch, metrics):
        if len(self._rows):
            self.end_batch()

    def get_data(self):
        return self.key, self._sink.data()

    # Subclasses: layout(), begin_batch(), record_step(position) (or their own
    # on_timestep_end), end_batch()


class PopulationRecorder(Recorder):
    """A recorder of one population, with a neuron filter in the population's shape."""

    def __init__(self, pop, key=None, example_filter=None, neuron_filter=None,
                 timestep_filter=None):
        super().__init__(key, example_filter, timestep_filter)
        self.pop = get_underlying_pop(pop)
        self.neuron_filter = check_filter(neuron_filter, "neuron_filter")
        # Shape errors (out of range, wrong mask) surface now, where the shape is known
        self._neurons = neuron_indices(self.neuron_filter, self.pop.shape, "neuron_filter")
        self._neuron_selected = np.zeros(self.pop.num_neurons, dtype=bool)
        self._neuron_selected[self._neurons] = True
        self._all_neurons = len(self._neurons) == self.pop.num_neurons

    def layout_attrs(self) -> dict:
        selected = self._neurons.tolist() if not self._all_neurons else "all"
        return {"population": self.pop.name, "population_shape": list(self.pop.shape),
                "neurons": selected, **super().layout_attrs()}

    def set_params(self, compiled_network, **kwargs):
        if self.pop not in compiled_network.network.populations:
            raise ValueError(f"{type(self).__name__}: population {self.pop.name} is not part "
                             f"of the compiled network")
        super().set_params(compiled_network, **kwargs)
