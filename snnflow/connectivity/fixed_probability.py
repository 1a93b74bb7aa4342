import numpy as np

from .connectivity import Connectivity, num, sparse_matrix, weights_for


class FixedProbability(Connectivity):
    """Each (source, target) pair is connected independently with probability ``p``.

    Stored sparse: the pairs are drawn as geometric gaps through the n_pre x n_post
    index space, so no dense matrix is ever made. ``weight`` is a scalar or an
    Initializer (one draw per synapse)."""

    def __init__(self, p, weight):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"FixedProbability: p must be in [0, 1], got {p!r}")
        if isinstance(weight, (np.ndarray, list, tuple)):
            raise TypeError("FixedProbability: weight must be a scalar or an Initializer "
                            "(the number of synapses is not known in advance)")
        super().__init__(weight)
        self.p = float(p)

    def synapse_matrix(self, source_shape, target_shape, rng):
        n_pre, n_post = num(source_shape), num(target_shape)
        flat = self._connected_pairs(n_pre * n_post, rng)
        pre, post = np.divmod(flat, n_post)
        weight = weights_for(self.weight, (len(flat),), rng, "FixedProbability weight")
        return sparse_matrix(pre, post, weight, n_pre, n_post)

    def _connected_pairs(self, total, rng):
        if self.p == 0.0:
            return np.zeros(0, dtype=np.int64)
        if self.p == 1.0:
            return np.arange(total, dtype=np.int64)
        chunks, position = [], -1
        while position < total:
            # Gaps between successive connected pairs are geometric(p)
            draw = int(total * self.p * 1.1) + 64
            steps = np.cumsum(rng.geometric(self.p, size=draw), dtype=np.int64) + position
            chunks.append(steps[steps < total])
            position = int(steps[-1])
        return np.concatenate(chunks)
