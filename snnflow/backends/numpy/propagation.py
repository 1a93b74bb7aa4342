"""Spike delivery: (examples, n_pre) spikes times an (n_pre, n_post) weight matrix."""
from __future__ import annotations

import numpy as np
import scipy.sparse

F32 = np.float32

#: Up to this many examples, gathering rows with NumPy beats building a sparse
#: pattern (scipy's set-up costs ~100 us a call); both add rows in the same order.
SMALL_BATCH = 2


class Propagator:
    """Delivers a population's spikes through one weight matrix, event-driven:
    for each example, the weight rows of its spiking neurons are added in
    ascending neuron order, as GeNN's CPU backend does.

    Always event-driven, never a dense matrix product, on purpose: a BLAS product
    sums in an order that depends on the batch's shape, so an example's float32
    input would then depend on which examples share its batch."""

    def __init__(self, matrix):
        self.dense = isinstance(matrix, np.ndarray)
        self.matrix = matrix if self.dense else scipy.sparse.csr_array(matrix, dtype=F32)

    def deliver(self, spikes: np.ndarray, spiking: np.ndarray, in_syn: np.ndarray):
        """in_syn += spikes @ matrix; ``spiking`` are the flat indices of the spikes."""
        if len(spiking) == 0:
            return
        num_examples, num_pre = spikes.shape
        rows, cols = np.divmod(spiking, num_pre)
        if self.dense and num_examples <= SMALL_BATCH:
            # cumsum adds the rows one after another, in order (a reduction may
            # sum pairwise, e.g. for a single target neuron)
            for row in np.unique(rows):
                in_syn[row] += np.cumsum(self.matrix[cols[rows == row]], axis=0)[-1]
            return
        row_ends = np.cumsum(np.bincount(rows, minlength=num_examples))
        pattern = scipy.sparse.csr_array(
            (np.ones(len(cols), dtype=F32), cols, np.concatenate([[0], row_ends])),
            shape=spikes.shape)
        product = pattern @ self.matrix
        in_syn += product if self.dense else product.toarray()
