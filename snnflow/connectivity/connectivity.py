"""Connectivity: which source neurons reach which targets, with what weight."""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse

from ..utils.value import check_value, resolve_value


class Connectivity:
    """Base of the connectivity descriptions.

    ``synapse_matrix`` expands the description into an (n_pre, n_post) float32
    matrix: a dense ndarray for all-to-all patterns, a scipy CSR array otherwise.
    That expansion is geometry, not simulation, so every engine shares it."""

    def __init__(self, weight=None):
        if weight is not None:
            check_value(weight, f"{type(self).__name__}.weight")
        self.weight = weight

    def target_shape(self, source_shape: tuple, target_shape: tuple | None) -> tuple:
        """The target's shape: given by the user, or implied by this connectivity."""
        if target_shape is None:
            raise ValueError(f"{type(self).__name__} cannot infer the target population's "
                             f"shape; give the population a shape")
        return target_shape

    def validate(self, source_shape: tuple, target_shape: tuple, name: str):
        """Raise ValueError now for a description that cannot be built."""

    def synapse_matrix(self, source_shape, target_shape, rng):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


def check_weight_shape(weight, expected: tuple, name: str, what: str):
    """An array weight must have exactly the expected shape."""
    if isinstance(weight, (np.ndarray, list, tuple)):
        shape = np.shape(weight)
        if shape != tuple(expected):
            raise ValueError(f"{what} of connection {name} has shape {shape}, "
                             f"expected {tuple(expected)}")


def sparse_matrix(pre, post, weight, n_pre, n_post):
    """CSR (n_pre, n_post) float32 from synapse lists; duplicate pairs add up."""
    matrix = scipy.sparse.coo_array((np.asarray(weight, dtype=np.float32), (pre, post)),
                                    shape=(n_pre, n_post)).tocsr()
    matrix.sum_duplicates()
    return matrix


def weights_for(weight, shape, rng, what):
    """Synapse weights as float32: a scalar broadcast, an array, or drawn."""
    return np.broadcast_to(resolve_value(weight, shape, rng, what), shape)


def num(shape: tuple) -> int:
    return math.prod(shape)
