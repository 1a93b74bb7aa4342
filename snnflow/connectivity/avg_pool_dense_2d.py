import numbers

import numpy as np

from .avg_pool_2d import pool_matrix, pool_pairs
from .connectivity import (Connectivity, Synapses, delays_for, num, uniform_delays,
                           weights_for)
from .geometry import pair


class AvgPoolDense2D(Connectivity):
    """Average pooling followed by a dense projection; ``weight`` and an array
    ``delay`` are (pooled_h * pooled_w * channels, n_post). Expanded into one dense
    matrix; a source neuron's synapse to target j has the delay of its pool's
    entry for j (with overlapping pools, pool_strides < pool_size, a source is in
    several pools and ``delay`` must be one number)."""

    def __init__(self, weight, pool_size, pool_strides=None, delay=0):
        super().__init__(weight, delay)
        self.pool_size = pair(pool_size, "AvgPoolDense2D pool_size")
        self.pool_strides = pair(self.pool_size if pool_strides is None else pool_strides,
                                 "AvgPoolDense2D pool_strides")

    def _overlapping(self):
        return any(s < p for s, p in zip(self.pool_strides, self.pool_size))

    def validate(self, source_shape, target_shape, name):
        pooled = pool_pairs(source_shape, self.pool_size, self.pool_strides)[2]
        self._check_layout((num(pooled), num(target_shape)), name)
        if self._overlapping() and not isinstance(self.delay, numbers.Real):
            raise ValueError(f"AvgPoolDense2D connection {name}: with pool_strides "
                             f"{self.pool_strides} smaller than pool_size {self.pool_size} a "
                             f"source neuron is in several pools, so its delay must be one "
                             f"number, got {self.delay!r}")

    def synapses(self, source_shape, target_shape, rng, self_connection=False):
        pool, pooled = pool_matrix(source_shape, self.pool_size, self.pool_strides)
        shape = (num(pooled), num(target_shape))
        weight = weights_for(self.weight, shape, rng, "AvgPoolDense2D weight")
        matrix = np.asarray(pool @ np.asarray(weight, dtype=np.float32), dtype=np.float32)
        delays = delays_for(self.delay, shape, rng, "AvgPoolDense2D delay")
        if np.ndim(delays) != 0:
            # Pools do not overlap here: each pooled source has one pool (others none)
            pre, pooled_index, _ = pool_pairs(source_shape, self.pool_size, self.pool_strides)
            expanded = np.zeros(matrix.shape, dtype=np.int64)
            expanded[pre] = np.broadcast_to(delays, shape)[pooled_index]
            delays = expanded
        return Synapses(matrix, uniform_delays(delays))
