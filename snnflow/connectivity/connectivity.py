"""Connectivity: which source neurons reach which targets, with what weight and delay."""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from ..initializers import Initializer
from ..utils.value import ValueDescriptor, resolve_value


@dataclass
class Synapses:
    """A connection's synapses, shared by every engine.

    ``matrix``: (n_pre, n_post) float32 weights, a dense ndarray for all-to-all
    patterns, else a CSR array with sorted indices and one entry per synapse.
    ``delays``: whole timesteps, an int when every synapse has the same delay,
    else an int64 array laid out as the weights (the dense matrix's shape, or
    aligned with the CSR array's ``data``)."""

    matrix: np.ndarray | scipy.sparse.csr_array
    delays: int | np.ndarray = 0

    @property
    def max_delay(self) -> int:
        return int(np.max(self.delays, initial=0))

    def dense_delays(self) -> np.ndarray:
        """float32 (n_pre, n_post) delays, 0 where two neurons are not connected."""
        if isinstance(self.matrix, np.ndarray):
            return np.broadcast_to(np.asarray(self.delays, dtype=np.float32),
                                   self.matrix.shape).copy()
        pattern = self.matrix.copy()
        pattern.data = np.broadcast_to(np.asarray(self.delays, dtype=np.float32),
                                       pattern.data.shape).copy()
        return pattern.toarray()


class Connectivity:
    """Base of the connectivity descriptions.

    ``synapses`` expands the description into a weight matrix and delays
    (``Synapses``). That expansion is geometry, not simulation, so every engine
    shares it. ``weight`` and ``delay`` are values (a number, an array laid out as
    the connectivity says, or an Initializer); ``delay`` counts timesteps."""

    weight = ValueDescriptor("g")
    delay = ValueDescriptor("d")

    def __init__(self, weight=None, delay=0):
        self.weight = weight
        self.delay = delay

    def target_shape(self, source_shape: tuple, target_shape: tuple | None) -> tuple:
        """The target's shape: given by the user, or implied by this connectivity."""
        if target_shape is None:
            raise ValueError(f"{type(self).__name__} cannot infer the target population's "
                             f"shape; give the population a shape")
        return target_shape

    def validate(self, source_shape: tuple, target_shape: tuple, name: str):
        """Raise ValueError now for a description that cannot be built."""

    @property
    def has_delays(self) -> bool:
        """Whether any synapse may have a delay (a drawn delay counts as one)."""
        if isinstance(self.delay, Initializer):
            return True
        return bool(np.any(np.asarray(self.delay) != 0))

    def validate_delay(self, max_delay_steps: int | None, name: str):
        """Refuse now a delay that is negative, not a whole number where it must be,
        beyond ``max_delay_steps``, or drawn without a ``max_delay_steps`` to bound it."""
        what = f"{type(self).__name__} delay of connection {name}"
        if isinstance(self.delay, Initializer):
            if max_delay_steps is None:
                raise ValueError(f"{what} is drawn from {self.delay!r}, so its largest value "
                                 f"is unknown until the network is built: give the "
                                 f"Connection a max_delay_steps")
            return
        values = np.asarray(self.delay, dtype=np.float64)
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError(f"{what} must be >= 0 timesteps, got {np.min(values):g}")
        if isinstance(self.delay, numbers.Real) and values != np.rint(values):
            raise ValueError(f"{what} must be a whole number of timesteps, got {self.delay!r}")
        largest = int(np.rint(values).max(initial=0))
        if max_delay_steps is not None and largest > max_delay_steps:
            raise ValueError(f"{what} reaches {largest} timesteps, beyond the connection's "
                             f"max_delay_steps={max_delay_steps}")

    def synapses(self, source_shape, target_shape, rng, self_connection=False) -> Synapses:
        """Weights and delays, drawn from ``rng`` in that order where they are
        Initializers. ``self_connection``: the source population is the target."""
        raise NotImplementedError

    def synapse_matrix(self, source_shape, target_shape, rng, self_connection=False):
        """The (n_pre, n_post) float32 weight matrix of ``synapses``."""
        return self.synapses(source_shape, target_shape, rng, self_connection).matrix

    def _check_layout(self, expected: tuple, name: str, weight=True):
        """Array values must be laid out as ``expected`` (the weight's layout)."""
        values = {"weight": self.weight, "delay": self.delay} if weight else \
            {"delay": self.delay}
        for what, value in values.items():
            check_weight_shape(value, expected, name, f"{type(self).__name__} {what}")

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


def connection_synapses(conn, rng) -> Synapses:
    """The synapses of Connection ``conn``, its drawn delays checked against its
    ``max_delay_steps``."""
    connectivity = conn.connectivity
    # Again: the values may have been set since the connection was made
    connectivity.validate_delay(conn.max_delay_steps, conn.name)
    synapses = connectivity.synapses(conn.source.shape, conn.target.shape, rng,
                                     self_connection=conn.source is conn.target)
    if isinstance(connectivity.delay, Initializer):
        what = f"{type(connectivity).__name__} delay of connection {conn.name}"
        if np.min(synapses.delays, initial=0) < 0:
            raise ValueError(f"{what}: {connectivity.delay!r} drew "
                             f"{np.min(synapses.delays)} timesteps; delays must be >= 0")
        if synapses.max_delay > conn.max_delay_steps:
            raise ValueError(f"{what}: {connectivity.delay!r} drew {synapses.max_delay} "
                             f"timesteps, beyond the connection's "
                             f"max_delay_steps={conn.max_delay_steps}")
    return synapses


def check_weight_shape(weight, expected: tuple, name: str, what: str):
    """An array weight must have exactly the expected shape."""
    if isinstance(weight, (np.ndarray, list, tuple, range)):
        shape = np.shape(weight)
        if shape != tuple(expected):
            raise ValueError(f"{what} of connection {name} has shape {shape}, "
                             f"expected {tuple(expected)}")


def refuse_non_constant_delay(delay, what: str):
    """For connectivity whose synapses cannot carry a delay each (as mlGeNN's)."""
    if not isinstance(delay, numbers.Real):
        raise TypeError(f"{what}: delay must be a number (one delay for every synapse), "
                        f"got {delay!r}")


def sparse_synapses(pre, post, weight, delay, n_pre, n_post) -> Synapses:
    """CSR synapses from unique (pre, post) pairs; ``weight`` and ``delay`` are
    scalars or one value per pair (delays already whole timesteps)."""
    pre = np.asarray(pre, dtype=np.int64)
    # SciPy sorts the pairs into CSR order (faster than a sort here); the data
    # carried along, each pair's position, then orders weights and delays alike
    positions = scipy.sparse.coo_array(
        (np.arange(len(pre), dtype=np.float64), (pre, np.asarray(post, dtype=np.int64))),
        shape=(n_pre, n_post)).tocsr()
    assert positions.nnz == len(pre) and positions.has_sorted_indices  # unique pairs
    order = positions.data.astype(np.int64)
    weight = np.broadcast_to(np.asarray(weight, dtype=np.float32), pre.shape)[order]
    matrix = scipy.sparse.csr_array((weight, positions.indices, positions.indptr),
                                    shape=(n_pre, n_post))
    matrix.has_sorted_indices = True
    if np.ndim(delay) != 0:
        delay = np.asarray(delay)[order]
    return Synapses(matrix, uniform_delays(delay))


def weights_for(weight, shape, rng, what):
    """Synapse weights as float32: a scalar broadcast, an array, or drawn."""
    return np.broadcast_to(resolve_value(weight, shape, rng, what), shape)


def delays_for(delay, shape, rng, what):
    """Delays in whole timesteps (int64), a scalar or an array of ``shape``, as
    mlGeNN and GeNN make them: a number is whole already (``validate_delay``); an
    array is rounded to the nearest step (halves to even), as mlGeNN rounds array
    delays; an Initializer's draws are truncated towards zero, as GeNN stores them
    in its integer delay variable (``connection_synapses`` checks their range)."""
    if isinstance(delay, numbers.Real):
        return int(delay)
    values = resolve_value(delay, shape, rng, what, dtype=np.float64)
    if isinstance(delay, Initializer):
        return np.trunc(values).astype(np.int64)
    return np.rint(values).astype(np.int64)


def uniform_delays(delays):
    """An int where every delay is the same (the engines' fast paths), else the array."""
    if np.ndim(delays) == 0:
        return int(delays)
    if delays.size == 0 or np.all(delays == delays.flat[0]):
        return int(delays.flat[0]) if delays.size else 0
    return delays


def num(shape: tuple) -> int:
    return math.prod(shape)


def kernel_synapses(connectivity, pre, post, kernel_index, kernel_shape, n_pre, n_post, rng,
                    divisor=None) -> Synapses:
    """Synapses that share the entries of a kernel: synapse s has the weight and
    delay of flat kernel entry ``kernel_index[s]``. Initializers draw one value per
    kernel entry. ``divisor``: the weight is kernel / divisor, divided in float64
    before the rounding to float32 (as mlGeNN scales its kernels)."""
    name = type(connectivity).__name__
    if divisor is None:
        kernel = weights_for(connectivity.weight, kernel_shape, rng, f"{name} weight")
    else:
        kernel = np.broadcast_to(resolve_value(connectivity.weight, kernel_shape, rng,
                                               f"{name} weight", dtype=np.float64),
                                 kernel_shape) / divisor
    weight = np.asarray(kernel, dtype=np.float32).ravel()[kernel_index]
    delay = delays_for(connectivity.delay, kernel_shape, rng, f"{name} delay")
    if np.ndim(delay) != 0:
        delay = delay.ravel()[kernel_index]
    return sparse_synapses(pre, post, weight, delay, n_pre, n_post)
