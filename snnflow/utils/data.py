"""Data helpers with mlGeNN's names: data-set dictionaries, spike preprocessing
(from neuron ids and times, or from Tonic event arrays), batching of spikes,
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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

DataDictType = Mapping[Any, Sequence | np.ndarray]

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


def _check_number(value, name: str) -> float:
    """A real number (not bool), possibly infinite or NaN."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return float(value)


def _check_real(value, name: str) -> float:
    """A finite real number (not bool)."""
    value = _check_number(value, name)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


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


def _example_counts(data) -> dict:
    """``{key: len(value)}`` for each value of the data set ``data``."""
    _check_mapping(data)
    counts = {}
    for key, value in data.items():
        try:
            counts[key] = len(value)
        except TypeError:
            raise TypeError(f"data[{key!r}] must be an array or a list of examples, "
                            f"got {type(value).__name__}") from None
    return counts


def _require_dataset_size(data, function: str) -> int | None:
    """The data set's size, None if it has no values; differing lengths raise."""
    counts = _example_counts(data)
    if len(set(counts.values())) > 1:
        lengths = ", ".join(f"{key!r}: {count}" for key, count in counts.items())
        raise ValueError(f"{function}: every value of data must hold the same "
                         f"number of examples, got lengths {{{lengths}}}")
    return next(iter(counts.values()), None)


def get_dataset_size(data: DataDictType) -> int | None:
    """The number of examples every value of ``data`` holds (its ``len``).

    As in mlGeNN, returns None when the values hold different numbers of
    examples; also None for an empty dictionary."""
    counts = set(_example_counts(data).values())
    return counts.pop() if len(counts) == 1 else None


def split_dataset(data: DataDictType,
                  split: float) -> tuple[DataDictType, DataDictType]:
    """Split ``data`` into its first ``1 - split`` and its last ``split`` fraction.

    The split point is ``int(round((1 - split) * size))``, as in mlGeNN (Python's
    round, so halves go to the even neighbour): a split of 0 leaves every example
    in the first part, 1 every example in the second. A split outside [0, 1]
    raises RuntimeError, mlGeNN's exception for it. Values are sliced, not
    copied."""
    split = _check_number(split, "split")
    if not 0.0 <= split <= 1.0:
        raise RuntimeError(f"split must lie in [0, 1], got {split!r}")
    size = _require_dataset_size(data, "split_dataset")
    if size is None:
        return {}, {}
    split_point = int(round((1.0 - split) * size))
    return ({key: value[:split_point] for key, value in data.items()},
            {key: value[split_point:] for key, value in data.items()})


def batch_dataset(data: DataDictType, batch_size: int, size: int) -> list[dict]:
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


def permute_dataset(data: DataDictType,
                    indices: Sequence[int] | np.ndarray) -> DataDictType:
    """Reorder the examples of every value of ``data``: example ``i`` of the result
    is example ``indices[i]`` of ``data``.

    ``indices`` must be a permutation of ``range(size)`` (e.g. from
    ``np.random.permutation(size)``). As in mlGeNN, NumPy array values are
    indexed into new arrays and any other value becomes a list."""
    size = _require_dataset_size(data, "permute_dataset")
    indices = np.asarray(indices)
    if indices.ndim != 1:
        raise ValueError(f"indices must be 1-D, got shape {indices.shape}")
    if len(indices) and not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"indices must be integers, got dtype {indices.dtype}")
    size = size or 0
    if len(indices) != size:
        raise ValueError(f"indices must hold one index per example ({size}), got "
                         f"{len(indices)}")
    # Compared in the given dtype so that huge unsigned indices cannot wrap around
    out_of_range = (indices < 0) | (indices >= size)
    if np.any(out_of_range):
        raise ValueError(f"indices must lie in [0, {size}), got index "
                         f"{indices[out_of_range][0]}")
    # A repeated (hence a missing) example would silently change the data set
    counts = np.bincount(indices.astype(np.int64), minlength=size)
    if np.any(counts > 1):
        repeated = int(np.argmax(counts > 1))
        raise ValueError(f"indices must be a permutation of range({size}), got index "
                         f"{repeated} {counts[repeated]} times")
    return {key: value[indices] if isinstance(value, np.ndarray)
            else [value[i] for i in indices.tolist()]
            for key, value in data.items()}


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


def _check_sensor_shape(shape) -> tuple[int, int, int]:
    """Tonic's sensor size: (width, height, polarities)."""
    try:
        width, height, polarities = shape
    except (TypeError, ValueError):
        raise ValueError(f"shape must be a sensor size (width, height, polarities), "
                         f"got {shape!r}") from None
    return (_check_int(width, "shape[0] (width)", 1),
            _check_int(height, "shape[1] (height)", 1),
            _check_int(polarities, "shape[2] (polarities)", 1))


def _tonic_field(events: np.ndarray, field: str, size: int | None) -> np.ndarray:
    """``events[field]`` as int64 (float64 for time), each value checked to lie in
    [0, size) when ``size`` is given."""
    values = events[field]
    kinds = "iuf" if size is None else "iub"
    if len(values) and values.dtype.kind not in kinds:
        raise TypeError(f"events[{field!r}] must be "
                        f"{'numbers' if size is None else 'integers'}, got dtype "
                        f"{values.dtype}")
    if size is None:
        return values.astype(np.float64)
    # Compared in the given dtype so that huge unsigned values cannot wrap around
    out_of_range = (values < 0) | (values >= size)
    if np.any(out_of_range):
        raise ValueError(f"events[{field!r}] must lie in [0, {size}) for this shape, "
                         f"got {values[out_of_range][0]}")
    return values.astype(np.int64)


def _check_tonic_events(events, ordering) -> np.ndarray:
    """A 1-D structured array holding the fields ``ordering`` names, time and
    polarity among them."""
    if "t" not in ordering or "p" not in ordering:
        raise ValueError(f"ordering must name a time field 't' and a polarity field "
                         f"'p', got {ordering!r}")
    if "x" not in ordering:
        raise ValueError(f"ordering must name an 'x' field (a 1-D sensor) or 'x' "
                         f"and 'y' (a 2-D sensor), got {ordering!r}")
    if not isinstance(events, np.ndarray) or events.dtype.names is None:
        raise TypeError(f"events must be a NumPy structured array (Tonic's format), "
                        f"got {type(events).__name__}")
    if events.ndim != 1:
        raise ValueError(f"events must be 1-D, got shape {events.shape}")
    missing = [field for field in "txyp"
               if field in ordering and field not in events.dtype.names]
    if missing:
        raise ValueError(f"events must have the fields ordering {ordering!r} names, "
                         f"missing {missing} (it has {list(events.dtype.names)})")
    return events


def _check_histogram(dt, histogram_thresh) -> tuple[float | None, int | None]:
    if dt is not None:
        dt = _check_real(dt, "dt")
        if dt <= 0.0:
            raise ValueError(f"dt must be > 0 ms, got {dt!r}")
    if histogram_thresh is not None:
        histogram_thresh = _check_int(histogram_thresh, "histogram_thresh", 1)
        if dt is None:
            raise ValueError(f"dt must be given with histogram_thresh="
                             f"{histogram_thresh} (the width of its time bins)")
    return dt, histogram_thresh


def preprocess_tonic_spikes(events: np.ndarray, ordering: Sequence[str],
                            shape: tuple, time_scale: float = 1.0 / 1000.0,
                            dt: float | None = None,
                            histogram_thresh: int | None = None) -> PreprocessedSpikes:
    """One example's Tonic events (a structured array with fields such as ``t``,
    ``x``, ``y``, ``p``) as a :data:`PreprocessedSpikes`, as in mlGeNN.

    ``ordering`` names the fields (Tonic's ``dataset.ordering``, e.g. ``"xytp"``)
    and must include ``t``, ``p`` and ``x``; ``shape`` is the sensor size
    ``(width, height, polarities)``. Neuron ``(y * width + x) * polarities + p``
    (row-major over y, x, p) receives each event; without a ``y`` field y is 0,
    and with one polarity ``p`` is ignored. There are ``prod(shape)`` neurons.
    Event times are multiplied by ``time_scale`` (default: Tonic's microseconds to
    ms).

    With ``histogram_thresh``, events are counted per neuron in time bins
    ``[k * dt, (k + 1) * dt)`` and each bin holding at least ``histogram_thresh``
    events becomes one spike at ``k * dt``; otherwise every event is a spike and
    ``dt`` is unused. (mlGeNN's NumPy histogram closes its last bin, so there
    events at exactly the latest time, when that is a multiple of dt, count one
    bin earlier.)"""
    events = _check_tonic_events(events, ordering)
    width, height, polarities = _check_sensor_shape(shape)
    time_scale = _check_real(time_scale, "time_scale")
    if time_scale <= 0.0:
        raise ValueError(f"time_scale must be > 0, got {time_scale!r}")
    dt, histogram_thresh = _check_histogram(dt, histogram_thresh)

    ids = _tonic_field(events, "x", width)
    if "y" in ordering:
        ids += _tonic_field(events, "y", height) * width
    if polarities > 1:
        ids = ids * polarities + _tonic_field(events, "p", polarities)
    times = _tonic_field(events, "t", None) * time_scale
    invalid = ~(np.isfinite(times) & (times >= 0.0))
    if np.any(invalid):
        raise ValueError(f"events['t'] * time_scale must be finite and >= 0 ms, "
                         f"got {times[invalid][0]}")
    num_neurons = width * height * polarities
    if histogram_thresh is None:
        return preprocess_spikes(times, ids, num_neurons)

    steps = np.floor(times / dt).astype(np.int64)
    num_steps = int(steps.max()) + 1 if len(steps) else 1
    # One key per (neuron, time bin): unique counts events without a dense
    # neurons x bins histogram
    bins, counts = np.unique(ids * num_steps + steps, return_counts=True)
    bins = bins[counts >= histogram_thresh]
    return preprocess_spikes((bins % num_steps) * dt, bins // num_steps, num_neurons)


def preprocess_tonic_spikes_separate(events: np.ndarray, ordering: Sequence[str],
                                     shape: tuple, time_scale: float = 1.0 / 1000.0,
                                     dt: float | None = None,
                                     histogram_thresh: int | None = None
                                     ) -> list[PreprocessedSpikes]:
    """One :data:`PreprocessedSpikes` per polarity of one example's Tonic events,
    as in mlGeNN: element ``p`` holds the events of polarity ``p``, preprocessed
    as :func:`preprocess_tonic_spikes` does for a sensor of shape
    ``(width, height, 1)``. The sensor must have more than one polarity."""
    events = _check_tonic_events(events, ordering)
    width, height, polarities = _check_sensor_shape(shape)
    if polarities == 1:
        raise ValueError(f"shape must have more than one polarity to separate, got "
                         f"{tuple(shape)!r}")
    polarity = _tonic_field(events, "p", polarities)
    return [preprocess_tonic_spikes(events[polarity == p], ordering,
                                    (width, height, 1), time_scale, dt,
                                    histogram_thresh)
            for p in range(polarities)]


def _spike_times_of(spikes: Iterable) -> list[np.ndarray]:
    """Each example's ``spike_times``, checked to be a PreprocessedSpikes-like."""
    times = []
    for i, example in enumerate(spikes):
        if not hasattr(example, "spike_times") or not hasattr(example, "end_spikes"):
            raise TypeError(f"spikes[{i}] must be a PreprocessedSpikes, got "
                            f"{type(example).__name__}")
        times.append(np.asarray(example.spike_times))
    if not times:
        raise ValueError("spikes must hold at least one example, got none")
    return times


def batch_spikes(spikes: Sequence[PreprocessedSpikes],
                 batch_size: int) -> PreprocessedSpikes:
    """The spikes of up to ``batch_size`` examples as one PreprocessedSpikes for a
    batch, as mlGeNN's SpikeInput uses it.

    ``spike_times`` concatenates the examples' spike times; ``end_spikes`` has
    shape (batch_size, num_neurons): row ``b`` is example ``b``'s ``end_spikes``
    plus the number of spikes of the examples before it. Rows past the last
    example (a partial batch) hold the total spike count, i.e. no spikes."""
    batch_size = _check_int(batch_size, "batch_size", 1)
    spikes = list(spikes)
    spike_times = _spike_times_of(spikes)
    if len(spike_times) > batch_size:
        raise ValueError(f"spikes holds {len(spike_times)} examples, more than "
                         f"batch_size={batch_size}")
    end_spikes = [np.asarray(example.end_spikes) for example in spikes]
    num_neurons = len(end_spikes[0])
    for i, (end, times) in enumerate(zip(end_spikes, spike_times)):
        if end.ndim != 1 or len(end) != num_neurons:
            raise ValueError(f"every example must have end_spikes for the same "
                             f"{num_neurons} neurons as spikes[0], got shape "
                             f"{end.shape} in spikes[{i}]")
        total = int(end[-1]) if len(end) else 0
        if times.ndim != 1 or total != len(times):
            raise ValueError(f"spikes[{i}] has end_spikes ending at {total} but "
                             f"spike_times of shape {times.shape}")

    offsets = np.cumsum([0] + [len(times) for times in spike_times], dtype=np.int64)
    batched_end_spikes = np.empty((batch_size, num_neurons), dtype=np.int64)
    batched_end_spikes[:len(end_spikes)] = (np.stack(end_spikes)
                                            + offsets[:-1, np.newaxis])
    batched_end_spikes[len(end_spikes):] = offsets[-1]
    return PreprocessedSpikes(batched_end_spikes,
                              np.concatenate(spike_times).astype(np.float32))


def calc_start_spikes(end_spikes: np.ndarray) -> np.ndarray:
    """The index of each neuron's first spike, given ``end_spikes`` of one example
    (1-D) or of a batch from :func:`batch_spikes` (2-D): each neuron starts where
    the one before it ends, and the first neuron of each example where the last
    neuron of the example before it ends (the first of all at 0)."""
    end_spikes = np.asarray(end_spikes)
    if end_spikes.ndim not in (1, 2) or end_spikes.size == 0:
        raise ValueError(f"end_spikes must be a non-empty 1-D (one example) or 2-D "
                         f"(a batch) array, got shape {end_spikes.shape}")
    if not np.issubdtype(end_spikes.dtype, np.integer):
        raise TypeError(f"end_spikes must be integers, got dtype {end_spikes.dtype}")
    # Row-major order runs through a batch's examples one after another, so the
    # whole batch is one shift by a neuron
    flat_end_spikes = end_spikes.reshape(-1)
    start_spikes = np.empty_like(flat_end_spikes)
    start_spikes[0] = 0
    start_spikes[1:] = flat_end_spikes[:-1]
    return start_spikes.reshape(end_spikes.shape)


def calc_max_spikes(spikes: Iterable[PreprocessedSpikes]) -> int:
    """The largest number of spikes of any one example (all its neurons
    together), as in mlGeNN: what SpikeInput's ``max_spikes`` needs per example."""
    return max(len(times) for times in _spike_times_of(spikes))


def calc_latest_spike_time(spikes: Iterable[PreprocessedSpikes]) -> float:
    """The time (ms) of the latest spike of any example. Examples without spikes
    are skipped; spikes with no spike at all raise ValueError."""
    latest = max((float(np.max(times)) for times in _spike_times_of(spikes)
                  if len(times)), default=None)
    if latest is None:
        raise ValueError("spikes must hold at least one spike, got examples "
                         "without any")
    return latest


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


def generate_yin_yang_dataset(size: int, scale: float, offset: float = 0.0,
                              bias: bool = True, r_small: float = 0.1,
                              r_big: float = 0.5
                              ) -> tuple[list[PreprocessedSpikes], list[int]]:
    """``size`` Yin-Yang examples as spikes, as in mlGeNN: one spike per input
    neuron at ``offset + scale * feature`` ms for the features
    ``(x, y, 1 - x, 1 - y)`` of :func:`yin_yang_dataset`, preceded with ``bias``
    by a neuron that fires at ``offset``.

    Returns ``(spikes, labels)``: a list of :data:`PreprocessedSpikes` (5 neurons
    with ``bias``, else 4) and a list of int labels. Like mlGeNN, it draws from
    NumPy's global random generator, so ``np.random.seed`` fixes the data and
    successive calls (a training set, then a test set) differ; the points
    themselves come from :func:`yin_yang_dataset` with a seed drawn there."""
    size = _check_int(size, "size", 0)
    scale = _check_real(scale, "scale")
    offset = _check_real(offset, "offset")
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"bias must be a bool, got {bias!r}")
    r_big = _check_real(r_big, "r_big")
    # Points lie in [0, 2 r_big]^2, so features (and the bias's 0) lie in
    # [min(0, 1 - 2 r_big), max(1, 2 r_big)]; no spike may come before 0 ms
    lowest_time = offset + min(scale * min(0.0, 1.0 - 2.0 * r_big),
                               scale * max(1.0, 2.0 * r_big))
    if lowest_time < 0.0:
        raise ValueError(f"offset + scale * feature must be >= 0 ms for features in "
                         f"[{min(0.0, 1.0 - 2.0 * r_big)!r}, "
                         f"{max(1.0, 2.0 * r_big)!r}] (r_big={r_big!r}), got "
                         f"{lowest_time!r} with offset={offset!r}, scale={scale!r}")

    seed = int(np.random.randint(0, np.iinfo(np.int64).max, dtype=np.int64))
    features, labels = yin_yang_dataset(size, seed=seed, r_small=r_small,
                                        r_big=r_big)
    if bias:
        features = np.concatenate((np.zeros((size, 1), dtype=np.float32), features),
                                  axis=1)
    # One spike per neuron: the feature order is already the sorted neuron order
    times = (offset + scale * features.astype(np.float64)).astype(np.float32)
    num_neurons = features.shape[1]
    spikes = [PreprocessedSpikes(np.arange(1, num_neurons + 1, dtype=np.int64), row)
              for row in times]
    return spikes, labels.tolist()
