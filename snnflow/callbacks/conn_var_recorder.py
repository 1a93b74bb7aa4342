"""ConnVarRecorder: a connection variable (such as its weights) over time."""
from __future__ import annotations

import numpy as np

from ..store import Layout, Rows
from ..utils.filter import check_filter, neuron_indices
from ..utils.network import get_underlying_conn
from .recorder import Recorder

#: The variables every engine exposes for a connection, by snnflow's and GeNN's names
CONNECTION_VARS = {"weight": "weight", "g": "weight", "delay": "delay", "d": "delay"}


class ConnVarRecorder(Recorder):
    """Records variable ``var`` of connection ``conn`` (a Connection, or a Layer for
    its incoming connection): ``"weight"`` or ``"delay"`` (in timesteps), or
    GeNN's names ``"g"`` and ``"d"``, which mlGeNN passes as ``genn_var``.
    ``cb_data[key]`` is a list with one (recorded timesteps, selected sources,
    selected targets) float32 array per recorded example; pairs
    that are not connected read 0. ``src_neuron_filter``/``trg_neuron_filter``
    select neurons in the source/target population's shape, like a neuron_filter."""

    def __init__(self, conn, var=None, key=None, example_filter=None, src_neuron_filter=None,
                 trg_neuron_filter=None, genn_var=None, timestep_filter=None):
        super().__init__(key, example_filter, timestep_filter)
        conn = get_underlying_conn(conn)
        if (var is None) == (genn_var is None):
            raise ValueError(f"ConnVarRecorder: give var or genn_var, exactly one; got "
                             f"var={var!r}, genn_var={genn_var!r}")
        var = genn_var if var is None else var
        if var not in CONNECTION_VARS:
            raise KeyError(f"ConnVarRecorder: connection {conn.name} has no variable {var!r}; "
                           f"it has {list(CONNECTION_VARS)}")
        self.conn = conn
        self.var = CONNECTION_VARS[var]
        self.src_neuron_filter = check_filter(src_neuron_filter, "src_neuron_filter")
        self.trg_neuron_filter = check_filter(trg_neuron_filter, "trg_neuron_filter")
        self._sources = neuron_indices(src_neuron_filter, conn.source.shape, "src_neuron_filter")
        self._targets = neuron_indices(trg_neuron_filter, conn.target.shape, "trg_neuron_filter")

    def set_params(self, compiled_network, **kwargs):
        if self.conn not in compiled_network.network.connections:
            raise ValueError(f"ConnVarRecorder: connection {self.conn.name} is not part of "
                             f"the compiled network")
        super().set_params(compiled_network, **kwargs)

    def layout(self):
        shape = (self._num_recorded_steps, len(self._sources), len(self._targets))
        return Layout("var", rows={"values": Rows(shape, "float32",
                                                  ("time", "source", "target"))},
                      attrs={"dt": self._dt, "var": self.var, "connection": self.conn.name,
                             "sources": self._sources.tolist(),
                             "targets": self._targets.tolist(),
                             "timesteps": np.flatnonzero(self._timesteps).tolist(),
                             **self.layout_attrs()})

    def begin_batch(self):
        self._values = np.empty((len(self._rows), self._num_recorded_steps,
                                 len(self._sources), len(self._targets)), dtype=np.float32)

    def record_step(self, position):
        values = self._engine.get_conn_var(self.conn, self.var)
        self._values[:, position] = values[np.ix_(self._sources, self._targets)]

    def end_batch(self):
        self._sink.write(self._batch_examples, rows={"values": self._values})
