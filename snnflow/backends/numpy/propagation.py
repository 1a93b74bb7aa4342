"""Spike delivery: (examples, n_pre) spikes times an (n_pre, n_post) weight matrix."""
from __future__ import annotations

from collections import deque

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
        _add_rows(self.matrix, self.dense, rows, cols, num_examples, in_syn)

    def forget(self):
        """Drop spikes in flight inside the connection (none without delays)."""


class DelayedPropagator(Propagator):
    """Delivery with synaptic delays: a spike emitted in step t reaches in_syn
    through a synapse of delay d in step t + 1 + d.

    The connection keeps the spikes of the last ``max_delay + 1`` steps and, each
    step, pulls from them what arrives now: in one product, the spikes of age a
    (a steps before the last step) times the weights whose delay is a. The stacked
    matrix holds one block of rows per delay present, largest delay (oldest
    spikes) first, so each target's arrivals are added one by one from 0 in the
    order GeNN's dendritic delay buffer receives them: by emission step, then by
    ascending source neuron. The sum is independent of the batch, as without delays."""

    def __init__(self, matrix, delays):
        super().__init__(matrix)
        if np.ndim(delays) == 0:
            self.ages = np.array([int(delays)])
            self.stacked, self.stacked_dense = self.matrix, self.dense
        else:
            self.ages = np.unique(delays)[::-1]
            self.stacked, self.stacked_dense = _stack_by_delay(self.matrix, delays,
                                                               self.ages), False
        self._history = deque(maxlen=int(self.ages.max()) + 1)

    def deliver(self, spikes, spiking, in_syn):
        self._history.appendleft(spiking)
        num_examples, num_pre = spikes.shape
        rows, cols = [], []
        for block, age in enumerate(self.ages):
            if age < len(self._history) and len(self._history[age]):
                block_rows, block_cols = np.divmod(self._history[age], num_pre)
                rows.append(block_rows)
                cols.append(block_cols + block * num_pre)
        if not rows:
            return
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        if len(self.ages) > 1:
            # Blocks are in order and each block's spikes ascend: a stable sort by
            # example keeps both orders within every example
            order = np.argsort(rows, kind="stable")
            rows, cols = rows[order], cols[order]
        _add_rows(self.stacked, self.stacked_dense, rows, cols, num_examples, in_syn)

    def forget(self):
        self._history.clear()


def propagator(synapses):
    """The propagator of a connection's ``Synapses``: the plain one when every delay
    is 0, so delivery without delays costs what it always has."""
    if np.ndim(synapses.delays) == 0 and synapses.delays == 0:
        return Propagator(synapses.matrix)
    return DelayedPropagator(synapses.matrix, synapses.delays)


def _stack_by_delay(matrix, delays, ages):
    """CSR (len(ages) * n_pre, n_post): block b holds the synapses of delay ages[b]
    (``delays`` laid out as ``matrix``: its shape if dense, else its CSR data)."""
    num_pre, num_post = matrix.shape
    if isinstance(matrix, np.ndarray):
        rows = np.repeat(np.arange(num_pre), num_post)
        cols = np.tile(np.arange(num_post), num_pre)
        data = matrix.ravel()
    else:
        rows = np.repeat(np.arange(num_pre), np.diff(matrix.indptr))
        cols, data = matrix.indices, matrix.data
    block = np.searchsorted(-ages, -np.asarray(delays).ravel())
    stacked_rows = block * num_pre + rows
    # Stable: each row keeps its ascending columns
    order = np.argsort(stacked_rows, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(stacked_rows,
                                                        minlength=len(ages) * num_pre))])
    return scipy.sparse.csr_array((data[order].astype(F32), cols[order], indptr),
                                  shape=(len(ages) * num_pre, num_post))


def _add_rows(matrix, dense, rows, cols, num_examples, in_syn):
    """in_syn[e] += the sum of matrix rows ``cols[rows == e]``, added one by one in
    the given order (ascending within each example)."""
    if dense and num_examples <= SMALL_BATCH:
        # cumsum adds the rows one after another, in order (a reduction may
        # sum pairwise, e.g. for a single target neuron)
        for row in np.unique(rows):
            in_syn[row] += np.cumsum(matrix[cols[rows == row]], axis=0)[-1]
        return
    row_ends = np.cumsum(np.bincount(rows, minlength=num_examples))
    pattern = scipy.sparse.csr_array(
        (np.ones(len(cols), dtype=F32), cols, np.concatenate([[0], row_ends])),
        shape=(num_examples, matrix.shape[0]))
    product = pattern @ matrix
    in_syn += product if dense else product.toarray()
