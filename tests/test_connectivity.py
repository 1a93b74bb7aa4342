"""Connectivity descriptions against (n_pre, n_post) matrices built by hand here,
and end to end: the weights the engine really delivers."""
import math

import numpy as np
import pytest
import scipy.sparse

from snnflow import Connection, InputLayer, Layer, Network, Population, SequentialNetwork
from snnflow.connectivity import (AvgPool2D, AvgPoolDense2D, Conv2D, Dense,
                                  FixedProbability, OneToOne)
from snnflow.initializers import Normal, Uniform
from snnflow.neurons import BinarySpikeInput, IntegrateFire, SpikeInput

F32 = np.float32
NEVER = 1e9


def dense_of(matrix):
    return matrix.toarray() if scipy.sparse.issparse(matrix) else np.asarray(matrix)


def probe(sim, connectivity, source_shape, target_shape=None, rng_seed=0):
    """The matrix the engine delivers through: example k makes source neuron k spike
    in step 0, so the target's V after step 1 is row k."""
    n_pre = math.prod(source_shape)
    net = Network()
    with net:
        inp = Population(SpikeInput(), source_shape)
        out = Population(IntegrateFire(v_thresh=NEVER, readout="var"), target_shape)
        Connection(inp, out, connectivity)
    x = sim.trains([{k: [0.0]} for k in range(n_pre)], n_pre)
    compiled = sim.compile(net, 2, batch_size=min(n_pre, 64), rng_seed=rng_seed)
    rows = compiled.predict({inp: x}, [out], callbacks=[])[0][out]
    return rows.reshape(n_pre, -1), out.shape


def weighted_sum_end_to_end(sim, connectivity, source_shape, images, steps=1, batch_size=3):
    """BinarySpikeInput images -> connectivity -> IntegrateFire: V after ``steps + 1``
    steps is ``steps`` deliveries of the images through the weights."""
    net = Network()
    with net:
        inp = Population(BinarySpikeInput(), source_shape)
        out = Population(IntegrateFire(v_thresh=NEVER, readout="var"))
        Connection(inp, out, connectivity)
    compiled = sim.compile(net, steps + 1, batch_size=batch_size)
    return compiled.predict({inp: images}, [out], callbacks=[])[0][out], out.shape


# --------------------------------------------------------------- Dense, OneToOne

def test_dense_matrix_is_the_weight():
    weight = np.arange(12, dtype=F32).reshape(3, 4) / 8
    matrix = Dense(weight).synapse_matrix((3,), (4,), np.random.default_rng(0))
    np.testing.assert_array_equal(dense_of(matrix), weight)
    assert dense_of(matrix).dtype == np.float32
    scalar = Dense(0.5).synapse_matrix((2, 3), (2,), np.random.default_rng(0))
    np.testing.assert_array_equal(dense_of(scalar), np.full((6, 2), 0.5))


def test_dense_end_to_end_few_and_many_spikes(sim):
    # one spike, half the neurons and every neuron spiking, each example in a batch
    # of its own
    rng = np.random.default_rng(8)
    weight = rng.integers(-8, 8, size=(100, 7)).astype(F32) / 8
    rows, _ = probe(sim, Dense(weight), (100,))
    np.testing.assert_array_equal(rows, weight)
    images = np.zeros((3, 100), F32)
    images[0, 5] = 1
    images[1] = rng.random(100) < 0.5
    images[2] = 1
    v, _ = weighted_sum_end_to_end(sim, Dense(weight), (100,), images, steps=3, batch_size=1)
    np.testing.assert_array_equal(v, 3 * (images @ weight))


def test_one_to_one():
    weight = np.array([0.5, -1.0, 2.0, 0.25], F32)
    matrix = OneToOne(weight).synapse_matrix((4,), (4,), np.random.default_rng(0))
    assert scipy.sparse.issparse(matrix)
    np.testing.assert_array_equal(dense_of(matrix), np.diag(weight))
    scalar = OneToOne(1.5).synapse_matrix((2, 2), (2, 2), np.random.default_rng(0))
    np.testing.assert_array_equal(dense_of(scalar), np.eye(4) * 1.5)


def test_one_to_one_end_to_end(sim):
    weight = np.array([0.5, -1.0, 2.0, 0.25, 3.0, 0.0], F32)
    rows, shape = probe(sim, OneToOne(weight), (2, 3))
    assert shape == (2, 3)
    np.testing.assert_array_equal(rows, np.diag(weight))


# ------------------------------------------------------------- FixedProbability

def test_fixed_probability_statistics_and_reproducibility():
    n_pre, n_post, p = 200, 300, 0.1
    conn = FixedProbability(p, 0.5)
    matrix = conn.synapse_matrix((n_pre,), (n_post,), np.random.default_rng(42))
    assert scipy.sparse.issparse(matrix)
    assert matrix.shape == (n_pre, n_post)
    total = n_pre * n_post
    sigma = math.sqrt(total * p * (1 - p))
    assert abs(matrix.nnz - total * p) < 5 * sigma
    # every synapse carries the weight once: no pair was drawn twice
    np.testing.assert_array_equal(matrix.data, np.full(matrix.nnz, 0.5, F32))
    # spread evenly: first and last rows, first and last columns
    dense = dense_of(matrix) != 0
    for part in (dense[:100], dense[100:], dense[:, :150], dense[:, 150:]):
        assert abs(part.mean() - p) < 5 * math.sqrt(p * (1 - p) / part.size)
    again = conn.synapse_matrix((n_pre,), (n_post,), np.random.default_rng(42))
    assert (again != matrix).nnz == 0
    other = conn.synapse_matrix((n_pre,), (n_post,), np.random.default_rng(43))
    assert (other != matrix).nnz > 0


def test_fixed_probability_extremes_and_initializer_weights():
    rng = np.random.default_rng(0)
    assert FixedProbability(0.0, 1.0).synapse_matrix((10,), (20,), rng).nnz == 0
    full = FixedProbability(1.0, 2.0).synapse_matrix((10,), (20,), rng)
    np.testing.assert_array_equal(dense_of(full), np.full((10, 20), 2.0))
    drawn = FixedProbability(0.5, Uniform(1.0, 2.0)).synapse_matrix((40,), (40,), rng)
    assert drawn.data.min() >= 1.0 and drawn.data.max() < 2.0
    assert len(np.unique(drawn.data)) > 0.9 * drawn.nnz


def test_fixed_probability_end_to_end_reproducible(sim):
    conn = FixedProbability(0.2, 0.25)
    rows, _ = probe(sim, conn, (60,), (50,), rng_seed=5)
    assert set(np.unique(rows)) <= {0.0, 0.25}
    assert abs((rows != 0).mean() - 0.2) < 5 * math.sqrt(0.2 * 0.8 / 3000)
    again, _ = probe(sim, conn, (60,), (50,), rng_seed=5)
    np.testing.assert_array_equal(again, rows)
    other, _ = probe(sim, conn, (60,), (50,), rng_seed=6)
    assert not np.array_equal(other, rows)


def test_initializer_weights_reproducible_given_seed(sim):
    normal, _ = probe(sim, Dense(Normal(0.5, 2.0)), (50,), (40,), rng_seed=1)
    assert abs(normal.mean() - 0.5) < 0.2 and abs(normal.std() - 2.0) < 0.2
    np.testing.assert_array_equal(probe(sim, Dense(Normal(0.5, 2.0)), (50,), (40,),
                                        rng_seed=1)[0], normal)
    assert not np.array_equal(probe(sim, Dense(Normal(0.5, 2.0)), (50,), (40,),
                                    rng_seed=2)[0], normal)
    uniform, _ = probe(sim, OneToOne(Uniform(-1.0, 1.0)), (300,), rng_seed=1)
    diag = np.diag(uniform)
    np.testing.assert_array_equal(uniform, np.diag(diag))
    assert diag.min() >= -1.0 and diag.max() < 1.0 and abs(diag.mean()) < 0.2
    np.testing.assert_array_equal(
        probe(sim, OneToOne(Uniform(-1.0, 1.0)), (300,), rng_seed=1)[0], uniform)


def test_initializers_sample_reproducibly():
    for init in (Normal(1.0, 0.5), Uniform(-2.0, 3.0)):
        a = init.sample(np.random.default_rng(9), (4, 5))
        b = init.sample(np.random.default_rng(9), (4, 5))
        assert a.shape == (4, 5)
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------- Conv2D and pooling

def same_padding(size, window, stride):
    """TensorFlow's 'same': output ceil(size/stride), extra padding at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return out, (total // 2, total - total // 2)


def conv_ref(image, kernel, strides, padding):
    """Direct cross-correlation (as Keras), float64, channels last."""
    height, width, _ = image.shape
    kh, kw, _, filters = kernel.shape
    sy, sx = strides
    if padding == "valid":
        out_h, out_w = (height - kh) // sy + 1, (width - kw) // sx + 1
        pads = ((0, 0), (0, 0))
    else:
        out_h, pad_y = same_padding(height, kh, sy)
        out_w, pad_x = same_padding(width, kw, sx)
        pads = (pad_y, pad_x)
    padded = np.pad(image.astype(np.float64), pads + ((0, 0),))
    out = np.zeros((out_h, out_w, filters))
    for oy in range(out_h):
        for ox in range(out_w):
            window = padded[oy * sy:oy * sy + kh, ox * sx:ox * sx + kw, :]
            for f in range(filters):
                out[oy, ox, f] = np.sum(window * kernel[:, :, :, f])
    return out


def pool_ref(image, pool, strides):
    height, width, channels = image.shape
    out_h, out_w = (height - pool[0]) // strides[0] + 1, (width - pool[1]) // strides[1] + 1
    out = np.zeros((out_h, out_w, channels))
    for oy in range(out_h):
        for ox in range(out_w):
            y, x = oy * strides[0], ox * strides[1]
            out[oy, ox] = image[y:y + pool[0], x:x + pool[1]].mean(axis=(0, 1))
    return out


def matrix_by_impulses(shape, operation):
    """Row i is the operation applied to the image with only element i set."""
    n = math.prod(shape)
    rows = []
    for i in range(n):
        image = np.zeros(n)
        image[i] = 1.0
        rows.append(operation(image.reshape(shape)).ravel())
    return np.array(rows)


CONV_CASES = [
    # source (h, w, c), kernel (kh, kw), filters, strides, padding
    ((5, 5, 1), (3, 3), 1, (1, 1), "valid"),
    ((6, 5, 2), (3, 2), 3, (2, 1), "valid"),
    ((7, 6, 2), (3, 3), 2, (2, 2), "valid"),
    ((5, 6, 2), (3, 3), 2, (1, 1), "same"),
    ((6, 7, 3), (2, 4), 2, (2, 2), "same"),
    ((5, 5, 1), (4, 4), 1, (3, 2), "same"),
]


def kernel_for(case, seed=10):
    (_, _, channels), (kh, kw), filters, _, _ = case
    rng = np.random.default_rng(seed)
    return (rng.integers(-8, 9, size=(kh, kw, channels, filters)) / 8).astype(F32)


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_matrix_matches_direct_correlation(case):
    source, size, filters, strides, padding = case
    kernel = kernel_for(case)
    conn = Conv2D(kernel, filters, size, conv_strides=strides, conv_padding=padding)
    expected = matrix_by_impulses(source, lambda im: conv_ref(im, kernel, strides, padding))
    target = conn.target_shape(source, None)
    assert target == conv_ref(np.zeros(source), kernel, strides, padding).shape
    matrix = conn.synapse_matrix(source, target, np.random.default_rng(0))
    assert scipy.sparse.issparse(matrix)
    np.testing.assert_array_equal(dense_of(matrix), expected.astype(F32))


@pytest.mark.parametrize("case", CONV_CASES[1::2], ids=str)
@pytest.mark.parametrize("flatten", [False, True])
def test_conv2d_end_to_end(sim, case, flatten):
    source, size, filters, strides, padding = case
    kernel = kernel_for(case, seed=11)
    images = (np.random.default_rng(12).random((3,) + source) < 0.4).astype(F32)
    conn = Conv2D(kernel, filters, size, flatten=flatten, conv_strides=strides,
                  conv_padding=padding)
    v, shape = weighted_sum_end_to_end(sim, conn, source, images)
    expected = np.stack([conv_ref(im, kernel, strides, padding) for im in images])
    assert shape == ((expected[0].size,) if flatten else expected.shape[1:])
    np.testing.assert_array_equal(v.reshape(expected.shape), expected.astype(F32))


def test_conv2d_two_dimensional_source_in_a_sequential_network(sim):
    kernel = (np.arange(8).reshape(2, 2, 1, 2) / 4).astype(F32)
    net = SequentialNetwork()
    with net:
        inp = InputLayer(BinarySpikeInput(), (4, 4))
        out = Layer(Conv2D(kernel, 2, 2, flatten=True),
                    IntegrateFire(v_thresh=NEVER, readout="var"))
    assert out.population.shape == (3 * 3 * 2,)
    images = (np.random.default_rng(13).random((2, 4, 4)) < 0.5).astype(F32)
    compiled = sim.compile(net, 2, batch_size=2)
    v = compiled.predict({inp: images}, [out], callbacks=[])[0][out]
    expected = np.stack([conv_ref(im[:, :, None], kernel, (1, 1), "valid").ravel()
                         for im in images])
    np.testing.assert_array_equal(v, expected.astype(F32))


POOL_CASES = [((4, 4, 1), (2, 2), None), ((5, 5, 2), (2, 2), None),
              ((6, 7, 3), (3, 3), (2, 2)), ((4, 6, 2), (2, 3), (1, 3))]


@pytest.mark.parametrize("source,pool,strides", POOL_CASES, ids=str)
def test_avg_pool_2d(sim, source, pool, strides):
    conn = AvgPool2D(pool, pool_strides=strides)
    effective = pool if strides is None else strides
    expected = matrix_by_impulses(source, lambda im: pool_ref(im, pool, effective))
    target = conn.target_shape(source, None)
    assert target == pool_ref(np.zeros(source), pool, effective).shape
    matrix = conn.synapse_matrix(source, target, np.random.default_rng(0))
    assert scipy.sparse.issparse(matrix)
    np.testing.assert_allclose(dense_of(matrix), expected, rtol=1e-6)
    images = (np.random.default_rng(14).random((3,) + source) < 0.5).astype(F32)
    v, shape = weighted_sum_end_to_end(sim, AvgPool2D(pool, flatten=True,
                                                      pool_strides=strides), source, images)
    assert shape == (math.prod(target),)
    np.testing.assert_allclose(v, [pool_ref(im, pool, effective).ravel() for im in images],
                               rtol=1e-6)


@pytest.mark.parametrize("source,pool,strides", POOL_CASES[1:], ids=str)
def test_avg_pool_dense_2d(sim, source, pool, strides):
    effective = pool if strides is None else strides
    pooled = pool_ref(np.zeros(source), pool, effective).shape
    weight = (np.random.default_rng(15).integers(-8, 9, size=(math.prod(pooled), 5))
              / 8).astype(F32)
    conn = AvgPoolDense2D(weight, pool, pool_strides=strides)

    def reference(image):
        return pool_ref(image, pool, effective).ravel() @ weight.astype(np.float64)

    expected = matrix_by_impulses(source, reference)
    matrix = conn.synapse_matrix(source, (5,), np.random.default_rng(0))
    np.testing.assert_allclose(dense_of(matrix), expected, rtol=1e-6, atol=1e-7)
    images = (np.random.default_rng(16).random((3,) + source) < 0.5).astype(F32)
    net = Network()
    with net:
        inp = Population(BinarySpikeInput(), source)
        out = Population(IntegrateFire(v_thresh=NEVER, readout="var"), 5)
        Connection(inp, out, conn)
    v = sim.compile(net, 2, batch_size=3).predict({inp: images}, [out], callbacks=[])[0][out]
    np.testing.assert_allclose(v, [reference(im) for im in images], rtol=1e-5, atol=1e-6)
