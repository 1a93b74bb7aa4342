"""Index arithmetic shared by convolution and pooling (channels-last, row-major)."""
from __future__ import annotations

import numpy as np


def pair(value, what) -> tuple:
    """An int or a 2-sequence of positive ints as a 2-tuple."""
    result = (value, value) if isinstance(value, int) else tuple(value)
    if len(result) != 2 or not all(isinstance(v, int) and v > 0 for v in result):
        raise ValueError(f"{what} must be a positive int or a pair of them, got {value!r}")
    return result


def image_shape(shape, what) -> tuple:
    """A (height, width, channels) source shape; 2-D shapes get one channel."""
    if len(shape) == 2:
        return shape + (1,)
    if len(shape) != 3:
        raise ValueError(f"{what} needs a (height, width, channels) source population, "
                         f"got shape {shape}")
    return shape


def output_size(size, window, stride, padding) -> tuple[int, int]:
    """(output size, padding before) along one axis, with TensorFlow's conventions."""
    if padding == "valid":
        return (size - window) // stride + 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return out, total // 2


def window_pairs(in_shape, window, strides, padding, out_channels_per_in=None):
    """Every (input position, output position, window offset) of a sliding window.

    Returns flat arrays (iy, ix, oy, ox, ky, kx) for windows that fall inside the
    input; positions in the padding are dropped (they contribute nothing)."""
    height, width, _ = in_shape
    out_h, pad_y = output_size(height, window[0], strides[0], padding)
    out_w, pad_x = output_size(width, window[1], strides[1], padding)
    oy, ox, ky, kx = np.meshgrid(np.arange(out_h), np.arange(out_w),
                                 np.arange(window[0]), np.arange(window[1]), indexing="ij")
    iy = oy * strides[0] + ky - pad_y
    ix = ox * strides[1] + kx - pad_x
    inside = (iy >= 0) & (iy < height) & (ix >= 0) & (ix < width)
    return tuple(a[inside] for a in (iy, ix, oy, ox, ky, kx)), (out_h, out_w)


def check_padding(padding):
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    return padding


def transposed_pairs(in_shape, window, strides, padding):
    """Every (input position, output position, kernel offset) of a transposed
    convolution (as mlGeNN's Conv2DTranspose): input (iy, ix) reaches output
    (iy*sy - pad_y + ky, ix*sx - pad_x + kx) through kernel offset (ky, kx), where
    that falls inside the output. Output size per axis: size*stride, plus
    max(window - stride, 0) with "valid" padding; "same" padding is the
    convolution's padding for the input size.

    Returns flat arrays (iy, ix, oy, ox, ky, kx) and (out_h, out_w)."""
    height, width, _ = in_shape
    sizes = []
    for size, k, stride in ((height, window[0], strides[0]), (width, window[1], strides[1])):
        if padding == "valid":
            sizes.append((size * stride + max(k - stride, 0), 0))
        else:
            sizes.append((size * stride, output_size(size, k, stride, "same")[1]))
    (out_h, pad_y), (out_w, pad_x) = sizes
    iy, ix, ky, kx = np.meshgrid(np.arange(height), np.arange(width),
                                 np.arange(window[0]), np.arange(window[1]), indexing="ij")
    oy = iy * strides[0] - pad_y + ky
    ox = ix * strides[1] - pad_x + kx
    inside = (oy >= 0) & (oy < out_h) & (ox >= 0) & (ox < out_w)
    return tuple(a[inside] for a in (iy, ix, oy, ox, ky, kx)), (out_h, out_w)


def check_filters(filters, what) -> int:
    if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
        raise ValueError(f"{what}: filters must be a positive int, got {filters!r}")
    return filters
