"""Spike delivery: (examples, n_pre) spikes times an (n_pre, n_post) weight matrix."""
from __future__ import annotations

import numpy as np
import scipy.sparse

F32 = np.float32

#: Above this fraction of neurons spiking, one dense matrix product beats
#: gathering the spiking rows (bench/propagation.py measured the break-even).
DENSE_SPIKE_FRACTION = 0.03


class Propagator:
    """Delivers a population's spikes through one weight matrix: event-driven
    (only spiking rows are touched) when few neurons spike, and as one dense
    matrix product when many do."""

    def __init__(self, matrix):
        self.dense = isinstance(matrix, np.ndarray)
        self.matrix = matrix if self.dense else scipy.sparse.csr_array(matrix, dtype=F32)

    def deliver(self, spikes: np.ndarray, spiking: np.ndarray, in_syn: np.ndarray):
        """in_syn += spikes @ matrix; ``spiking`` are the flat indices of the spikes."""
        if len(spiking) == 0:
            return
        if self.dense and len(spiking) > DENSE_SPIKE_FRACTION * spikes.size:
            in_syn += spikes.astype(F32) @ self.matrix
            return
        num_examples, num_pre = spikes.shape
        rows, cols = np.divmod(spiking, num_pre)
        row_ends = np.cumsum(np.bincount(rows, minlength=num_examples))
        pattern = scipy.sparse.csr_array(
            (np.ones(len(cols), dtype=F32), cols, np.concatenate([[0], row_ends])),
            shape=spikes.shape)
        product = pattern @ self.matrix
        in_syn += product if self.dense else product.toarray()
