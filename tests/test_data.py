"""snnflow.utils.data against hand-worked expectations."""
import collections.abc
import math
import typing

import numpy as np
import pytest

from snnflow.utils.data import (DataDictType, PreprocessedSpikes, batch_dataset,
                                batch_spikes, calc_latest_spike_time, calc_max_spikes,
                                calc_start_spikes, generate_yin_yang_dataset,
                                get_dataset_size, linear_latency_encode_data,
                                log_latency_encode_data, permute_dataset,
                                preprocess_spikes, preprocess_tonic_spikes,
                                preprocess_tonic_spikes_separate, split_dataset,
                                yin_yang_dataset)


# ---------------------------------------------------------------- preprocess_spikes

def test_preprocess_spikes_sorts_by_neuron_then_time():
    # neuron 0: 1, 2; neuron 1: none; neuron 2: 0, 3, 5; neuron 3: 2; neuron 4: none
    spikes = preprocess_spikes(times=[5.0, 1.0, 3.0, 2.0, 2.0, 0.0],
                               ids=[2, 0, 2, 0, 3, 2], num_neurons=5)
    assert isinstance(spikes, PreprocessedSpikes)
    np.testing.assert_array_equal(spikes.end_spikes, [2, 2, 5, 6, 6])
    np.testing.assert_array_equal(spikes.spike_times, [1.0, 2.0, 0.0, 3.0, 5.0, 2.0])
    assert spikes.spike_times.dtype == np.float32
    assert np.issubdtype(spikes.end_spikes.dtype, np.integer)


def test_preprocess_spikes_accepts_integer_times_and_no_spikes():
    spikes = preprocess_spikes(np.array([7, 3], dtype=np.int64),
                               np.array([1, 1], dtype=np.uint16), 2)
    np.testing.assert_array_equal(spikes.end_spikes, [0, 2])
    np.testing.assert_array_equal(spikes.spike_times, [3.0, 7.0])

    empty = preprocess_spikes([], [], 3)
    np.testing.assert_array_equal(empty.end_spikes, [0, 0, 0])
    assert empty.spike_times.shape == (0,)


@pytest.mark.parametrize("times, ids, num_neurons, error, match", [
    ([1.0, 2.0], [0], 3, ValueError, "same length"),
    ([1.0], [3], 3, ValueError, "got id 3"),
    ([1.0], [-1], 3, ValueError, "got id -1"),
    ([1.0], [0], 0, ValueError, "num_neurons"),
    ([1.0], [0], 2.0, TypeError, "num_neurons"),
    ([-0.5], [0], 3, ValueError, "-0.5"),
    ([np.nan], [0], 3, ValueError, "finite"),
    ([np.inf], [0], 3, ValueError, "finite"),
    ([1.0], [0.0], 3, TypeError, "ids must be integers"),
    ([[1.0]], [[0]], 3, ValueError, "1-D"),
])
def test_preprocess_spikes_errors(times, ids, num_neurons, error, match):
    with pytest.raises(error, match=match):
        preprocess_spikes(np.asarray(times), np.asarray(ids), num_neurons)


def test_preprocess_spikes_out_of_range_message_names_id_and_num_neurons():
    with pytest.raises(ValueError) as info:
        preprocess_spikes([1.0, 2.0], [1, 7], 4)
    assert "7" in str(info.value) and "num_neurons=4" in str(info.value)


# ---------------------------------------------------------------- batching spikes

def _two_examples():
    # Example 0: neuron 0 fires at 5, neuron 2 at 1 and 2; example 1: neuron 1 at 3, 4
    return [PreprocessedSpikes(np.array([1, 1, 3]), np.array([5.0, 1.0, 2.0])),
            PreprocessedSpikes(np.array([0, 2, 2]), np.array([3.0, 4.0]))]


def test_batch_spikes_offsets_each_example_and_pads_a_partial_batch():
    batched = batch_spikes(_two_examples(), batch_size=3)
    assert isinstance(batched, PreprocessedSpikes)
    np.testing.assert_array_equal(batched.end_spikes, [[1, 1, 3], [3, 5, 5], [5, 5, 5]])
    np.testing.assert_array_equal(batched.spike_times, [5.0, 1.0, 2.0, 3.0, 4.0])
    assert batched.end_spikes.dtype == np.int64
    assert batched.spike_times.dtype == np.float32


def test_batch_spikes_full_batch_and_examples_without_spikes():
    batched = batch_spikes(_two_examples(), batch_size=2)
    np.testing.assert_array_equal(batched.end_spikes, [[1, 1, 3], [3, 5, 5]])

    silent = preprocess_spikes([], [], 2)
    batched = batch_spikes([silent, preprocess_spikes([7.0], [1], 2), silent], 3)
    np.testing.assert_array_equal(batched.end_spikes, [[0, 0], [0, 1], [1, 1]])
    np.testing.assert_array_equal(batched.spike_times, [7.0])


@pytest.mark.parametrize("spikes, batch_size, error, match", [
    (_two_examples(), 1, ValueError, "2 examples, more than batch_size=1"),
    (_two_examples(), 0, ValueError, "batch_size"),
    (_two_examples(), 2.0, TypeError, "batch_size"),
    ([], 2, ValueError, "at least one example"),
    (_two_examples()[:1] + [PreprocessedSpikes(np.array([0, 1]), np.array([1.0]))], 2,
     ValueError, r"same 3 neurons.*spikes\[1\]"),
    ([PreprocessedSpikes(np.array([1, 2]), np.array([1.0]))], 2,
     ValueError, r"spikes\[0\] has end_spikes ending at 2"),
    ([np.array([1, 2])], 2, TypeError, r"spikes\[0\] must be a PreprocessedSpikes"),
])
def test_batch_spikes_errors(spikes, batch_size, error, match):
    with pytest.raises(error, match=match):
        batch_spikes(spikes, batch_size)


def test_calc_start_spikes_one_example():
    start = calc_start_spikes(np.array([1, 1, 3], dtype=np.int64))
    np.testing.assert_array_equal(start, [0, 1, 1])
    assert start.dtype == np.int64


def test_calc_start_spikes_batch_continues_from_previous_example():
    # Row b starts where row b - 1's last neuron ends
    end_spikes = np.array([[1, 1, 3], [3, 5, 5], [5, 5, 5]])
    np.testing.assert_array_equal(calc_start_spikes(end_spikes),
                                  [[0, 1, 1], [3, 3, 5], [5, 5, 5]])
    # Fortran order must not change the neuron order
    np.testing.assert_array_equal(calc_start_spikes(np.asfortranarray(end_spikes)),
                                  [[0, 1, 1], [3, 3, 5], [5, 5, 5]])
    np.testing.assert_array_equal(calc_start_spikes(np.array([[4], [6]])), [[0], [4]])


@pytest.mark.parametrize("end_spikes, error, match", [
    (np.array([], dtype=np.int64), ValueError, "non-empty"),
    (np.zeros((1, 2, 3), dtype=np.int64), ValueError, r"\(1, 2, 3\)"),
    (np.array([1.0, 2.0]), TypeError, "integers"),
])
def test_calc_start_spikes_errors(end_spikes, error, match):
    with pytest.raises(error, match=match):
        calc_start_spikes(end_spikes)


def test_calc_max_spikes_counts_all_neurons_of_an_example():
    spikes = _two_examples() + [preprocess_spikes([], [], 3)]
    assert calc_max_spikes(spikes) == 3
    assert calc_max_spikes(iter(spikes[1:])) == 2
    assert isinstance(calc_max_spikes(spikes), int)


def test_calc_latest_spike_time_skips_examples_without_spikes():
    spikes = [preprocess_spikes([], [], 3)] + _two_examples()
    assert calc_latest_spike_time(spikes) == 5.0
    assert isinstance(calc_latest_spike_time(spikes), float)
    assert calc_latest_spike_time(spikes[2:]) == 4.0


@pytest.mark.parametrize("function", [calc_max_spikes, calc_latest_spike_time])
def test_calc_spike_statistics_errors(function):
    with pytest.raises(ValueError, match="at least one example"):
        function([])
    with pytest.raises(TypeError, match=r"spikes\[1\] must be a PreprocessedSpikes"):
        function([_two_examples()[0], (1, 2)])


def test_calc_latest_spike_time_without_any_spike():
    with pytest.raises(ValueError, match="at least one spike"):
        calc_latest_spike_time([preprocess_spikes([], [], 3)])


# ---------------------------------------------------------------- Tonic events

def _events(fields, rows):
    return np.array(rows, dtype=fields)


XYTP = [("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)]
# A 3 x 2 sensor: (x, y, t in microseconds, p)
XYTP_ROWS = [(1, 0, 2000, 1), (2, 1, 1000, 0), (1, 0, 500, 1), (0, 1, 3000, 1)]


def test_preprocess_tonic_spikes_2d_two_polarities():
    # Neuron (y * 3 + x) * 2 + p: ids 3, 10, 3, 7 of 12
    spikes = preprocess_tonic_spikes(_events(XYTP, XYTP_ROWS), "xytp", (3, 2, 2))
    np.testing.assert_array_equal(spikes.end_spikes, [0, 0, 0, 2, 2, 2, 2, 3, 3, 3, 4, 4])
    np.testing.assert_allclose(spikes.spike_times, [0.5, 2.0, 3.0, 1.0])
    assert spikes.spike_times.dtype == np.float32


def test_preprocess_tonic_spikes_2d_one_polarity_ignores_p():
    # Neuron y * 3 + x: ids 1, 5, 1, 3 of 6, whatever p says
    spikes = preprocess_tonic_spikes(_events(XYTP, XYTP_ROWS), ["x", "y", "t", "p"],
                                     (3, 2, 1))
    np.testing.assert_array_equal(spikes.end_spikes, [0, 2, 2, 3, 3, 4])
    np.testing.assert_allclose(spikes.spike_times, [0.5, 2.0, 3.0, 1.0])


def test_preprocess_tonic_spikes_1d_sensor_and_time_scale():
    # SHD's layout: neuron x of a (4, 1, 1) sensor
    events = _events([("t", np.float64), ("x", np.int64), ("p", np.int64)],
                     [(1500.0, 3, 0), (250.0, 0, 0), (750.0, 3, 0)])
    spikes = preprocess_tonic_spikes(events, "txp", (4, 1, 1))
    np.testing.assert_array_equal(spikes.end_spikes, [1, 1, 1, 3])
    np.testing.assert_allclose(spikes.spike_times, [0.25, 0.75, 1.5])

    spikes = preprocess_tonic_spikes(events, "txp", (4, 1, 1), time_scale=1.0)
    np.testing.assert_allclose(spikes.spike_times, [250.0, 750.0, 1500.0])


def test_preprocess_tonic_spikes_1d_two_polarities():
    # Neuron x * 2 + p: ids 3, 1, 2 of 4
    events = _events([("t", np.int64), ("x", np.int64), ("p", np.int64)],
                     [(1000, 1, 1), (2000, 0, 1), (3000, 1, 0)])
    spikes = preprocess_tonic_spikes(events, "txp", (2, 1, 2))
    np.testing.assert_array_equal(spikes.end_spikes, [0, 1, 2, 3])
    np.testing.assert_allclose(spikes.spike_times, [2.0, 3.0, 1.0])


def test_preprocess_tonic_spikes_large_sensor_ids_do_not_wrap():
    # (299 * 300 + 299) * 2 + 1 = 179999 does not fit the int16 fields
    events = _events(XYTP, [(299, 299, 1000, 1)])
    spikes = preprocess_tonic_spikes(events, "xytp", (300, 300, 2))
    assert len(spikes.end_spikes) == 180000
    assert spikes.end_spikes[179998] == 0 and spikes.end_spikes[179999] == 1


def test_preprocess_tonic_spikes_histogram():
    # Neuron 0 (ms): 0.1, 0.9 | 1.5 | 2.1, 2.2, 2.999 -> bins of 2, 1, 3 events
    # Neuron 1 (ms): 1.0, 1.999 | 3.0               -> bins 1 and 3 with 2, 1 events
    events = _events([("t", np.int64), ("x", np.int64), ("p", np.int64)],
                     [(100, 0, 0), (1000, 1, 0), (900, 0, 0), (1500, 0, 0),
                      (2100, 0, 0), (1999, 1, 0), (2200, 0, 0), (3000, 1, 0),
                      (2999, 0, 0)])
    spikes = preprocess_tonic_spikes(events, "txp", (2, 1, 1), dt=1.0,
                                     histogram_thresh=2)
    np.testing.assert_array_equal(spikes.end_spikes, [2, 3])
    np.testing.assert_allclose(spikes.spike_times, [0.0, 2.0, 1.0])

    spikes = preprocess_tonic_spikes(events, "txp", (2, 1, 1), dt=1.0,
                                     histogram_thresh=1)
    np.testing.assert_array_equal(spikes.end_spikes, [3, 5])
    np.testing.assert_allclose(spikes.spike_times, [0.0, 1.0, 2.0, 1.0, 3.0])

    # Bins of 0.5 ms: neuron 0's 0.1 and 0.9 now fall apart
    spikes = preprocess_tonic_spikes(events, "txp", (2, 1, 1), dt=0.5,
                                     histogram_thresh=2)
    np.testing.assert_array_equal(spikes.end_spikes, [1, 1])
    np.testing.assert_allclose(spikes.spike_times, [2.0])


def test_preprocess_tonic_spikes_no_events():
    events = _events(XYTP, [])
    for kwargs in ({}, {"dt": 1.0, "histogram_thresh": 1}):
        spikes = preprocess_tonic_spikes(events, "xytp", (3, 2, 2), **kwargs)
        np.testing.assert_array_equal(spikes.end_spikes, np.zeros(12))
        assert spikes.spike_times.shape == (0,)


def test_preprocess_tonic_spikes_separate():
    # Polarity 0: (2, 1) at 1 ms -> neuron 5 of 6; polarity 1: neuron 1 at 0.5 and
    # 2 ms, neuron 3 at 3 ms
    spikes = preprocess_tonic_spikes_separate(_events(XYTP, XYTP_ROWS), "xytp",
                                              (3, 2, 2))
    assert len(spikes) == 2
    np.testing.assert_array_equal(spikes[0].end_spikes, [0, 0, 0, 0, 0, 1])
    np.testing.assert_allclose(spikes[0].spike_times, [1.0])
    np.testing.assert_array_equal(spikes[1].end_spikes, [0, 2, 2, 3, 3, 3])
    np.testing.assert_allclose(spikes[1].spike_times, [0.5, 2.0, 3.0])

    spikes = preprocess_tonic_spikes_separate(_events(XYTP, XYTP_ROWS), "xytp",
                                              (3, 2, 2), dt=1.0, histogram_thresh=2)
    np.testing.assert_array_equal(spikes[0].end_spikes, [0, 0, 0, 0, 0, 0])
    # Neuron 1's events at 0.5 and 2 ms lie in different 1 ms bins
    np.testing.assert_array_equal(spikes[1].end_spikes, [0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("rows, ordering, shape, kwargs, error, match", [
    (XYTP_ROWS, "xyp", (3, 2, 2), {}, ValueError, "'t'.*'p'"),
    (XYTP_ROWS, "xyt", (3, 2, 2), {}, ValueError, "'t'.*'p'"),
    (XYTP_ROWS, "tp", (3, 2, 2), {}, ValueError, "'x'"),
    (XYTP_ROWS, "xytp", (3, 2), {}, ValueError, r"shape must be .*\(3, 2\)"),
    (XYTP_ROWS, "xytp", (3, 0, 2), {}, ValueError, "height"),
    (XYTP_ROWS, "xytp", (2, 2, 2), {}, ValueError, r"events\['x'\].*\[0, 2\).*got 2"),
    (XYTP_ROWS, "xytp", (3, 1, 2), {}, ValueError, r"events\['y'\].*got 1"),
    ([(0, 0, 10, 2)], "xytp", (3, 2, 2), {}, ValueError, r"events\['p'\].*got 2"),
    ([(0, 0, -10, 0)], "xytp", (3, 2, 2), {}, ValueError, r"time_scale.*-0.01"),
    (XYTP_ROWS, "xytp", (3, 2, 2), {"time_scale": 0.0}, ValueError, "time_scale"),
    (XYTP_ROWS, "xytp", (3, 2, 2), {"histogram_thresh": 2}, ValueError,
     "dt must be given"),
    (XYTP_ROWS, "xytp", (3, 2, 2), {"dt": 0.0, "histogram_thresh": 2}, ValueError,
     "dt must be > 0"),
    (XYTP_ROWS, "xytp", (3, 2, 2), {"dt": 1.0, "histogram_thresh": 0}, ValueError,
     "histogram_thresh"),
])
def test_preprocess_tonic_spikes_errors(rows, ordering, shape, kwargs, error, match):
    with pytest.raises(error, match=match):
        preprocess_tonic_spikes(_events(XYTP, rows), ordering, shape, **kwargs)


def test_preprocess_tonic_spikes_event_array_errors():
    with pytest.raises(TypeError, match="structured array"):
        preprocess_tonic_spikes(np.zeros(3), "xytp", (3, 2, 2))
    no_y = _events([("x", np.int16), ("t", np.int64), ("p", np.int8)], [(0, 1, 0)])
    with pytest.raises(ValueError, match=r"missing \['y'\]"):
        preprocess_tonic_spikes(no_y, "xytp", (3, 2, 2))
    float_x = _events([("x", np.float64), ("t", np.int64), ("p", np.int8)],
                      [(0.5, 1, 0)])
    with pytest.raises(TypeError, match=r"events\['x'\] must be integers"):
        preprocess_tonic_spikes(float_x, "xtp", (3, 1, 2))


def test_preprocess_tonic_spikes_separate_errors():
    with pytest.raises(ValueError, match="more than one polarity"):
        preprocess_tonic_spikes_separate(_events(XYTP, XYTP_ROWS), "xytp", (3, 2, 1))
    with pytest.raises(ValueError, match=r"events\['p'\].*\[0, 2\).*got 2"):
        preprocess_tonic_spikes_separate(_events(XYTP, [(0, 0, 10, 2)]), "xytp",
                                         (3, 2, 2))


# ---------------------------------------------------------------- latency encodings

def test_linear_latency_encode_data_hand_worked():
    data = np.array([[[0, 255], [128, 1]],
                     [[2, 51], [204, 255]]], dtype=np.uint8)
    spikes = linear_latency_encode_data(data, max_time=100.0, min_time=10.0)
    assert len(spikes) == 2
    # t = 10 + (255 - v) / 255 * 90, only for v > 1
    np.testing.assert_array_equal(spikes[0].end_spikes, [0, 1, 2, 2])
    np.testing.assert_allclose(spikes[0].spike_times, [10.0, 10.0 + 127 * 90 / 255],
                               rtol=1e-6)
    np.testing.assert_array_equal(spikes[1].end_spikes, [1, 2, 3, 4])
    np.testing.assert_allclose(spikes[1].spike_times,
                               [10.0 + 253 * 90 / 255, 82.0, 28.0, 10.0], rtol=1e-6)
    assert spikes[1].spike_times.dtype == np.float32


def test_linear_latency_encode_data_thresh_is_strict():
    spikes = linear_latency_encode_data(np.array([[10, 11, 9]]), max_time=51.0,
                                        thresh=10)
    np.testing.assert_array_equal(spikes[0].end_spikes, [0, 1, 1])
    np.testing.assert_allclose(spikes[0].spike_times, [(255 - 11) / 5], rtol=1e-6)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(data=np.array([[256.0]]), max_time=10.0), ValueError, r"\[0, 255\]"),
    (dict(data=np.array([[-1.0]]), max_time=10.0), ValueError, r"\[0, 255\]"),
    (dict(data=np.array([[np.nan]]), max_time=10.0), ValueError, "finite"),
    (dict(data=np.array([1, 2]), max_time=10.0), ValueError, "shape"),
    (dict(data=np.array([["a"]]), max_time=10.0), TypeError, "dtype"),
    (dict(data=np.array([[1]]), max_time=5.0, min_time=6.0), ValueError, "max_time"),
    (dict(data=np.array([[1]]), max_time=5.0, min_time=-1.0), ValueError, "min_time"),
    (dict(data=np.array([[1]]), max_time="5"), TypeError, "max_time"),
])
def test_linear_latency_encode_data_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        linear_latency_encode_data(**kwargs)


def test_log_latency_encode_data_hand_worked():
    spikes = log_latency_encode_data(np.array([[0.5, 2.0, 1.0, 4.0]]),
                                     tau_eff=20.0, thresh=1.0)
    np.testing.assert_array_equal(spikes[0].end_spikes, [0, 1, 1, 2])
    # 20 ln(2 / 1) and 20 ln(4 / 3); 1.0 is not above the threshold
    np.testing.assert_allclose(spikes[0].spike_times,
                               [13.862943611, 5.753641449], rtol=1e-6)
    assert spikes[0].spike_times.dtype == np.float32


@pytest.mark.parametrize("tau_eff, thresh, match", [
    (0.0, 1.0, "tau_eff"), (20.0, 0.0, "thresh"), (20.0, -1.0, "thresh"),
])
def test_log_latency_encode_data_errors(tau_eff, thresh, match):
    with pytest.raises(ValueError, match=match):
        log_latency_encode_data(np.ones((1, 2)), tau_eff, thresh)


# ---------------------------------------------------------------- data-set dictionaries

def test_data_dict_type_is_a_mapping_alias():
    assert typing.get_origin(DataDictType) is collections.abc.Mapping


def test_get_dataset_size():
    assert get_dataset_size({}) is None
    assert get_dataset_size({"a": [1, 2, 3], "b": np.zeros((3, 2))}) == 3
    # Values of different lengths: no size, as in mlGeNN
    assert get_dataset_size({"a": [1, 2, 3], "b": np.zeros((2, 2))}) is None
    assert get_dataset_size({"a": [np.ones((2, 2))] * 10,
                             "b": [np.ones((2, 2))] * 5}) is None
    with pytest.raises(TypeError, match="data"):
        get_dataset_size([1, 2, 3])
    with pytest.raises(TypeError, match="'a'"):
        get_dataset_size({"a": 5})


def test_batch_dataset():
    data = {"a": np.arange(5), "b": list("vwxyz")}
    batches = batch_dataset(data, batch_size=2, size=5)
    assert [sorted(b) for b in batches] == [["a", "b"]] * 3
    assert [list(b["a"]) for b in batches] == [[0, 1], [2, 3], [4]]
    assert [b["b"] for b in batches] == [["v", "w"], ["x", "y"], ["z"]]

    # size below the data's length: the batches stop at size
    assert [list(b["a"]) for b in batch_dataset(data, 2, 3)] == [[0, 1], [2]]
    assert batch_dataset(data, 2, 0) == []


@pytest.mark.parametrize("batch_size, size, error, match", [
    (2, 6, ValueError, "holds only 5"),
    (0, 5, ValueError, "batch_size"),
    ("2", 5, TypeError, "batch_size"),
    (2, -1, ValueError, "size"),
])
def test_batch_dataset_errors(batch_size, size, error, match):
    with pytest.raises(error, match=match):
        batch_dataset({"a": np.arange(5)}, batch_size, size)


def test_split_dataset():
    data = {"x": np.arange(10), "y": list(range(10, 20))}
    first, last = split_dataset(data, 0.2)
    assert list(first["x"]) == list(range(8)) and first["y"] == list(range(10, 18))
    assert list(last["x"]) == [8, 9] and last["y"] == [18, 19]

    first, last = split_dataset(data, 0.0)
    assert len(first["x"]) == 10 and len(last["x"]) == 0
    first, last = split_dataset(data, 1.0)
    assert len(first["x"]) == 0 and len(last["x"]) == 10

    # round(2.5) is 2 in Python, as in mlGeNN
    first, last = split_dataset({"x": np.arange(5)}, 0.5)
    assert list(first["x"]) == [0, 1] and list(last["x"]) == [2, 3, 4]

    # mlGeNN's own case: ten 2x2 examples, a tenth split off
    images = [np.full((2, 2), float(i)) for i in range(10)]
    first, last = split_dataset({"input": images}, 0.1)
    assert [float(i[0, 0]) for i in first["input"]] == list(range(9))
    assert [float(i[0, 0]) for i in last["input"]] == [9.0]

    assert split_dataset({}, 0.3) == ({}, {})


@pytest.mark.parametrize("split", [1.5, 10.0, -1.0, -1e-9, math.inf, math.nan])
def test_split_dataset_outside_unit_interval_raises_runtime_error(split):
    with pytest.raises(RuntimeError, match=r"split must lie in \[0, 1\], got"):
        split_dataset({"x": np.arange(4)}, split)


def test_split_dataset_errors():
    with pytest.raises(TypeError, match="split"):
        split_dataset({"x": np.arange(4)}, "0.5")
    with pytest.raises(ValueError, match=r"same number.*'x': 1, 'y': 2"):
        split_dataset({"x": [1], "y": [1, 2]}, 0.5)


def test_permute_dataset():
    data = {"x": np.array([[0, 1], [2, 3], [4, 5]]), "y": ["a", "b", "c"],
            "z": ("p", "q", "r")}
    permuted = permute_dataset(data, [2, 0, 1])
    assert isinstance(permuted["x"], np.ndarray)
    np.testing.assert_array_equal(permuted["x"], [[4, 5], [0, 1], [2, 3]])
    assert permuted["y"] == ["c", "a", "b"]
    assert permuted["z"] == ["r", "p", "q"]
    # The input is left as it was
    np.testing.assert_array_equal(data["x"][0], [0, 1])

    permuted = permute_dataset({"x": np.arange(3)}, np.array([1, 2, 0], np.uint8))
    np.testing.assert_array_equal(permuted["x"], [1, 2, 0])
    assert permute_dataset({}, []) == {}


@pytest.mark.parametrize("data, indices, error, match", [
    ({"x": np.arange(3)}, [0, 1], ValueError, r"one index per example \(3\), got 2"),
    ({"x": np.arange(3)}, [0, 1, 3], ValueError, r"\[0, 3\), got index 3"),
    ({"x": np.arange(3)}, [0, -1, 1], ValueError, "got index -1"),
    ({"x": np.arange(3)}, [0, 2, 0], ValueError, "permutation.*index 0 2 times"),
    ({"x": np.arange(3)}, [0.0, 1.0, 2.0], TypeError, "indices must be integers"),
    ({"x": np.arange(3)}, [[0, 1, 2]], ValueError, "1-D"),
    ({"x": [1], "y": [1, 2]}, [0], ValueError, "same number"),
    ([1, 2], [0, 1], TypeError, "data"),
])
def test_permute_dataset_errors(data, indices, error, match):
    with pytest.raises(error, match=match):
        permute_dataset(data, indices)


# ---------------------------------------------------------------- Yin-Yang

def _paper_labels(x, y, r_small=0.1, r_big=0.5):
    """The Yin-Yang picture drawn from its parts: two eyes, then the left inner
    disc, the right inner disc and the upper/lower half of the big disc."""
    labels = []
    for px, py in zip(x.astype(float), y.astype(float)):
        left = math.dist((px, py), (0.5 * r_big, r_big))
        right = math.dist((px, py), (1.5 * r_big, r_big))
        if left < r_small or right < r_small:
            labels.append(2)
        elif left <= 0.5 * r_big:
            labels.append(1)
        elif right <= 0.5 * r_big:
            labels.append(0)
        else:
            labels.append(1 if py > r_big else 0)
    return np.array(labels)


def test_yin_yang_points_and_labels():
    x, labels = yin_yang_dataset(5000, seed=3)
    assert x.dtype == np.float32 and x.shape == (5000, 4)
    assert labels.dtype == np.int64 and labels.shape == (5000,)
    assert np.all(np.hypot(x[:, 0] - 0.5, x[:, 1] - 0.5) <= 0.5 + 1e-6)
    np.testing.assert_array_equal(x[:, 2], np.float32(1.0) - x[:, 0])
    np.testing.assert_array_equal(x[:, 3], np.float32(1.0) - x[:, 1])
    np.testing.assert_array_equal(labels, _paper_labels(x[:, 0], x[:, 1]))


def test_yin_yang_other_radii_follow_the_same_rule():
    x, labels = yin_yang_dataset(2000, seed=5, r_small=0.2, r_big=1.0)
    assert np.all(np.hypot(x[:, 0] - 1.0, x[:, 1] - 1.0) <= 1.0 + 1e-6)
    np.testing.assert_array_equal(labels, _paper_labels(x[:, 0], x[:, 1], 0.2, 1.0))


def test_yin_yang_chunks_equal_one_shot():
    x, labels = yin_yang_dataset(10000, seed=7)
    bounds = [0, 1, 4095, 4097, 9000, 10000]
    chunks = [yin_yang_dataset(stop - start, seed=7, start=start)
              for start, stop in zip(bounds[:-1], bounds[1:])]
    np.testing.assert_array_equal(np.concatenate([c[0] for c in chunks]), x)
    np.testing.assert_array_equal(np.concatenate([c[1] for c in chunks]), labels)

    x_mid, labels_mid = yin_yang_dataset(5, seed=7, start=8190)
    np.testing.assert_array_equal(x_mid, x[8190:8195])
    np.testing.assert_array_equal(labels_mid, labels[8190:8195])


def test_yin_yang_deterministic_per_seed():
    x0, labels0 = yin_yang_dataset(1000, seed=0)
    x0_again, labels0_again = yin_yang_dataset(1000)
    np.testing.assert_array_equal(x0, x0_again)
    np.testing.assert_array_equal(labels0, labels0_again)
    x1, _ = yin_yang_dataset(1000, seed=1)
    assert not np.any(np.all(x0 == x1, axis=1))


def test_yin_yang_classes_balanced():
    x, labels = yin_yang_dataset(30000, seed=11)
    counts = np.bincount(labels, minlength=3)
    # Binomial(30000, 1/3) has a standard deviation of about 82
    assert np.all(np.abs(counts - 10000) < 500), counts
    # The dot class is split evenly between the two eyes
    dots = x[labels == 2]
    assert abs(np.mean(dots[:, 0] < 0.5) - 0.5) < 0.05


def test_yin_yang_empty_and_errors():
    x, labels = yin_yang_dataset(0, start=123)
    assert x.shape == (0, 4) and x.dtype == np.float32 and labels.shape == (0,)
    with pytest.raises(ValueError, match="r_small"):
        yin_yang_dataset(10, r_small=0.25)
    with pytest.raises(ValueError, match="size"):
        yin_yang_dataset(-1)
    with pytest.raises(ValueError, match="seed"):
        yin_yang_dataset(10, seed=-2)
    with pytest.raises(TypeError, match="start"):
        yin_yang_dataset(10, start=1.5)


def _spike_features(spikes, scale, offset):
    """Each example's features (x, y, 1 - x, 1 - y) read back from its spike times."""
    return np.array([(example.spike_times[-4:].astype(float) - offset) / scale
                     for example in spikes])


def test_generate_yin_yang_dataset_spikes_and_labels():
    np.random.seed(1)
    spikes, labels = generate_yin_yang_dataset(200, scale=30.0, offset=2.0)
    assert len(spikes) == 200 and isinstance(labels, list) and len(labels) == 200
    assert all(type(label) is int for label in labels)
    for example in spikes:
        assert isinstance(example, PreprocessedSpikes)
        # One spike per neuron, the bias neuron (0) firing at the offset
        np.testing.assert_array_equal(example.end_spikes, [1, 2, 3, 4, 5])
        assert example.spike_times.dtype == np.float32
        assert example.spike_times[0] == 2.0
    features = _spike_features(spikes, 30.0, 2.0)
    np.testing.assert_allclose(features[:, 2], 1.0 - features[:, 0], atol=1e-5)
    np.testing.assert_allclose(features[:, 3], 1.0 - features[:, 1], atol=1e-5)
    assert np.all(np.hypot(features[:, 0] - 0.5, features[:, 1] - 0.5) <= 0.5 + 1e-5)
    # Points within 1e-4 of a class boundary could be read back on its other side
    x, y = features[:, 0], features[:, 1]
    near_boundary = np.zeros(len(x), dtype=bool)
    for dx, dy in [(1e-4, 0), (-1e-4, 0), (0, 1e-4), (0, -1e-4)]:
        near_boundary |= _paper_labels(x + dx, y + dy) != _paper_labels(x, y)
    np.testing.assert_array_equal(np.array(labels)[~near_boundary],
                                  _paper_labels(x, y)[~near_boundary])


def test_generate_yin_yang_dataset_without_bias():
    spikes, labels = generate_yin_yang_dataset(3, scale=10.0, bias=False)
    for example in spikes:
        np.testing.assert_array_equal(example.end_spikes, [1, 2, 3, 4])
        # x + (1 - x) = 1: the first and third spikes add up to the scale
        assert example.spike_times[0] + example.spike_times[2] == pytest.approx(10.0)
    assert generate_yin_yang_dataset(0, scale=10.0) == ([], [])


def test_generate_yin_yang_dataset_follows_numpy_global_seed():
    np.random.seed(42)
    first, first_labels = generate_yin_yang_dataset(20, scale=1.0)
    second, _ = generate_yin_yang_dataset(20, scale=1.0)
    np.random.seed(42)
    again, again_labels = generate_yin_yang_dataset(20, scale=1.0)
    assert first_labels == again_labels
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.spike_times, b.spike_times)
    # A second call (say, the test set) gives other examples
    assert not any(np.array_equal(a.spike_times, b.spike_times)
                   for a, b in zip(first, second))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(size=5, scale="1"), TypeError, "scale"),
    (dict(size=-1, scale=1.0), ValueError, "size"),
    (dict(size=5, scale=1.0, bias=1), TypeError, "bias"),
    (dict(size=5, scale=1.0, offset=-0.5), ValueError, r"got -0.5 with offset=-0.5"),
    (dict(size=5, scale=-1.0, offset=0.5), ValueError, "scale=-1.0"),
    # r_big = 1: 1 - x reaches -1, so a spike could come at offset - scale
    (dict(size=5, scale=2.0, offset=1.0, r_small=0.2, r_big=1.0), ValueError,
     r"\[-1.0, 2.0\] \(r_big=1.0\), got -1.0"),
    (dict(size=5, scale=1.0, r_small=0.3), ValueError, "r_small"),
])
def test_generate_yin_yang_dataset_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        generate_yin_yang_dataset(**kwargs)


def test_generate_yin_yang_dataset_larger_r_big_with_enough_offset():
    spikes, _ = generate_yin_yang_dataset(50, scale=2.0, offset=2.0, r_small=0.2,
                                          r_big=1.0)
    times = np.concatenate([example.spike_times for example in spikes])
    assert times.min() >= 0.0

