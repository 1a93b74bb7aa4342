import numpy as np

from .connectivity import Connectivity, kernel_synapses, num
from .geometry import check_filters, check_padding, image_shape, pair, transposed_pairs


class Conv2DTranspose(Connectivity):
    """Transposed 2-D convolution from a (height, width, channels) population, as
    mlGeNN's: source neuron (iy, ix, c) reaches target (iy*sy - pad_y + ky,
    ix*sx - pad_x + kx, f) with kernel entry (ky, kx, f, c). ``weight`` and an array
    ``delay`` are (kh, kw, filters, in_channels), one value per kernel entry. The
    target is (H*sy + max(kh - sy, 0), W*sx + max(kw - sx, 0), filters) with
    "valid" padding, (H*sy, W*sx, filters) with "same"; or flat with ``flatten``."""

    def __init__(self, weight, filters, conv_size, flatten=False, conv_strides=None,
                 conv_padding="valid", delay=0):
        super().__init__(weight, delay)
        self.filters = check_filters(filters, "Conv2DTranspose")
        self.conv_size = pair(conv_size, "Conv2DTranspose conv_size")
        self.flatten = bool(flatten)
        self.conv_strides = pair(1 if conv_strides is None else conv_strides,
                                 "Conv2DTranspose conv_strides")
        self.conv_padding = check_padding(conv_padding)

    def _pairs(self, source_shape):
        in_shape = image_shape(source_shape, "Conv2DTranspose")
        return transposed_pairs(in_shape, self.conv_size, self.conv_strides,
                                self.conv_padding)

    def _output_shape(self, source_shape):
        return self._pairs(source_shape)[1] + (self.filters,)

    def target_shape(self, source_shape, target_shape):
        out = self._output_shape(source_shape)
        implied = (num(out),) if self.flatten else out
        return implied if target_shape is None else target_shape

    def _kernel_shape(self, source_shape):
        channels = image_shape(source_shape, "Conv2DTranspose")[2]
        return self.conv_size + (self.filters, channels)

    def validate(self, source_shape, target_shape, name):
        out = self._output_shape(source_shape)
        if num(target_shape) != num(out):
            raise ValueError(f"Conv2DTranspose connection {name}: target shape {target_shape} "
                             f"does not match the transposed convolution's output shape {out}")
        self._check_layout(self._kernel_shape(source_shape), name)

    def synapses(self, source_shape, target_shape, rng, self_connection=False):
        in_shape = image_shape(source_shape, "Conv2DTranspose")
        channels = in_shape[2]
        kernel_shape = self._kernel_shape(source_shape)
        (iy, ix, oy, ox, ky, kx), (_, out_w) = self._pairs(source_shape)
        c = np.arange(channels)[None, :, None]
        f = np.arange(self.filters)[None, None, :]
        pre = (iy * in_shape[1] + ix)[:, None, None] * channels + c
        post = (oy * out_w + ox)[:, None, None] * self.filters + f
        entry = np.ravel_multi_index((ky[:, None, None], kx[:, None, None], f, c), kernel_shape)
        pre, post, entry = (a.ravel() for a in np.broadcast_arrays(pre, post, entry))
        return kernel_synapses(self, pre, post, entry, kernel_shape, num(source_shape),
                               num(target_shape), rng)
