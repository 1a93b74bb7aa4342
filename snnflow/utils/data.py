"""Data helpers with mlGeNN's names: data-set dictionaries, spike preprocessing,
latency encodings and the Yin-Yang data set.

A data set is a dictionary ``{population or name: array or list}`` whose values
all hold one entry per example along their first axis. Spikes of one example are
a :data:`PreprocessedSpikes`: neuron ``i`` fires at
``spike_times[end_spikes[i - 1]:end_spikes[i]]``, neuron 0 starting at index 0.
"""
from __future__ import annotations

import math
import numbers
from collections import namedtuple
from collections.abc import Mapping

import numpy as np

PreprocessedSpikes = namedtuple("PreprocessedSpikes", ["end_spikes", "spike_times"])
PreprocessedSpikes.__doc__ = """One example's spikes, sorted by neuron id then time.

``end_spikes`` (int64, one per neuron) counts the spikes of all neurons up to and
including each neuron; ``spike_times`` (float32, ms) lists them in that order."""

# Changing this changes every generated Yin-Yang example: it fixes which random
# stream each global index draws from.
_YIN_YANG_BLOCK_SIZE = 4096


def _check_int(value, name: str, minimum: int) -> int:
    """An int (Python or NumPy, not bool) no smaller than ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def _check_real(value, name: str) -> float:
    """A finite real number (not bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def _check_mapping(data, name: str = "data") -> Mapping:
    if not isinstance(data, Mapping):
        raise TypeError(f"{name} must be a dict of {{population: examples}}, "
                        f"got {type(data).__name__}")
    return data


def _check_examples(data, function: str) -> np.ndarray:
    """Static numeric data with one row per example and no NaN or infinity.

    The dtype is kept (uint8 images stay small); rows are widened one at a time."""
    array = np.asarray(data)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{function}: data must be an integer or float array, got "
                        f"dtype {array.dtype}")
    if array.ndim < 2:
        raise ValueError(f"{function}: data must have shape (num_examples, "
                         f"features...), got shape {array.shape}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{function}: data must be finite, got "
                         f"{array[~np.isfinite(array)][0]!r} in it")
    return array


def get_dataset_size(data: Mapping) -> int | None:
    """The number of examples every value of ``data`` holds (its ``len``).

    Returns None for an empty dictionary. Unlike mlGeNN, which returns None when
    the lengths differ, differing lengths raise ValueError naming each key's length,
    so the mistake is reported where it is made."""
    _check_mapping(data)
    sizes = {}
    for key, value in data.items():
        try:
            sizes[key] = len(value)
        except TypeError:
            raise TypeError(f"data[{key!r}] must be an array or a list of examples, "
                            f"got {type(value).__name__}") from None
    if not sizes:
        return None
    if len(set(sizes.values())) > 1:
        lengths = ", ".join(f"{key!r}: {size}" for key, size in sizes.items())
        raise ValueError(f"every value of data must hold the same number of "
                         f"examples, got lengths {{{lengths}}}")
    return next(iter(sizes.values()))


def split_dataset(data: Mapping, split: float) -> tuple[dict, dict]:
    """Split ``data`` into its first ``1 - split`` and its last ``split`` fraction.

    The split point is ``int(round((1 - split) * size))``, as in mlGeNN (Python's
    round, so halves go to the even neighbour). Values are sliced, not copied."""
    split = _check_real(split, "split")
    if not 0.0 <= split <= 1.0:
        raise ValueError(f"split must lie in [0, 1], got {split!r}")
    size = get_dataset_size(data)
    if size is None:
        return {}, {}
    split_point = int(round((1.0 - split) * size))
    return ({key: value[:split_point] for key, value in data.items()},
            {key: value[split_point:] for key, value in data.items()})


def batch_dataset(data: Mapping, batch_size: int, size: int) -> list[dict]:
    """Cut the first ``size`` examples of ``data`` into batches of ``batch_size``.

    Returns a list with one ``{key: slice}`` dictionary per batch; the last batch
    holds the remainder. mlGeNN lets the last batch run past ``size`` when a value
    is longer; here it stops at ``size``, and a value shorter than ``size`` raises
    ValueError rather than yielding short or empty batches."""
    _check_mapping(data)
    batch_size = _check_int(batch_size, "batch_size", 1)
    size = _check_int(size, "size", 0)
    for key, value in data.items():
        if len(value) < size:
            raise ValueError(f"size is {size} but data[{key!r}] holds only "
                             f"{len(value)} examples")
    return [{key: value[start:min(start + batch_size, size)]
             for key, value in data.items()}
            for start in range(0, size, batch_size)]


def preprocess_spikes(times, ids, num_neurons: int) -> PreprocessedSpikes:
    """Gather one example's spikes, given as parallel ``times`` (ms) and neuron
    ``ids``, into a :data:`PreprocessedSpikes` for ``num_neurons`` neurons.

    Spikes are ordered by neuron id and, within a neuron, by time; equal times
    keep their given order."""
    num_neurons = _check_int(num_neurons, "num_neurons", 1)
    times = np.asarray(times)
    ids = np.asarray(ids)
    if times.ndim != 1 or ids.ndim != 1:
        raise ValueError(f"times and ids must be 1-D arrays, got shapes "
                         f"{times.shape} and {ids.shape}")
    if len(times) != len(ids):
        raise ValueError(f"times and ids must have the same length, got "
                         f"{len(times)} times and {len(ids)} ids")
    # An empty list arrives as float64; it names no neuron, so its dtype is moot
    if len(ids) and not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"ids must be integers, got dtype {ids.dtype}")
    if len(times) and not (np.issubdtype(times.dtype, np.integer)
                           or np.issubdtype(times.dtype, np.floating)):
        raise TypeError(f"times must be numbers, got dtype {times.dtype}")

    # Compared in the given dtype so that huge unsigned ids cannot wrap around
    out_of_range = (ids < 0) | (ids >= num_neurons)
    if np.any(out_of_range):
        raise ValueError(f"ids must lie in [0, num_neurons) with num_neurons="
                         f"{num_neurons}, got id {ids[out_of_range][0]}")
    ids = ids.astype(np.int64)
    times = times.astype(np.float64)
    if not np.all(np.isfinite(times)):
        raise ValueError(f"times must be finite, got {times[~np.isfinite(times)][0]}")
    if np.any(times < 0.0):
        raise ValueError(f"times must be >= 0 ms, got {times[times < 0.0][0]}")

    # lexsort is stable and sorts by its last key first
    order = np.lexsort((times, ids))
    end_spikes = np.cumsum(np.bincount(ids, minlength=num_neurons), dtype=np.int64)
    return PreprocessedSpikes(end_spikes, times[order].astype(np.float32))


def _encode_single_spikes(data: np.ndarray, fire_time) -> list[PreprocessedSpikes]:
    """One PreprocessedSpikes per example, ``fire_time`` mapping a row of float64
    feature values to a spike time per feature (NaN: no spike).

    Each firing feature spikes once, so flattened feature order is already the
    sorted neuron order."""
    spikes = []
    for example in data:
        times = fire_time(example.reshape(-1).astype(np.float64))
        fires = ~np.isnan(times)
        spikes.append(PreprocessedSpikes(np.cumsum(fires, dtype=np.int64),
                                         times[fires].astype(np.float32)))
    return spikes


def linear_latency_encode_data(data, max_time: float, min_time: float = 0.0,
                               thresh: float = 1) -> list[PreprocessedSpikes]:
    """Latency-encode 8-bit static data (values in [0, 255], e.g. uint8 images).

    As in mlGeNN, every feature whose value ``v`` exceeds ``thresh`` (strictly)
    fires one spike at ``min_time + (255 - v) / 255 * (max_time - min_time)`` ms:
    255 fires at ``min_time``, brighter fires earlier. Neuron ids are the flattened
    (row-major) feature indices of one example. Returns one
    :data:`PreprocessedSpikes` per example (first axis of ``data``)."""
    data = _check_examples(data, "linear_latency_encode_data")
    max_time = _check_real(max_time, "max_time")
    min_time = _check_real(min_time, "min_time")
    thresh = _check_real(thresh, "thresh")
    if min_time < 0.0:
        raise ValueError(f"min_time must be >= 0 ms, got {min_time!r}")
    if max_time < min_time:
        raise ValueError(f"max_time must be >= min_time={min_time!r}, got {max_time!r}")
    # The formula is only a latency code for 8-bit values: beyond 255 the spike
    # would come before min_time, possibly at a negative time
    if data.min(initial=0.0) < 0.0 or data.max(initial=0.0) > 255.0:
        raise ValueError(f"data must hold 8-bit values in [0, 255], got values in "
                         f"[{data.min()}, {data.max()}]")

    def fire_time(v):
        return np.where(v > thresh,
                        min_time + (255.0 - v) / 255.0 * (max_time - min_time), np.nan)

    return _encode_single_spikes(data, fire_time)


def log_latency_encode_data(data, tau_eff: float,
                            thresh: float) -> list[PreprocessedSpikes]:
    """Log-latency-encode static data, as in mlGeNN.

    A feature with value ``v > thresh`` fires one spike at
    ``tau_eff * log(v / (v - thresh))`` ms (the time a leaky integrator with time
    constant ``tau_eff``, driven by ``v``, takes to reach ``thresh``); other features
    stay silent. Neuron ids are the flattened (row-major) feature indices. Returns
    one :data:`PreprocessedSpikes` per example (first axis of ``data``)."""
    data = _check_examples(data, "log_latency_encode_data")
    tau_eff = _check_real(tau_eff, "tau_eff")
    thresh = _check_real(thresh, "thresh")
    if tau_eff <= 0.0:
        raise ValueError(f"tau_eff must be > 0 ms, got {tau_eff!r}")
    # With thresh <= 0 the logarithm is zero or negative: no causal spike time
    if thresh <= 0.0:
        raise ValueError(f"thresh must be > 0, got {thresh!r}")

    def fire_time(v):
        times = np.full(v.shape, np.nan)
        fires = v > thresh
        times[fires] = tau_eff * np.log(v[fires] / (v[fires] - thresh))
        return times

    return _encode_single_spikes(data, fire_time)


def _yin_yang_labels(x: np.ndarray, y: np.ndarray, r_small: float,
                     r_big: float) -> np.ndarray:
    """The reference generator's class of each point (float64 arithmetic, its
    boundary conventions included)."""
    d_right = np.sqrt((x - 1.5 * r_big) ** 2 + (y - r_big) ** 2)
    d_left = np.sqrt((x - 0.5 * r_big) ** 2 + (y - r_big) ** 2)
    class_one = ((d_right <= r_small)
                 | ((d_left > r_small) & (d_left <= 0.5 * r_big))
                 | ((y > r_big) & (d_right > 0.5 * r_big)))
    labels = class_one.astype(np.int64)
    labels[(d_right < r_small) | (d_left < r_small)] = 2
    return labels


def _yin_yang_block(seed: int, block: int, r_small: float,
                    r_big: float) -> tuple[np.ndarray, np.ndarray]:
    """Examples [block * B, (block + 1) * B) of the data set for ``seed``.

    Like the reference generator, each example first draws its class uniformly at
    random and then takes a point uniform over that class's region (rejection
    sampling). The candidates are drawn in bulk and handed out in draw order, which
    leaves each class's points i.i.d. uniform over its region."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, block]))
    goals = rng.integers(0, 3, size=_YIN_YANG_BLOCK_SIZE)
    needed = np.bincount(goals, minlength=3)
    accepted = [[], [], []]
    found = np.zeros(3, dtype=np.int64)
    while np.any(found < needed):
        # Rounded before classifying so that each label agrees with the float32
        # coordinates the caller gets back
        points = (rng.random((4 * _YIN_YANG_BLOCK_SIZE, 2)) * (2.0 * r_big))
        points = points.astype(np.float32).astype(np.float64)
        px, py = points[:, 0], points[:, 1]
        points = points[np.sqrt((px - r_big) ** 2 + (py - r_big) ** 2) <= r_big]
        labels = _yin_yang_labels(points[:, 0], points[:, 1], r_small, r_big)
        for label in range(3):
            accepted[label].append(points[labels == label])
            found[label] += np.count_nonzero(labels == label)

    xy = np.empty((_YIN_YANG_BLOCK_SIZE, 2))
    for label in range(3):
        xy[goals == label] = np.concatenate(accepted[label])[:needed[label]]
    features = np.concatenate((xy, 1.0 - xy), axis=1).astype(np.float32)
    return features, goals.astype(np.int64)


def yin_yang_dataset(size: int, seed: int = 0, start: int = 0, r_small: float = 0.1,
                     r_big: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Examples ``[start, start + size)`` of the Yin-Yang data set (Kriener,
    Göltz and Petrovici 2021, arXiv:2102.08211) for ``seed``.

    Points are uniform within the disc of radius ``r_big`` centred on
    ``(r_big, r_big)``; the classes are balanced in expectation by drawing each
    example's class uniformly at random and rejection-sampling a point of it, as
    the reference generator does. Labels are numbered as there: 2 for the two
    dots of radius ``r_small``, 1 for the upper half-disc less the right inner
    disc plus the left inner disc (inner discs have radius ``r_big / 2``), 0 for the
    rest. Returns ``(x, labels)``: x float32 of shape (size, 4) holding
    ``(x, y, 1 - x, 1 - y)``, labels int64 of shape (size,).

    The example at each global index depends only on ``seed``, the radii and that
    index: it comes from a block of 4096 examples seeded by
    ``SeedSequence([seed, block])``, so any chunking of a large set reproduces it
    exactly. The random stream is not the reference generator's."""
    size = _check_int(size, "size", 0)
    seed = _check_int(seed, "seed", 0)
    start = _check_int(start, "start", 0)
    r_big = _check_real(r_big, "r_big")
    r_small = _check_real(r_small, "r_small")
    if r_big <= 0.0:
        raise ValueError(f"r_big must be > 0, got {r_big!r}")
    # Outside this range a class can have no area and rejection sampling never ends
    if not 0.0 < r_small < 0.5 * r_big:
        raise ValueError(f"r_small must lie in (0, r_big / 2) = (0, {0.5 * r_big!r}), "
                         f"got {r_small!r}")
    if size == 0:
        return np.empty((0, 4), dtype=np.float32), np.empty(0, dtype=np.int64)

    first_block = start // _YIN_YANG_BLOCK_SIZE
    last_block = (start + size - 1) // _YIN_YANG_BLOCK_SIZE
    blocks = [_yin_yang_block(seed, block, r_small, r_big)
              for block in range(first_block, last_block + 1)]
    offset = start - first_block * _YIN_YANG_BLOCK_SIZE
    x = np.concatenate([features for features, _ in blocks])[offset:offset + size]
    labels = np.concatenate([labels for _, labels in blocks])[offset:offset + size]
    return x, labels
