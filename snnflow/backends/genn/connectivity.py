"""Connections as GeNN synapse groups: every snnflow connectivity is expanded into
its weight matrix and delays (geometry shared with the NumPy engine), which become
a DENSE group (an all-to-all ndarray) or a SPARSE one (a CSR matrix, row by row).

Delays use GeNN's dendritic delay buffer: each synapse has its delay ``d`` and adds
its weight to the slot its target reads d steps later (``addToPostDelay``), as
mlGeNN does for heterogeneous delays. The slots receive their weights in the
order the NumPy engine adds them (by emission step, then ascending source)."""
from __future__ import annotations

import numpy as np
import scipy.sparse
from pygenn import VarAccess

F32 = np.float32
#: GeNN keeps a delay in an unsigned integer variable (mlGeNN's limit)
MAX_DELAY_SLOTS = 65535


def delayed_weight_update(delay_type: str) -> dict:
    """A static synapse whose weight reaches its target ``d`` steps late."""
    return {"class_name": "StaticDelayed",
            "vars": [("g", "scalar", VarAccess.READ_ONLY), ("d", delay_type, VarAccess.READ_ONLY)],
            "pre_spike_syn_code": "addToPostDelay(g, d);\n"}


class SynapseLayout:
    """How one connection's (n_pre, n_post) weights and delays are laid out in GeNN.

    ``delay_slots`` is 0 without delays (every delay 0), else GeNN's number of
    dendritic delay slots: 1 + the connection's max_delay_steps where given, else
    1 + its largest delay."""

    def __init__(self, conn, synapses):
        matrix = synapses.matrix
        self.shape = matrix.shape
        delays = synapses.delays
        if isinstance(matrix, np.ndarray):
            self.matrix_type = "DENSE"
            self.weights = np.ascontiguousarray(matrix, dtype=F32).reshape(-1)
            self.pre = self.post = None
            self.max_row_length = self.shape[1]
            num_synapses = matrix.size
        else:
            # The shared expansion gives one entry per synapse, row by row, each row's
            # targets ascending: GeNN keeps each row's synapses in this order, so a
            # spike adds its targets' weights in ascending target order
            csr = scipy.sparse.csr_array(matrix, dtype=F32)
            # (Sorting here would part the weights from their delays)
            assert csr.has_sorted_indices
            self.matrix_type = "SPARSE"
            self.pre = np.repeat(np.arange(self.shape[0]), np.diff(csr.indptr))
            self.post = csr.indices.astype(np.int64)
            self.weights = csr.data.astype(F32)
            # GeNN needs room for at least one synapse per row
            self.max_row_length = max(1, int(np.diff(csr.indptr).max(initial=0)))
            num_synapses = len(self.weights)
        self.delay_slots = 0
        self.delays = None
        if synapses.max_delay > 0:
            limit = synapses.max_delay if conn.max_delay_steps is None else conn.max_delay_steps
            self.delay_slots = limit + 1
            if self.delay_slots > MAX_DELAY_SLOTS:
                raise ValueError(f"connection {conn.name}: backend='genn' takes delays of up "
                                 f"to {MAX_DELAY_SLOTS - 1} timesteps, got a maximum of "
                                 f"{limit}")
            self.delay_type = "uint8_t" if self.delay_slots <= 256 else "uint16_t"
            dtype = np.uint8 if self.delay_type == "uint8_t" else np.uint16
            self.delays = np.broadcast_to(np.asarray(delays, dtype=dtype).reshape(-1),
                                          (num_synapses,)).copy()

    def weight_update(self, static_model: dict) -> tuple[dict, dict]:
        """The weight update model's definition and its variables' values."""
        if self.delays is None:
            return static_model, {"g": self.weights}
        return delayed_weight_update(self.delay_type), {"g": self.weights, "d": self.delays}

    def structure(self) -> tuple:
        """What of the layout shapes the generated code."""
        return self.matrix_type, self.shape, self.max_row_length, self.delay_slots

    def dense(self, group) -> np.ndarray:
        """The (n_pre, n_post) weights of ``group`` now (0 where not connected)."""
        weight = group.vars["g"]
        weight.pull_from_device()
        values = np.asarray(weight.values, dtype=F32)
        if self.matrix_type == "DENSE":
            return values.reshape(self.shape).copy()
        dense = np.zeros(self.shape, dtype=F32)
        # GeNN keeps the synapses in the row-major order they were given in
        dense[self.pre, self.post] = values
        return dense
