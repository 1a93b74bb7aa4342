import numpy as np

from .connectivity import Connectivity, delays_for, num, sparse_synapses, weights_for


class FixedProbability(Connectivity):
    """Each (source, target) pair is connected independently with probability ``p``.

    Stored sparse: the pairs are drawn as geometric gaps through the n_pre x n_post
    index space, so no dense matrix is ever made. ``weight`` and ``delay`` are
    scalars or Initializers (one draw per synapse, weights first). When a
    population connects to itself, a neuron never connects to itself unless
    ``allow_self_connections`` (as mlGeNN's, GeNN's FixedProbabilityNoAutapse)."""

    def __init__(self, p, weight, allow_self_connections=False, delay=0):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"FixedProbability: p must be in [0, 1], got {p!r}")
        for what, value in (("weight", weight), ("delay", delay)):
            if isinstance(value, (np.ndarray, list, tuple, range)):
                raise TypeError(f"FixedProbability: {what} must be a scalar or an Initializer "
                                f"(the number of synapses is not known in advance)")
        super().__init__(weight, delay)
        self.p = float(p)
        self.allow_self_connections = bool(allow_self_connections)

    def synapses(self, source_shape, target_shape, rng, self_connection=False):
        n_pre, n_post = num(source_shape), num(target_shape)
        flat = self._connected_pairs(n_pre * n_post, rng)
        pre, post = np.divmod(flat, n_post)
        if self_connection and not self.allow_self_connections:
            # Each other pair stays connected with probability p, independently
            keep = pre != post
            pre, post = pre[keep], post[keep]
        weight = weights_for(self.weight, (len(pre),), rng, "FixedProbability weight")
        delay = delays_for(self.delay, (len(pre),), rng, "FixedProbability delay")
        return sparse_synapses(pre, post, weight, delay, n_pre, n_post)

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
