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


def resolve_value(value, shape: tuple, rng, what: str, dtype=np.float32):
    """A ``dtype`` scalar for scalars, else a ``dtype`` array of exactly ``shape``."""
    if isinstance(value, numbers.Real):
        return dtype(value)
    if isinstance(value, Initializer):
        return value.sample(rng, shape).astype(dtype)
    array = np.asarray(value, dtype=dtype)
    if array.shape != tuple(shape):
        size = int(np.prod(shape))
        # A flat array is accepted for a multi-dimensional population (row-major)
        if array.ndim == 1 and array.size == size:
            return array.reshape(shape)
        raise ValueError(f"{what} has shape {array.shape}, expected {tuple(shape)}")
    return array
