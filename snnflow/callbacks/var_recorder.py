"""VarRecorder: a state variable of one population over time."""
from __future__ import annotations

import numpy as np

from ..store import Layout, Rows
from .recorder import PopulationRecorder


class VarRecorder(PopulationRecorder):
    """Records variable ``var`` of ``pop``, named as the model's attribute (``"v"``,
    ``"v_thresh"``) or, with ``genn_var``, as GeNN names it in mlGeNN's model
    (``"V"``, ``"Vthresh"``, ``"Input"``, ``"Alpha"``: docs/callbacks.md has the
    table). ``cb_data[key]`` is a list with one (recorded timesteps, selected
    neurons) float32 array per recorded example, holding the values after each
    timestep's update (and reset). A parameter (``v_thresh``) reads its value per
    neuron, the same at every step."""

    def __init__(self, pop, var=None, key=None, example_filter=None, neuron_filter=None,
                 genn_var=None, timestep_filter=None):
        super().__init__(pop, key, example_filter, neuron_filter, timestep_filter)
        neuron = self.pop.neuron
        model = f"population {self.pop.name} ({type(neuron).__name__})"
        if (var is None) == (genn_var is None):
            raise ValueError(f"VarRecorder: give var or genn_var, exactly one; got "
                             f"var={var!r}, genn_var={genn_var!r}")
        self._transform = None
        if genn_var is not None:
            names = neuron.genn_var_names()
            if genn_var not in names:
                raise KeyError(f"VarRecorder: {model} has no GeNN variable {genn_var!r}; it "
                               f"has {sorted(names)}")
            var, self._transform = names[genn_var]
        else:
            names = neuron.var_names() + tuple(n for n in neuron.values
                                               if getattr(neuron, n) is not None)
            if var not in names:
                raise KeyError(f"VarRecorder: {model} has no variable {var!r}; it has "
                               f"{sorted(set(names))}")
        self.var = var
        self.genn_var = genn_var
        self._is_state = var in neuron.var_names()

    def layout(self):
        shape = (self._num_recorded_steps, len(self._neurons))
        return Layout("var", rows={"values": Rows(shape, "float32", ("time", "neuron"))},
                      attrs={"dt": self._dt, "var": self.var, "genn_var": self.genn_var,
                             "timesteps": np.flatnonzero(self._timesteps).tolist(),
                             **self.layout_attrs()})

    def set_params(self, compiled_network, **kwargs):
        super().set_params(compiled_network, **kwargs)
        # A state variable of an engine that records it itself: read once per batch
        # (not in few-spike networks, whose pipeline steps presentations itself)
        self.records_per_batch = (self._is_state and compiled_network.engine.records_vars
                                  and not hasattr(compiled_network, "pipeline_engine"))

    def begin_batch(self):
        self._all_rows = len(self._rows) == len(self._row_selected)
        if self.records_per_batch:
            self._handle = self._engine.record_var(self.pop, self.var, self._neurons,
                                                   self._timesteps)
            return
        # Example-major and fresh for every batch: the sink keeps the buffer itself
        # (each example's (time, neuron) block is one contiguous view), so no value
        # is copied after the step that records it
        self._values = np.empty((len(self._rows), self._num_recorded_steps,
                                 len(self._neurons)), dtype=np.float32)

    def record_step(self, position):
        if self._is_state:
            values = self._engine.get_var(self.pop, self.var)
        else:
            values = self._engine.get_value(self.pop, self.var)
            if self._transform is not None:
                values = self._transform(values.astype(np.float64), self._dt)
        if not self._all_rows:
            values = values[self._rows]
        if not self._all_neurons:
            values = values[:, self._neurons]
        self._values[:, position] = values

    def end_batch(self):
        if self.records_per_batch:
            values = self._engine.batch_var(self._handle)
            self._values = values if self._all_rows else values[self._rows]
        self._sink.write(self._batch_examples, rows={"values": self._values})
