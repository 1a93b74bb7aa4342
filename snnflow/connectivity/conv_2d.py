import numpy as np

from .connectivity import Connectivity, check_weight_shape, num, sparse_matrix, weights_for
from .geometry import check_padding, image_shape, output_size, pair, window_pairs


class Conv2D(Connectivity):
    """2-D convolution (cross-correlation, as Keras) from a (height, width, channels)
    population; ``weight`` is (kh, kw, in_channels, filters). The target is
    (out_h, out_w, filters), or flat with ``flatten``."""

    def __init__(self, weight, filters, conv_size, flatten=False, conv_strides=None,
                 conv_padding="valid"):
        super().__init__(weight)
        if not isinstance(filters, int) or filters < 1:
            raise ValueError(f"Conv2D: filters must be a positive int, got {filters!r}")
        self.filters = filters
        self.conv_size = pair(conv_size, "Conv2D conv_size")
        self.flatten = bool(flatten)
        self.conv_strides = pair(1 if conv_strides is None else conv_strides,
                                 "Conv2D conv_strides")
        self.conv_padding = check_padding(conv_padding)

    def _output_shape(self, source_shape):
        height, width, _ = image_shape(source_shape, "Conv2D")
        out_h = output_size(height, self.conv_size[0], self.conv_strides[0], self.conv_padding)[0]
        out_w = output_size(width, self.conv_size[1], self.conv_strides[1], self.conv_padding)[0]
        if out_h < 1 or out_w < 1:
            raise ValueError(f"Conv2D: a {self.conv_size} kernel does not fit in a "
                             f"{height}x{width} input with {self.conv_padding} padding")
        return (out_h, out_w, self.filters)

    def target_shape(self, source_shape, target_shape):
        out = self._output_shape(source_shape)
        implied = (num(out),) if self.flatten else out
        return implied if target_shape is None else target_shape

    def _kernel_shape(self, source_shape):
        channels = image_shape(source_shape, "Conv2D")[2]
        return self.conv_size + (channels, self.filters)

    def validate(self, source_shape, target_shape, name):
        out = self._output_shape(source_shape)
        if num(target_shape) != num(out):
            raise ValueError(f"Conv2D connection {name}: target shape {target_shape} does "
                             f"not match the convolution's output shape {out}")
        check_weight_shape(self.weight, self._kernel_shape(source_shape), name,
                           "Conv2D weight")

    def synapse_matrix(self, source_shape, target_shape, rng):
        in_shape = image_shape(source_shape, "Conv2D")
        channels = in_shape[2]
        kernel = weights_for(self.weight, self._kernel_shape(source_shape), rng,
                             "Conv2D weight")
        (iy, ix, oy, ox, ky, kx), (_, out_w) = window_pairs(
            in_shape, self.conv_size, self.conv_strides, self.conv_padding)
        c = np.arange(channels)[None, :, None]
        f = np.arange(self.filters)[None, None, :]
        pre = ((iy * in_shape[1] + ix)[:, None, None] * channels + c)
        post = ((oy * out_w + ox)[:, None, None] * self.filters + f)
        weight = kernel[ky[:, None, None], kx[:, None, None], c, f]
        pre, post, weight = np.broadcast_arrays(pre, post, weight)
        return sparse_matrix(pre.ravel(), post.ravel(), weight.ravel(),
                             num(source_shape), num(target_shape))
