"""Connections as GeNN synapse groups: every snnflow connectivity is expanded into
its weight matrix (geometry shared with the NumPy engine), which becomes a DENSE
group (an all-to-all ndarray) or a SPARSE one (a CSR matrix, row by row)."""
from __future__ import annotations

import numpy as np
import scipy.sparse

F32 = np.float32


class SynapseLayout:
    """How one connection's (n_pre, n_post) weight matrix is laid out in GeNN."""

    def __init__(self, matrix):
        self.shape = matrix.shape
        if isinstance(matrix, np.ndarray):
            self.matrix_type = "DENSE"
            self.weights = np.ascontiguousarray(matrix, dtype=F32).reshape(-1)
            self.pre = self.post = None
            self.max_row_length = self.shape[1]
        else:
            csr = scipy.sparse.csr_array(matrix, dtype=F32)
            csr.sort_indices()
            self.matrix_type = "SPARSE"
            # Row-major synapse order: GeNN keeps each row's synapses in this order,
            # so a spike adds its targets' weights in ascending target order
            self.pre = np.repeat(np.arange(self.shape[0]), np.diff(csr.indptr))
            self.post = csr.indices.astype(np.int64)
            self.weights = csr.data.astype(F32)
            # GeNN needs room for at least one synapse per row
            self.max_row_length = max(1, int(np.diff(csr.indptr).max(initial=0)))

    def structure(self) -> tuple:
        """What of the layout shapes the generated code."""
        return self.matrix_type, self.shape, self.max_row_length

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
