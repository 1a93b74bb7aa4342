"""Connectivity descriptions against (n_pre, n_post) matrices built by hand here,
and end to end: the weights the engine really delivers."""
import math

import numpy as np
import pytest
import scipy.sparse

from snnflow import Connection, InputLayer, Layer, Network, Population, SequentialNetwork
from snnflow.connectivity import (AvgPool2D, AvgPoolConv2D, AvgPoolDense2D, Conv2D,
                                  Conv2DTranspose, Dense, FixedProbability, OneToOne)
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


# ------------------------------------------------- AvgPoolConv2D, Conv2DTranspose

def avg_pool_conv_ref_matrix(source, kernel, pool, pool_strides, conv_strides, padding):
    """From the definition, in float64: source pixel (y, x, c) in the pool of pooled
    pixel (py, px) reaches output (oy, ox, f) through kernel entry (ky, kx, c, f)
    where (py, px) = (oy*sy + ky - pad_y, ox*sx + kx - pad_x), with weight
    K[ky, kx, c, f] / (pool_h * pool_w)."""
    height, width, channels = source
    kh, kw, _, filters = kernel.shape
    pooled_h = (height - pool[0]) // pool_strides[0] + 1
    pooled_w = (width - pool[1]) // pool_strides[1] + 1
    if padding == "valid":
        (out_h, pad_y), (out_w, pad_x) = ((pooled_h - kh) // conv_strides[0] + 1, 0), \
            ((pooled_w - kw) // conv_strides[1] + 1, 0)
    else:
        out_h, (pad_y, _) = same_padding(pooled_h, kh, conv_strides[0])
        out_w, (pad_x, _) = same_padding(pooled_w, kw, conv_strides[1])
    matrix = np.zeros((height * width * channels, out_h * out_w * filters))
    for oy in range(out_h):
        for ox in range(out_w):
            for ky in range(kh):
                for kx in range(kw):
                    py, px = oy * conv_strides[0] + ky - pad_y, ox * conv_strides[1] + kx - pad_x
                    if not (0 <= py < pooled_h and 0 <= px < pooled_w):
                        continue
                    for y in range(py * pool_strides[0], py * pool_strides[0] + pool[0]):
                        for x in range(px * pool_strides[1], px * pool_strides[1] + pool[1]):
                            for c in range(channels):
                                for f in range(filters):
                                    matrix[(y * width + x) * channels + c,
                                           (oy * out_w + ox) * filters + f] += \
                                        np.float64(kernel[ky, kx, c, f]) / (pool[0] * pool[1])
    return matrix, (out_h, out_w, filters)


AVG_POOL_CONV_CASES = [
    # source, pool, pool strides, kernel, filters, conv strides, padding
    ((6, 6, 1), (2, 2), None, (3, 3), 2, (1, 1), "valid"),
    ((7, 8, 2), (2, 3), (3, 3), (2, 2), 3, (1, 1), "same"),
    ((9, 9, 2), (3, 3), None, (3, 2), 2, (1, 1), "same"),
    ((10, 9, 1), (2, 2), (2, 3), (2, 2), 2, (2, 1), "valid"),
]


@pytest.mark.parametrize("case", AVG_POOL_CONV_CASES, ids=str)
def test_avg_pool_conv_2d_matches_the_definition(sim, case):
    source, pool, pool_strides, size, filters, conv_strides, padding = case
    channels = source[2]
    kernel = (np.random.default_rng(20).integers(-8, 9, size=size + (channels, filters))
              / 8).astype(F32)
    conn = AvgPoolConv2D(kernel, filters, pool, size, pool_strides=pool_strides,
                         conv_strides=conv_strides, conv_padding=padding)
    expected, out_shape = avg_pool_conv_ref_matrix(
        source, kernel, pool, pool if pool_strides is None else pool_strides, conv_strides,
        padding)
    assert conn.target_shape(source, None) == out_shape
    matrix = conn.synapse_matrix(source, out_shape, np.random.default_rng(0))
    assert scipy.sparse.issparse(matrix)
    # One kernel entry per synapse: each weight is K / (pool_h * pool_w) rounded once
    np.testing.assert_array_equal(dense_of(matrix), expected.astype(F32))
    images = (np.random.default_rng(21).random((3,) + source) < 0.5).astype(F32)
    flat = AvgPoolConv2D(kernel, filters, pool, size, flatten=True, pool_strides=pool_strides,
                         conv_strides=conv_strides, conv_padding=padding)
    v, shape = weighted_sum_end_to_end(sim, flat, source, images)
    assert shape == (math.prod(out_shape),)
    np.testing.assert_allclose(v, images.reshape(3, -1) @ expected, rtol=1e-6, atol=1e-6)


def test_avg_pool_conv_2d_initializer_weights_are_per_kernel_entry():
    conn = AvgPoolConv2D(Uniform(-1.0, 1.0), 2, 2, 2)
    matrix = dense_of(conn.synapse_matrix((6, 6, 1), (2, 2, 2), np.random.default_rng(3)))
    kernel = Uniform(-1.0, 1.0).sample(np.random.default_rng(3), (2, 2, 1, 2))
    expected, _ = avg_pool_conv_ref_matrix((6, 6, 1), kernel, (2, 2), (2, 2), (1, 1), "valid")
    np.testing.assert_array_equal(matrix, expected.astype(F32))


def conv_transpose_ref_matrix(source, kernel, strides, padding):
    """From the definition (mlGeNN's), in float64: input (iy, ix, c) reaches output
    (iy*sy - pad_y + ky, ix*sx - pad_x + kx, f) with K[ky, kx, f, c]. Output size
    H*s + max(k - s, 0) ("valid") or H*s ("same", padded as a convolution of the
    input would be: max(k - s, 0) // 2, or max(k - H % s, 0) // 2 when s does not
    divide H)."""
    height, width, channels = source
    kh, kw, filters, _ = kernel.shape
    sizes = []
    for size, k, s in ((height, kh, strides[0]), (width, kw, strides[1])):
        if padding == "valid":
            sizes.append((size * s + max(k - s, 0), 0))
        else:
            remainder = size % s
            sizes.append((size * s, max(k - (s if remainder == 0 else remainder), 0) // 2))
    (out_h, pad_y), (out_w, pad_x) = sizes
    matrix = np.zeros((height * width * channels, out_h * out_w * filters))
    for iy in range(height):
        for ix in range(width):
            for ky in range(kh):
                for kx in range(kw):
                    oy, ox = iy * strides[0] - pad_y + ky, ix * strides[1] - pad_x + kx
                    if not (0 <= oy < out_h and 0 <= ox < out_w):
                        continue
                    for c in range(channels):
                        for f in range(filters):
                            matrix[(iy * width + ix) * channels + c,
                                   (oy * out_w + ox) * filters + f] += kernel[ky, kx, f, c]
    return matrix, (out_h, out_w, filters)


CONV_TRANSPOSE_CASES = [
    # source, kernel, filters, strides, padding
    ((3, 3, 1), (3, 3), 1, (1, 1), "valid"),
    ((3, 4, 2), (3, 2), 3, (2, 2), "valid"),
    ((4, 3, 2), (2, 2), 2, (3, 2), "valid"),   # kernel smaller than the stride
    ((4, 4, 2), (3, 3), 2, (2, 2), "same"),
    ((5, 3, 1), (4, 3), 2, (2, 1), "same"),   # 2 does not divide 5
    ((3, 3, 3), (5, 4), 1, (1, 1), "same"),
]


@pytest.mark.parametrize("case", CONV_TRANSPOSE_CASES, ids=str)
def test_conv_2d_transpose_matches_the_definition(sim, case):
    source, size, filters, strides, padding = case
    kernel = (np.random.default_rng(22).integers(-8, 9, size=size + (filters, source[2]))
              / 8).astype(F32)
    conn = Conv2DTranspose(kernel, filters, size, conv_strides=strides, conv_padding=padding)
    expected, out_shape = conv_transpose_ref_matrix(source, kernel, strides, padding)
    assert conn.target_shape(source, None) == out_shape
    matrix = conn.synapse_matrix(source, out_shape, np.random.default_rng(0))
    assert scipy.sparse.issparse(matrix)
    np.testing.assert_array_equal(dense_of(matrix), expected.astype(F32))
    images = (np.random.default_rng(23).random((3,) + source) < 0.5).astype(F32)
    v, shape = weighted_sum_end_to_end(sim, conn, source, images)
    assert shape == out_shape
    np.testing.assert_array_equal(v.reshape(3, -1), (images.reshape(3, -1) @ expected)
                                  .astype(F32))


@pytest.mark.parametrize("case", CONV_CASES[:3], ids=str)
def test_conv_2d_transpose_is_the_transposed_convolution(case):
    """With valid padding, a transposed convolution's matrix is the transpose of the
    convolution from its output back to its input, with the same kernel read as
    (kh, kw, filters -> in_channels)."""
    conv_source, size, filters, strides, _ = case
    kernel = kernel_for(case, seed=24)            # (kh, kw, C, F) of the convolution
    conv = Conv2D(kernel, filters, size, conv_strides=strides)
    conv_out = conv.target_shape(conv_source, None)
    # The convolution's output, (oh, ow, F), is the transposed convolution's input;
    # its kernel (kh, kw, C, F) is laid out (kh, kw, filters=C, in_channels=F)
    transpose = Conv2DTranspose(kernel, conv_source[2], size, conv_strides=strides)
    out = transpose.target_shape(conv_out, None)
    forward = dense_of(conv.synapse_matrix(conv_source, conv_out, np.random.default_rng(0)))
    backward = dense_of(transpose.synapse_matrix(conv_out, out, np.random.default_rng(0)))
    # The two images differ in size where a stride leaves rows or columns over
    # (the convolution never reads them, mlGeNN's H*s + max(k - s, 0) may add
    # some): those are unconnected, the common part is the transpose
    common = (min(out[0], conv_source[0]), min(out[1], conv_source[1]))
    in_conv = np.arange(math.prod(conv_source)).reshape(conv_source)[:common[0], :common[1]]
    in_transpose = np.arange(math.prod(out)).reshape(out)[:common[0], :common[1]]
    np.testing.assert_array_equal(backward[:, in_transpose.ravel()],
                                  forward[in_conv.ravel()].T)
    assert not np.delete(backward, in_transpose.ravel(), axis=1).any()
    assert not np.delete(forward, in_conv.ravel(), axis=0).any()


def test_conv_2d_transpose_two_dimensional_source_flattened():
    kernel = np.arange(12, dtype=F32).reshape(2, 3, 2, 1) / 4
    conn = Conv2DTranspose(kernel, 2, (2, 3), flatten=True, conv_strides=2)
    assert conn.target_shape((3, 2), None) == (6 * 5 * 2,)
    expected, _ = conv_transpose_ref_matrix((3, 2, 1), kernel, (2, 2), "valid")
    np.testing.assert_array_equal(
        dense_of(conn.synapse_matrix((3, 2), (60,), np.random.default_rng(0))), expected)


@pytest.mark.parametrize("make,target,match", [
    (lambda: Conv2DTranspose(np.ones((3, 3, 2, 1)), 2, 3), (6, 6, 2),
     r"Conv2DTranspose connection Conv0: target shape \(6, 6, 2\) does not match .* "
     r"output shape \(8, 8, 2\)"),
    (lambda: Conv2DTranspose(np.ones((3, 3, 1, 2)), 2, 3), None,
     r"Conv2DTranspose weight of connection Conv0 has shape \(3, 3, 1, 2\), expected "
     r"\(3, 3, 2, 1\)"),
    (lambda: AvgPoolConv2D(np.ones((3, 3, 1, 2)), 2, 2, 3), (3, 3, 2),
     r"AvgPoolConv2D connection Conv0: target shape \(3, 3, 2\) does not match .* "
     r"output shape \(1, 1, 2\)"),
    (lambda: AvgPoolConv2D(np.ones((3, 3, 2, 1)), 2, 2, 3), None,
     r"AvgPoolConv2D weight of connection Conv0 has shape \(3, 3, 2, 1\), expected "
     r"\(3, 3, 1, 2\)"),
    (lambda: AvgPoolConv2D(1.0, 1, 2, 5), None, r"5, 5\) kernel does not fit in the 3x3"),
    (lambda: Conv2DTranspose(1.0, 1, 3, delay=np.zeros((3, 3))), None,
     r"Conv2DTranspose delay of connection Conv0 has shape \(3, 3\), expected "
     r"\(3, 3, 1, 1\)"),
], ids=["transpose_target", "transpose_kernel", "pool_conv_target", "pool_conv_kernel",
        "pool_conv_too_small", "transpose_delay"])
def test_bad_shapes_are_refused_naming_connection_and_shapes(make, target, match):
    net = Network()
    with net:
        source = Population(SpikeInput(), (6, 6, 1))
        out = Population(IntegrateFire(), target)
        with pytest.raises(ValueError, match=match):
            Connection(source, out, make(), name="Conv0")
    assert net.connections == []


def test_avg_pool_conv_2d_refuses_overlapping_pools():
    with pytest.raises(ValueError, match=r"pool_strides \(1, 1\) smaller than pool_size"):
        AvgPoolConv2D(1.0, 1, 2, 3, pool_strides=1)


# ------------------------------------------------------- FixedProbability and self

def conn_weights(sim, net, conn, rng_seed=0):
    return sim.compile(net, 1, rng_seed=rng_seed).engine.get_conn_var(conn, "weight")


def test_fixed_probability_never_connects_a_neuron_to_itself_unless_allowed(sim):
    net = Network()
    with net:
        pop = Population(IntegrateFire(), 40)
        other = Population(IntegrateFire(), 40)
        full_self = Connection(pop, pop, FixedProbability(1.0, 2.0))
        allowed_self = Connection(pop, pop, FixedProbability(1.0, 2.0,
                                                             allow_self_connections=True))
        half_self = Connection(pop, pop, FixedProbability(0.5, 1.0))
        between = Connection(pop, other, FixedProbability(1.0, 1.0))
    np.testing.assert_array_equal(conn_weights(sim, net, full_self),
                                  2.0 * (1 - np.eye(40, dtype=F32)))
    np.testing.assert_array_equal(conn_weights(sim, net, allowed_self), np.full((40, 40), 2.0))
    # Between two populations the "diagonal" is an ordinary pair
    np.testing.assert_array_equal(conn_weights(sim, net, between), np.ones((40, 40)))
    half = conn_weights(sim, net, half_self) != 0
    assert not np.diag(half).any()
    off_diagonal = half[~np.eye(40, dtype=bool)]
    sigma = math.sqrt(0.25 / off_diagonal.size)
    assert abs(off_diagonal.mean() - 0.5) < 5 * sigma


def test_fixed_probability_self_connection_diagonal_appears_when_allowed():
    conn = FixedProbability(0.5, 1.0, allow_self_connections=True)
    diagonals = [np.diag(dense_of(conn.synapse_matrix((50,), (50,), np.random.default_rng(s),
                                                      self_connection=True)))
                 for s in range(4)]
    assert 0.3 < np.mean(diagonals) < 0.7
    refused = FixedProbability(0.5, 1.0)
    assert not np.diag(dense_of(refused.synapse_matrix(
        (50,), (50,), np.random.default_rng(0), self_connection=True))).any()


def test_fixed_probability_refuses_arrays():
    with pytest.raises(TypeError, match="weight must be a scalar or an Initializer"):
        FixedProbability(0.5, np.ones(3))
    with pytest.raises(TypeError, match="delay must be a scalar or an Initializer"):
        FixedProbability(0.5, 1.0, delay=[1, 2])


def test_mlgenn_argument_order():
    # mlGeNN's positional order: AvgPoolDense2D(weight, pool_size, pool_strides, delay)
    conn = AvgPoolDense2D(1.0, 2, 3, 4)
    assert (conn.pool_strides, conn.delay) == ((3, 3), 4)
    conn = AvgPoolConv2D(1.0, 2, 3, 4, True, 5, 2, "same", 6)
    assert (conn.filters, conn.pool_size, conn.conv_size, conn.flatten, conn.pool_strides,
            conn.conv_strides, conn.conv_padding, conn.delay) == \
        (2, (3, 3), (4, 4), True, (5, 5), (2, 2), "same", 6)
    conn = Conv2DTranspose(1.0, 2, 3, True, 2, "same", 1)
    assert (conn.flatten, conn.conv_strides, conn.conv_padding, conn.delay) == \
        (True, (2, 2), "same", 1)
    assert FixedProbability(0.1, 1.0, True, 2).allow_self_connections
    assert AvgPool2D(2).weight == 0.25
