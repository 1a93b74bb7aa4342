"""VarRecorder: a state variable of one population over time."""
from __future__ import annotations

import numpy as np

from ..store import Layout, Rows
from .recorder import PopulationRecorder


class VarRecorder(PopulationRecorder):
    """Records state variable ``var`` (the model's attribute name, e.g. ``"v"``) of
    ``pop``: ``cb_data[key]`` is a list with one (recorded timesteps, selected
    neurons) float32 array per recorded example, holding the values after each
    timestep's update (and reset)."""

    def __init__(self, pop, var, key=None, example_filter=None, neuron_filter=None,
                 timestep_filter=None):
        super().__init__(pop, key, example_filter, neuron_filter, timestep_filter)
        self.var = var

    def set_params(self, compiled_network, **kwargs):
        names = self.pop.neuron.var_names()
        if self.var not in names:
            raise KeyError(f"VarRecorder: population {self.pop.name} "
                           f"({type(self.pop.neuron).__name__}) has no variable "
                           f"{self.var!r}; it has {list(names)}")
        super().set_params(compiled_network, **kwargs)

    def layout(self):
        shape = (self._num_recorded_steps, len(self._neurons))
        return Layout("var", rows={"values": Rows(shape, "float32", ("time", "neuron"))},
                      attrs={"dt": self._dt, "var": self.var,
                             "timesteps": np.flatnonzero(self._timesteps).tolist(),
                             **self.layout_attrs()})

    def begin_batch(self):
        # Example-major and fresh for every batch: the sink keeps the buffer itself
        # (each example's (time, neuron) block is one contiguous view), so no value
        # is copied after the step that records it
        self._values = np.empty((len(self._rows), self._num_recorded_steps,
                                 len(self._neurons)), dtype=np.float32)
        self._all_rows = len(self._rows) == len(self._row_selected)

    def record_step(self, position):
        values = self._engine.get_var(self.pop, self.var)
        if not self._all_rows:
            values = values[self._rows]
        if not self._all_neurons:
            values = values[:, self._neurons]
        self._values[:, position] = values

    def end_batch(self):
        self._sink.write(self._batch_examples, rows={"values": self._values})
