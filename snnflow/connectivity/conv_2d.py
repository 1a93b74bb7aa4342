import numpy as np

from .connectivity import Connectivity, kernel_synapses, num
from .geometry import check_filters, check_padding, image_shape, output_size, pair, window_pairs


class Conv2D(Connectivity):
    """2-D convolution (cross-correlation, as Keras) from a (height, width, channels)
    population; ``weight`` and an array ``delay`` are (kh, kw, in_channels,
    filters), one value per kernel entry shared by every position. The target is
    (out_h, out_w, filters), or flat with ``flatten``."""

    def __init__(self, weight, filters, conv_size, flatten=False, conv_strides=None,
                 conv_padding="valid", delay=0):
        super().__init__(weight, delay)
        self.filters = check_filters(filters, "Conv2D")
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
        self._check_layout(self._kernel_shape(source_shape), name)

    def synapses(self, source_shape, target_shape, rng, self_connection=False):
        in_shape = image_shape(source_shape, "Conv2D")
        channels = in_shape[2]
        kernel_shape = self._kernel_shape(source_shape)
        (iy, ix, oy, ox, ky, kx), (_, out_w) = window_pairs(
            in_shape, self.conv_size, self.conv_strides, self.conv_padding)
        c = np.arange(channels)[None, :, None]
        f = np.arange(self.filters)[None, None, :]
        pre = (iy * in_shape[1] + ix)[:, None, None] * channels + c
        post = (oy * out_w + ox)[:, None, None] * self.filters + f
        entry = np.ravel_multi_index((ky[:, None, None], kx[:, None, None], c, f), kernel_shape)
        pre, post, entry = (a.ravel() for a in np.broadcast_arrays(pre, post, entry))
        return kernel_synapses(self, pre, post, entry, kernel_shape, num(source_shape),
                               num(target_shape), rng)
