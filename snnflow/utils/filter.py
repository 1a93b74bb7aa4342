"""Filters choosing which examples, neurons and timesteps a recorder keeps.

Every filter selects positions in an array of a known shape with numpy's indexing
rules: an int, a list of ints, a slice (``np.s_``), a tuple of index lists or
``np.index_exp`` for several dimensions, or a boolean mask. A mask shorter than
the dimension selects among the first entries only (``[True] * 10`` keeps the
first ten), as mlGeNN documents."""
from __future__ import annotations

import numbers

import numpy as np


def check_filter(spec, what: str):
    """Reject at construction what can never be a filter (TypeError)."""
    if spec is None or isinstance(spec, slice):
        return spec
    if isinstance(spec, (bool, np.bool_)):
        raise TypeError(f"{what} must be an int, a list, a slice or a mask, got {spec!r}")
    if isinstance(spec, numbers.Integral):
        return spec
    if isinstance(spec, tuple):
        for part in spec:
            check_filter(part, what)
        return spec
    if isinstance(spec, (list, np.ndarray, range)):
        array = np.asarray(spec)
        if array.size and array.dtype != bool and not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"{what} must hold ints or booleans, got {array.dtype} values "
                            f"{spec!r:.60}")
        return spec
    raise TypeError(f"{what} must be an int, a list, a slice, np.index_exp or a mask, "
                    f"got {spec!r:.60}")


def _pad_mask(mask, shape, what):
    """A boolean mask no larger than ``shape`` in any dimension, padded with False."""
    if mask.ndim == 1 and len(shape) > 1:
        shape = shape[:1]
    if mask.ndim != len(shape) or any(m > s for m, s in zip(mask.shape, shape)):
        raise ValueError(f"{what}: a mask of shape {mask.shape} does not fit shape {shape}")
    padded = np.zeros(shape, dtype=bool)
    padded[tuple(slice(0, m) for m in mask.shape)] = mask
    return padded


def filter_mask(spec, shape: tuple, what: str) -> np.ndarray:
    """The boolean mask of ``shape`` that ``spec`` selects (all True for None)."""
    check_filter(spec, what)
    shape = tuple(shape)
    if spec is None:
        return np.ones(shape, dtype=bool)
    index = spec
    if isinstance(spec, (list, np.ndarray, range)):
        array = np.asarray(spec)
        if array.dtype == bool:
            padded = _pad_mask(array, shape, what)
            return padded if padded.shape == shape else \
                np.broadcast_to(padded.reshape(padded.shape + (1,) * (len(shape) - 1)),
                                shape).copy()
        index = array.astype(np.int64)
    mask = np.zeros(shape, dtype=bool)
    try:
        mask[index] = True
    except IndexError as error:
        raise IndexError(f"{what} {spec!r:.60} is out of range for shape {shape}: "
                         f"{error}") from None
    return mask


def filter_indices(spec, shape: tuple, what: str) -> np.ndarray:
    """Sorted flat (row-major) indices that ``spec`` selects."""
    return np.flatnonzero(filter_mask(spec, shape, what))
