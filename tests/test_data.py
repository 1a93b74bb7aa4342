"""snnflow.utils.data against hand-worked expectations."""
import math

import numpy as np
import pytest

from snnflow.utils.data import (PreprocessedSpikes, batch_dataset, get_dataset_size,
                                linear_latency_encode_data, log_latency_encode_data,
                                preprocess_spikes, split_dataset, yin_yang_dataset)


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

def test_get_dataset_size():
    assert get_dataset_size({}) is None
    assert get_dataset_size({"a": [1, 2, 3], "b": np.zeros((3, 2))}) == 3
    with pytest.raises(ValueError) as info:
        get_dataset_size({"a": [1, 2, 3], "b": np.zeros((2, 2))})
    assert "'a': 3" in str(info.value) and "'b': 2" in str(info.value)
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

    assert split_dataset({}, 0.3) == ({}, {})
    with pytest.raises(ValueError, match="split"):
        split_dataset(data, 1.5)
    with pytest.raises(ValueError, match="same number"):
        split_dataset({"x": [1], "y": [1, 2]}, 0.5)


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
