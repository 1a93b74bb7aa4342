"""SpikeRecorder: spike times and ids (or counts) of one population."""
from __future__ import annotations

import numpy as np

from ..store import Layout, Rows
from .recorder import PopulationRecorder


class SpikeRecorder(PopulationRecorder):
    """Records ``pop``'s spikes: ``cb_data[key]`` is ``(times, ids)``, one array of
    spike times (ms) and one of flat neuron ids per recorded example, in time
    order (ids ascending within a step). With ``record_counts`` it is instead a
    list of per-neuron spike counts (selected neurons only) per example.

    The population needs ``record_spikes=True``, as in mlGeNN."""

    def __init__(self, pop, key=None, example_filter=None, neuron_filter=None,
                 record_counts=False, timestep_filter=None):
        super().__init__(pop, key, example_filter, neuron_filter, timestep_filter)
        if not self.pop.record_spikes:
            raise ValueError(f"SpikeRecorder: population {self.pop.name} was not created with "
                             f"record_spikes=True")
        self.record_counts = bool(record_counts)

    def layout(self):
        attrs = {"dt": self._dt, **self.layout_attrs()}
        if self.record_counts:
            return Layout("counts", rows={"counts": Rows((len(self._neurons),), "int32",
                                                         ("neuron",))}, attrs=attrs)
        return Layout("spikes", events={"timesteps": "int32", "ids": "int32"}, attrs=attrs)

    #: the engine keeps the batch's spikes; nothing to do per timestep
    records_per_batch = True

    def set_params(self, compiled_network, **kwargs):
        super().set_params(compiled_network, **kwargs)
        self._all_timesteps = bool(self._timesteps.all())

    def begin_batch(self):
        # Before the batch's first step, so the engine keeps all of its steps
        self._engine.record_spikes(self.pop)
        self._first_timestep = self._engine.timestep

    #: Nothing per step: the engine keeps the batch's spikes (GeNN in its recording
    #: buffers on the device), and end_batch reads them at once; no hook lets the
    #: engine run the batch's steps in one call
    on_timestep_end = None

    def end_batch(self):
        # The model's timesteps, so times follow the engine's clock (dt, time resets);
        # grouped by example already, each example's in time order
        steps, ids, counts = self._engine.batch_spikes(self.pop)
        keep = None if self._all_timesteps else self._timesteps[steps - self._first_timestep]
        if not self._all_neurons:
            selected = self._neuron_selected[ids]
            keep = selected if keep is None else keep & selected
        if keep is not None or len(self._rows) < len(counts) or self.record_counts:
            rows = np.repeat(np.arange(len(counts)), counts)
            selected = self._row_selected[rows]
            keep = selected if keep is None else keep & selected
            rows, ids, steps = rows[keep], ids[keep], steps[keep]
            if self.record_counts:
                self._write_counts(rows, ids)
                return
            counts = np.bincount(rows, minlength=len(counts))
        self._sink.write(self._batch_examples, events={"timesteps": steps, "ids": ids},
                         event_counts=counts[self._rows])

    def _write_counts(self, rows, ids):
        num_selected = len(self._neurons)
        cell = np.searchsorted(self._rows, rows) * num_selected + \
            np.searchsorted(self._neurons, ids)
        counts = np.bincount(cell, minlength=len(self._rows) * num_selected)
        self._sink.write(self._batch_examples, rows={"counts": counts.reshape(
            len(self._rows), num_selected).astype(np.int32)})
