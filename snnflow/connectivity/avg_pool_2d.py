import numpy as np
import scipy.sparse

from .connectivity import Connectivity, num, refuse_non_constant_delay, sparse_synapses
from .geometry import image_shape, pair, window_pairs


def pool_pairs(source_shape, pool_size, pool_strides):
    """Every (source neuron, pooled neuron) pair of average pooling over valid
    (full) windows, channel by channel, and the pooled (height, width, channels)."""
    in_shape = image_shape(source_shape, "pooling")
    channels = in_shape[2]
    (iy, ix, oy, ox, _, _), (out_h, out_w) = window_pairs(in_shape, pool_size,
                                                        pool_strides, "valid")
    if out_h < 1 or out_w < 1:
        raise ValueError(f"a {pool_size} pool does not fit in a {in_shape[:2]} input")
    c = np.arange(channels)[None, :]
    pre = (iy * in_shape[1] + ix)[:, None] * channels + c
    post = (oy * out_w + ox)[:, None] * channels + c
    pre, post = np.broadcast_arrays(pre, post)
    return pre.ravel(), post.ravel(), (out_h, out_w, channels)


def pool_matrix(source_shape, pool_size, pool_strides):
    """CSR (n_pre, n_pooled) averaging each channel over each pooling window,
    and the pooled (height, width, channels) shape."""
    pre, post, pooled_shape = pool_pairs(source_shape, pool_size, pool_strides)
    weight = np.full(pre.size, 1.0 / (pool_size[0] * pool_size[1]), dtype=np.float32)
    matrix = scipy.sparse.csr_array((weight, (pre, post)),
                                    shape=(num(source_shape), num(pooled_shape)))
    return matrix, pooled_shape


class AvgPool2D(Connectivity):
    """Average pooling: each target is the mean of its window in one channel.
    Target shape (pooled_h, pooled_w, channels), or flat with ``flatten``. Its
    weight is 1 / (pool_h * pool_w); ``delay`` is one number for every synapse."""

    def __init__(self, pool_size, flatten=False, pool_strides=None, delay=0):
        self.pool_size = pair(pool_size, "AvgPool2D pool_size")
        self.flatten = bool(flatten)
        self.pool_strides = pair(self.pool_size if pool_strides is None else pool_strides,
                                 "AvgPool2D pool_strides")
        refuse_non_constant_delay(delay, "AvgPool2D")
        super().__init__(1.0 / (self.pool_size[0] * self.pool_size[1]), delay)

    def target_shape(self, source_shape, target_shape):
        pooled = pool_pairs(source_shape, self.pool_size, self.pool_strides)[2]
        implied = (num(pooled),) if self.flatten else pooled
        return implied if target_shape is None else target_shape

    def validate(self, source_shape, target_shape, name):
        pooled = pool_pairs(source_shape, self.pool_size, self.pool_strides)[2]
        if num(pooled) != num(target_shape):
            raise ValueError(f"AvgPool2D connection {name}: target shape {target_shape} "
                             f"does not match the pooled shape {pooled}")

    def synapses(self, source_shape, target_shape, rng, self_connection=False):
        pre, post, _ = pool_pairs(source_shape, self.pool_size, self.pool_strides)
        return sparse_synapses(pre, post, np.float32(self.weight), int(self.delay),
                               num(source_shape), num(target_shape))
