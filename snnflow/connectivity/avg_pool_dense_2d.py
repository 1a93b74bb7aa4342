import numpy as np

from .avg_pool_2d import pool_matrix
from .connectivity import Connectivity, check_weight_shape, num, weights_for
from .geometry import pair


class AvgPoolDense2D(Connectivity):
    """Average pooling followed by a dense projection; ``weight`` is
    (pooled_h * pooled_w * channels, n_post). Expanded into one dense matrix."""

    def __init__(self, weight, pool_size, flatten=False, pool_strides=None):
        super().__init__(weight)
        self.pool_size = pair(pool_size, "AvgPoolDense2D pool_size")
        self.flatten = bool(flatten)
        self.pool_strides = pair(self.pool_size if pool_strides is None else pool_strides,
                                 "AvgPoolDense2D pool_strides")

    def validate(self, source_shape, target_shape, name):
        pooled = pool_matrix(source_shape, self.pool_size, self.pool_strides)[1]
        check_weight_shape(self.weight, (num(pooled), num(target_shape)), name,
                           "AvgPoolDense2D weight")

    def synapse_matrix(self, source_shape, target_shape, rng):
        pool, pooled = pool_matrix(source_shape, self.pool_size, self.pool_strides)
        weight = weights_for(self.weight, (num(pooled), num(target_shape)), rng,
                             "AvgPoolDense2D weight")
        return np.asarray(pool @ np.asarray(weight, dtype=np.float32), dtype=np.float32)
