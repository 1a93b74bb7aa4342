"""Turn a parameter given as a scalar, an array or an Initializer into numbers."""
from __future__ import annotations

import numbers

import numpy as np

from ..initializers import Initializer


def check_value(value, what: str):
    """Reject at construction what can never become a parameter value."""
    if isinstance(value, (numbers.Real, Initializer, np.ndarray, list, tuple)):
        return value
    raise TypeError(f"{what} must be a number, an array or an Initializer, got {value!r}")


def resolve_value(value, shape: tuple, rng, what: str) -> np.ndarray | np.float32:
    """A float32 scalar for scalars, else a float32 array of exactly ``shape``."""
    if isinstance(value, numbers.Real):
        return np.float32(value)
    if isinstance(value, Initializer):
        return value.sample(rng, shape).astype(np.float32)
    array = np.asarray(value, dtype=np.float32)
    if array.shape != tuple(shape):
        size = int(np.prod(shape))
        # A flat array is accepted for a multi-dimensional population (row-major)
        if array.ndim == 1 and array.size == size:
            return array.reshape(shape)
        raise ValueError(f"{what} has shape {array.shape}, expected {tuple(shape)}")
    return array
