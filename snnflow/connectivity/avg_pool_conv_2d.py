import numpy as np

from .connectivity import Connectivity, kernel_synapses, num
from .geometry import check_filters, check_padding, image_shape, output_size, pair, window_pairs


class AvgPoolConv2D(Connectivity):
    """Average pooling (valid windows, each channel) followed by a 2-D convolution
    of the pooled image, fused as mlGeNN's: source neuron (y, x, c) in the pool of
    pooled position (py, px) reaches the convolution's targets of that position
    with weight kernel / (pool_h * pool_w) (divided in float64, then rounded to
    float32). ``weight`` and an array ``delay`` are (kh, kw, in_channels, filters).
    Pools must not overlap (pool_strides >= pool_size, as mlGeNN). The target is
    (out_h, out_w, filters), or flat with ``flatten``."""

    def __init__(self, weight, filters, pool_size, conv_size, flatten=False,
                 pool_strides=None, conv_strides=None, conv_padding="valid", delay=0):
        super().__init__(weight, delay)
        self.filters = check_filters(filters, "AvgPoolConv2D")
        self.pool_size = pair(pool_size, "AvgPoolConv2D pool_size")
        self.conv_size = pair(conv_size, "AvgPoolConv2D conv_size")
        self.flatten = bool(flatten)
        self.pool_strides = pair(self.pool_size if pool_strides is None else pool_strides,
                                 "AvgPoolConv2D pool_strides")
        self.conv_strides = pair(1 if conv_strides is None else conv_strides,
                                 "AvgPoolConv2D conv_strides")
        self.conv_padding = check_padding(conv_padding)
        if any(s < p for s, p in zip(self.pool_strides, self.pool_size)):
            raise ValueError(f"AvgPoolConv2D: pool_strides {self.pool_strides} smaller than "
                             f"pool_size {self.pool_size} (overlapping pools) are not "
                             f"supported, as in mlGeNN")

    def _pooled_shape(self, source_shape):
        height, width, channels = image_shape(source_shape, "AvgPoolConv2D")
        pooled = tuple(output_size(size, p, s, "valid")[0] for size, p, s in
                       zip((height, width), self.pool_size, self.pool_strides))
        if min(pooled) < 1:
            raise ValueError(f"AvgPoolConv2D: a {self.pool_size} pool does not fit in a "
                             f"{height}x{width} input")
        return pooled + (channels,)

    def _output_shape(self, source_shape):
        pooled = self._pooled_shape(source_shape)
        out = tuple(output_size(size, k, s, self.conv_padding)[0] for size, k, s in
                    zip(pooled[:2], self.conv_size, self.conv_strides))
        if min(out) < 1:
            raise ValueError(f"AvgPoolConv2D: a {self.conv_size} kernel does not fit in the "
                             f"{pooled[0]}x{pooled[1]} pooled input with {self.conv_padding} "
                             f"padding")
        return out + (self.filters,)

    def target_shape(self, source_shape, target_shape):
        out = self._output_shape(source_shape)
        implied = (num(out),) if self.flatten else out
        return implied if target_shape is None else target_shape

    def _kernel_shape(self, source_shape):
        return self.conv_size + (self._pooled_shape(source_shape)[2], self.filters)

    def validate(self, source_shape, target_shape, name):
        out = self._output_shape(source_shape)
        if num(target_shape) != num(out):
            raise ValueError(f"AvgPoolConv2D connection {name}: target shape {target_shape} "
                             f"does not match the pooled convolution's output shape {out}")
        self._check_layout(self._kernel_shape(source_shape), name)

    def synapses(self, source_shape, target_shape, rng, self_connection=False):
        in_shape = image_shape(source_shape, "AvgPoolConv2D")
        pooled = self._pooled_shape(source_shape)
        channels = in_shape[2]
        (src_y, src_x, pool_y, pool_x, _, _), _ = window_pairs(
            in_shape, self.pool_size, self.pool_strides, "valid")
        (in_y, in_x, out_y, out_x, ky, kx), (_, out_w) = window_pairs(
            pooled, self.conv_size, self.conv_strides, self.conv_padding)
        # Join each (source pixel, pooled pixel) pair with the convolution's pairs
        # of that pooled pixel
        pooled_of_source = pool_y * pooled[1] + pool_x
        conv_input = in_y * pooled[1] + in_x
        by_input = np.argsort(conv_input, kind="stable")
        counts = np.bincount(conv_input, minlength=pooled[0] * pooled[1])
        firsts = np.cumsum(counts) - counts
        repeats = counts[pooled_of_source]
        pool_pair = np.repeat(np.arange(len(pooled_of_source)), repeats)
        within = np.arange(len(pool_pair)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
        conv_pair = by_input[firsts[pooled_of_source[pool_pair]] + within]

        kernel_shape = self._kernel_shape(source_shape)
        c = np.arange(channels)[None, :, None]
        f = np.arange(self.filters)[None, None, :]
        source = src_y[pool_pair] * in_shape[1] + src_x[pool_pair]
        target = out_y[conv_pair] * out_w + out_x[conv_pair]
        pre = source[:, None, None] * channels + c
        post = target[:, None, None] * self.filters + f
        entry = np.ravel_multi_index((ky[conv_pair][:, None, None], kx[conv_pair][:, None, None],
                                      c, f), kernel_shape)
        pre, post, entry = (a.ravel() for a in np.broadcast_arrays(pre, post, entry))
        return kernel_synapses(self, pre, post, entry, kernel_shape, num(source_shape),
                               num(target_shape), rng,
                               divisor=self.pool_size[0] * self.pool_size[1])
