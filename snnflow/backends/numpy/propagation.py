"""A connection's weights as the CPU engine delivers spikes through them: the
matrix, and with delays the same synapses regrouped by delay."""
from __future__ import annotations

import numpy as np
import scipy.sparse

F32 = np.float32


class Propagator:
    """A connection's weights without delays: ``matrix``, dense (an (n_pre, n_post)
    ndarray, ``dense`` True) or CSR. The engine delivers each example's spikes event
    by event, adding the weight rows of its spiking neurons in ascending neuron
    order, as GeNN's CPU backend does.

    Never a dense matrix product, on purpose: a BLAS product sums in an order that
    depends on the batch's shape, so an example's float32 input would then depend
    on which examples share its batch."""

    def __init__(self, matrix):
        self.dense = isinstance(matrix, np.ndarray)
        self.matrix = matrix if self.dense else scipy.sparse.csr_array(matrix, dtype=F32)


class DelayedPropagator(Propagator):
    """A connection's weights with synaptic delays: a spike emitted in step t
    reaches inSyn through a synapse of delay d in step t + 1 + d.

    ``ages`` are the delays present, largest first; ``stacked`` holds one block of
    rows per delay, in that order (the matrix itself for a single delay), so that
    each step the spikes of age a (a steps before the last step) are delivered
    through the block of delay a, and each target's arrivals are added one by one
    from 0 in the order GeNN's dendritic delay buffer receives them: by emission
    step, then by ascending source neuron. The sum is independent of the batch, as
    without delays."""

    def __init__(self, matrix, delays):
        super().__init__(matrix)
        if np.ndim(delays) == 0:
            self.ages = np.array([int(delays)])
            self.stacked, self.stacked_dense = self.matrix, self.dense
        else:
            self.ages = np.unique(delays)[::-1]
            self.stacked, self.stacked_dense = _stack_by_delay(self.matrix, delays,
                                                               self.ages), False


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
