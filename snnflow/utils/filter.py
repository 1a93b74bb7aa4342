"""Filters choosing which examples, neurons and timesteps a recorder keeps.

Every filter selects positions in an array of a known shape with numpy's indexing
rules: an int, a list of ints, a slice (``np.s_``), a tuple of index lists or
``np.index_exp`` for several dimensions, or a boolean mask. A mask shorter than
the dimension selects among the first entries only (``[True] * 10`` keeps the
first ten), as mlGeNN documents.

The errors are ValueError, TypeError and IndexError, as everywhere in snnflow;
the first two are RuntimeErrors too, the type mlGeNN raises for them, so code
written against either library catches them."""
from __future__ import annotations

import numbers

import numpy as np


class FilterError(ValueError, RuntimeError):
    """A filter that does not fit the shape it selects from."""


class FilterTypeError(TypeError, RuntimeError):
    """A filter made of something other than ints, booleans or slices."""


def check_filter(spec, what: str):
    """Reject at construction what can never be a filter (TypeError)."""
    if spec is None or isinstance(spec, slice):
        return spec
    if isinstance(spec, (bool, np.bool_)):
        raise FilterTypeError(f"{what} must be an int, a list, a slice or a mask, got {spec!r}")
    if isinstance(spec, numbers.Integral):
        return spec
    if isinstance(spec, tuple):
        for part in spec:
            check_filter(part, what)
        return spec
    if isinstance(spec, (list, np.ndarray, range)):
        array = np.asarray(spec)
        if array.size and array.dtype != bool and not np.issubdtype(array.dtype, np.integer):
            raise FilterTypeError(f"{what} must hold ints or booleans, got {array.dtype} values "
                            f"{spec!r:.60}")
        return spec
    raise FilterTypeError(f"{what} must be an int, a list, a slice, np.index_exp or a mask, "
                    f"got {spec!r:.60}")


def _pad_mask(mask, shape, what):
    """A boolean mask no larger than ``shape`` in any dimension, padded with False."""
    if mask.ndim == 1 and len(shape) > 1:
        shape = shape[:1]
    if mask.ndim != len(shape) or any(m > s for m, s in zip(mask.shape, shape)):
        raise FilterError(f"{what}: a mask of shape {mask.shape} does not fit shape {shape}")
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


def get_neuron_filter_mask(spec, shape) -> np.ndarray:
    """mlGeNN's neuron mask: the flat (row-major) boolean mask of the neurons of a
    population of ``shape`` that ``spec`` selects. Unlike a recorder's
    neuron_filter, a boolean mask must have exactly the population's shape; for a
    multi-dimensional population, a 2-D int array holds one index list per
    dimension, as a tuple of lists does."""
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    check_filter(spec, "neuron_filter")
    if isinstance(spec, (list, np.ndarray, range)):
        array = np.asarray(spec)
        if array.dtype == bool and array.shape != shape:
            raise FilterError(f"neuron_filter: a mask of shape {array.shape} does not "
                              f"match the population's shape {shape}")
    return neuron_mask(spec, shape, "neuron_filter").reshape(-1)


def neuron_mask(spec, shape: tuple, what: str) -> np.ndarray:
    """The mask of the neurons of a population of ``shape`` that ``spec`` selects.
    As in mlGeNN, an int list or array given for a multi-dimensional population
    holds coordinates, one index list per dimension (``[16, 20]`` is neuron
    (16, 20), ``[[0, 1], [2, 3]]`` neurons (0, 2) and (1, 3)), like a tuple."""
    if isinstance(spec, (list, np.ndarray, range)) and len(shape) > 1:
        array = np.asarray(spec)
        if array.dtype != bool:
            check_filter(spec, what)
            spec = tuple(array)
    return filter_mask(spec, shape, what)


def neuron_indices(spec, shape: tuple, what: str) -> np.ndarray:
    """Sorted flat (row-major) indices of the neurons ``spec`` selects."""
    return np.flatnonzero(neuron_mask(spec, shape, what))


def check_example_filter(spec):
    """An example filter is a filter of one dimension: no slice, no tuple."""
    if isinstance(spec, (slice, tuple)):
        raise FilterTypeError(f"example_filter must be an int, a list of ints or a list "
                              f"of booleans, got {spec!r:.60}")
    return check_filter(spec, "example_filter")


class ExampleFilter:
    """mlGeNN's example filter: which examples of each batch to record. ``spec``
    is None (all), an int, a list of ints or a boolean mask (shorter than the
    data: the examples after it are not recorded). Without the number of
    examples, negative indices mean nothing and are refused."""

    def __init__(self, spec):
        check_example_filter(spec)
        #: the examples selected, from the first (None: all)
        self.mask = None
        if spec is not None:
            array = np.atleast_1d(np.asarray(spec))
            if array.dtype != bool:
                if array.size and array.min() < 0:
                    raise IndexError(f"example_filter {spec!r:.60} has negative indices, "
                                     f"which need a known number of examples")
                array = filter_mask(array, (int(array.max(initial=-1)) + 1,),
                                    "example_filter")
            self.mask = array

    def get_batch_mask(self, batch: int, batch_size: int) -> np.ndarray:
        """Boolean (batch_size,): which examples of batch number ``batch`` to record."""
        if self.mask is None:
            return np.ones(batch_size, dtype=bool)
        mask = np.zeros(batch_size, dtype=bool)
        part = self.mask[batch * batch_size:(batch + 1) * batch_size]
        mask[:len(part)] = part
        return mask
