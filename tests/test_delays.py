"""Synaptic delays (GeNN's semantics): a spike emitted in step t through a synapse
of delay d reaches the target's input accumulator in the delivery of step t + 1 + d.
References are written here from that definition."""
import numpy as np
import pytest

from snnflow import Connection, InputLayer, Layer, Network, Population, SequentialNetwork
from snnflow.backends.numpy.propagation import DelayedPropagator, Propagator
from snnflow.compilers import InferenceCompiler
from snnflow.connectivity import (AvgPool2D, AvgPoolConv2D, AvgPoolDense2D, Conv2D,
                                  Conv2DTranspose, Dense, FixedProbability, OneToOne)
from snnflow.initializers import Normal, Uniform
from snnflow.neurons import IntegrateFire, SpikeInput
from snnflow.synapses import Exponential

F32 = np.float32
NEVER = 1e9


def integrator_net(source_shape, n_post, connectivity, **options):
    """SpikeInput -> IntegrateFire that never spikes: V is the sum of every input."""
    net = Network()
    with net:
        inp = Population(SpikeInput(max_spikes=100_000), source_shape)
        out = Population(IntegrateFire(v_thresh=NEVER, readout="var"), n_post)
        conn = Connection(inp, out, connectivity, **options)
    return net, inp, out, conn


def random_raster(rng, num_examples, steps, n, rate=0.2):
    """(examples, steps, n) bool, and the spike trains that replay it."""
    raster = rng.random((num_examples, steps, n)) < rate
    trains = [{i: [float(t) for t in np.flatnonzero(raster[e, :, i])] for i in range(n)}
              for e in range(num_examples)]
    return raster, trains


def delayed_input_reference(raster, weight, delay):
    """float64 input arriving in each step: (examples, steps, n_post). A spike of
    neuron i in step s adds weight[i, j] to target j in step s + 1 + delay[i, j]."""
    num_examples, steps, n_pre = raster.shape
    arriving = np.zeros((num_examples, steps, weight.shape[1]))
    for e in range(num_examples):
        for s in range(steps):
            for i in np.flatnonzero(raster[e, s]):
                for j in range(weight.shape[1]):
                    t = s + 1 + delay[i, j]
                    if t < steps:
                        arriving[e, t, j] += weight[i, j]
    return arriving


# ----------------------------------------------------------------- hand-worked

@pytest.mark.parametrize("delay", [0, 3])
def test_one_spike_arrives_delay_plus_one_steps_later(sim, delay):
    net, inp, out, _ = integrator_net(1, 1, Dense(0.5, delay=delay))
    compiled = sim.compile(net, 10)
    trace = sim.trace(compiled, {inp: sim.trains([{0: [2.0]}], 1)}, [inp, out], 10)
    assert np.flatnonzero(trace[inp]["spikes"][:, 0, 0]).tolist() == [2]
    expected = np.zeros(10, F32)
    expected[2 + 1 + delay:] = 0.5          # delay 3: step 6, four steps after the spike
    np.testing.assert_array_equal(trace[out]["v"][:, 0, 0], expected)


def test_each_synapse_has_its_own_delay(sim):
    # neuron 0 -> targets with delays 0, 1, 4; neuron 1 -> delays 2, 0, 4
    weight = np.array([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]], F32)
    delay = np.array([[0, 1, 4], [2, 0, 4]])
    net, inp, out, _ = integrator_net(2, 3, Dense(weight, delay=delay))
    trace = sim.trace(sim.compile(net, 9), {inp: sim.trains([{0: [1.0], 1: [2.0]}], 2)},
                      [out], 9)
    steps_of_change = [np.flatnonzero(np.diff(trace[out]["v"][:, 0, j], prepend=0)).tolist()
                       for j in range(3)]
    # spikes in steps 1 and 2: target 1 gets both in step 3 (1 + 1 + 1 = 2 + 1 + 0)
    assert steps_of_change == [[2, 5], [3], [6, 7]]
    np.testing.assert_array_equal(trace[out]["v"][-1, 0], weight.sum(axis=0))


def test_exponential_synapse_starts_when_the_spike_arrives(sim):
    net, inp, out, _ = integrator_net(1, 1, OneToOne(1.0, delay=2), synapse=Exponential(4.0))
    trace = sim.trace(sim.compile(net, 8), {inp: sim.trains([{0: [0.0]}], 1)}, [out], 8)
    v = trace[out]["v"][:, 0, 0]
    assert (v[:3] == 0).all() and v[3] == 1.0 and (np.diff(v[3:]) > 0).all()


# ------------------------------------------------------ against a float64 loop

@pytest.mark.parametrize("batch_size", [1, 4])
def test_random_per_synapse_delays_match_the_reference_loop(sim, batch_size):
    rng = np.random.default_rng(30)
    n_pre, n_post, steps = 9, 7, 25
    # Eighths: every float32 sum below is exact, so the engine must equal the loop
    weight = rng.integers(-8, 9, (n_pre, n_post)) / 8
    delay = rng.integers(0, 7, (n_pre, n_post))
    raster, trains = random_raster(rng, 5, steps, n_pre)
    net, inp, out, _ = integrator_net(n_pre, n_post, Dense(weight, delay=delay))
    compiled = sim.compile(net, steps, batch_size=batch_size)
    v = sim.trace(compiled, {inp: sim.trains(trains, n_pre)}, [out], steps)[out]["v"]
    expected = np.cumsum(delayed_input_reference(raster, weight, delay), axis=1)
    np.testing.assert_array_equal(v.transpose(1, 0, 2), expected.astype(F32))


def test_random_delays_with_arbitrary_weights_stay_within_float32_rounding(sim):
    rng = np.random.default_rng(31)
    n_pre, n_post, steps = 30, 12, 40
    weight = rng.normal(0.0, 0.4, (n_pre, n_post))
    delay = rng.integers(0, 12, (n_pre, n_post))
    raster, trains = random_raster(rng, 3, steps, n_pre, rate=0.3)
    net, inp, out, _ = integrator_net(n_pre, n_post, Dense(weight, delay=delay))
    compiled = sim.compile(net, steps, batch_size=3)
    v = sim.trace(compiled, {inp: sim.trains(trains, n_pre)}, [out], steps)[out]["v"]
    expected = np.cumsum(delayed_input_reference(raster, weight.astype(F32), delay), axis=1)
    np.testing.assert_allclose(v.transpose(1, 0, 2), expected, rtol=0, atol=2e-5)


@pytest.mark.parametrize("make", [
    lambda w, d: Dense(w, delay=d),
    lambda w, d: FixedProbability(0.5, 1.0, delay=Uniform(0.0, 6.0)),
], ids=["array", "initializer"])
def test_sparse_and_drawn_delays_match_their_synapses(sim, make):
    """Whatever the connectivity, delivery follows the delays it expands to."""
    rng = np.random.default_rng(32)
    n_pre, n_post, steps = 10, 8, 20
    weight = rng.integers(1, 9, (n_pre, n_post)) / 8
    connectivity = make(weight, rng.integers(0, 6, (n_pre, n_post)))
    net, inp, out, conn = integrator_net(n_pre, n_post, connectivity, max_delay_steps=6)
    synapses = connectivity.synapses((n_pre,), (n_post,), np.random.default_rng(0))
    dense_weight = synapses.matrix if isinstance(synapses.matrix, np.ndarray) else \
        synapses.matrix.toarray()
    dense_delay = np.zeros((n_pre, n_post), dtype=np.int64)
    if isinstance(synapses.matrix, np.ndarray):
        dense_delay[...] = synapses.delays
    else:
        coo = synapses.matrix.tocoo()
        dense_delay[coo.row, coo.col] = synapses.delays
        assert len(np.unique(synapses.delays)) == 6   # truncated draws: 0..5
    raster, trains = random_raster(rng, 2, steps, n_pre)
    compiled = sim.compile(net, steps, batch_size=2, rng_seed=0)
    v = sim.trace(compiled, {inp: sim.trains(trains, n_pre)}, [out], steps)[out]["v"]
    expected = np.cumsum(delayed_input_reference(raster, dense_weight, dense_delay), axis=1)
    np.testing.assert_array_equal(v.transpose(1, 0, 2), expected.astype(F32))


def test_conv_2d_kernel_delays_are_shared_by_every_position(sim):
    rng = np.random.default_rng(33)
    kernel = rng.integers(-4, 5, (2, 2, 1, 2)) / 4
    kernel_delay = rng.integers(0, 4, (2, 2, 1, 2))
    conn = Conv2D(kernel, 2, 2, delay=kernel_delay)
    synapses = conn.synapses((4, 4, 1), (3, 3, 2), np.random.default_rng(0))
    coo = synapses.matrix.tocoo()
    delay = np.full((16, 18), -1)
    delay[coo.row, coo.col] = synapses.delays
    weight = coo.toarray()
    # Target (oy, ox, f) hears source (oy + ky, ox + kx) with kernel entry (ky, kx, 0, f)
    for oy in range(3):
        for ox in range(3):
            for ky in range(2):
                for kx in range(2):
                    for f in range(2):
                        pre, post = (oy + ky) * 4 + ox + kx, (oy * 3 + ox) * 2 + f
                        assert delay[pre, post] == kernel_delay[ky, kx, 0, f]
                        assert weight[pre, post] == F32(kernel[ky, kx, 0, f])
    raster, trains = random_raster(rng, 2, 15, 16, rate=0.3)
    net, inp, out, _ = integrator_net((4, 4, 1), None, conn)
    v = sim.trace(sim.compile(net, 15, batch_size=2), {inp: sim.trains(trains, 16)}, [out],
                  15)[out]["v"]
    expected = np.cumsum(delayed_input_reference(raster, weight, np.maximum(delay, 0)), axis=1)
    np.testing.assert_array_equal(v.transpose(1, 0, 2).reshape(expected.shape),
                                  expected.astype(F32))


@pytest.mark.parametrize("connectivity,source,target", [
    (OneToOne(1.0, delay=np.arange(6) % 3), (6,), (6,)),
    (AvgPool2D(2, delay=2), (4, 4, 1), (2, 2, 1)),
    (AvgPoolDense2D(np.ones((4, 3)), 2, delay=np.arange(12).reshape(4, 3) % 5), (4, 4, 1), (3,)),
    (AvgPoolConv2D(np.ones((2, 2, 1, 2)), 2, 2, 2, delay=np.arange(8).reshape(2, 2, 1, 2)),
     (6, 6, 1), (2, 2, 2)),
    (Conv2DTranspose(np.ones((2, 2, 2, 1)), 2, 2, delay=Normal(4.0, 1.0)), (2, 2, 1),
     (3, 3, 2)),
], ids=["one_to_one", "avg_pool", "avg_pool_dense", "avg_pool_conv", "conv_transpose"])
def test_every_connectivity_carries_delays(connectivity, source, target):
    """Delays sit on the synapses of the weights (same layout, same pairs)."""
    synapses = connectivity.synapses(source, target, np.random.default_rng(0))
    without = type(connectivity).__new__(type(connectivity))
    without.__dict__.update(vars(connectivity), delay=0)
    plain = without.synapses(source, target, np.random.default_rng(0))
    if isinstance(synapses.matrix, np.ndarray):
        np.testing.assert_array_equal(synapses.matrix, plain.matrix)
    else:
        assert (synapses.matrix != plain.matrix).nnz == 0
        np.testing.assert_array_equal(synapses.matrix.indices, plain.matrix.indices)
    assert plain.delays == 0
    assert synapses.max_delay > 0


def test_avg_pool_dense_delay_follows_the_pool():
    delay = np.array([[1, 2], [3, 4], [5, 6], [7, 8]])
    synapses = AvgPoolDense2D(1.0, 2, delay=delay).synapses((4, 4, 1), (2,),
                                                            np.random.default_rng(0))
    pool_of = (np.arange(4)[:, None] // 2 * 2 + np.arange(4)[None, :] // 2).ravel()
    np.testing.assert_array_equal(synapses.delays, delay[pool_of])


# --------------------------------------------------- batches and example independence

def delayed_network(rng, max_delay_steps=None):
    net = Network()
    with net:
        inp = Population(SpikeInput(max_spikes=100_000), 12)
        hid = Population(IntegrateFire(v_thresh=1.0), 10)
        out = Population(IntegrateFire(v_thresh=NEVER, readout="var"), 4)
        Connection(inp, hid, Dense(rng.normal(0.3, 0.4, (12, 10)),
                                   delay=rng.integers(0, 8, (12, 10))),
                   synapse=Exponential(3.0))
        Connection(hid, hid, FixedProbability(0.3, 0.2, delay=Uniform(0.0, 5.0)),
                   max_delay_steps=5)
        Connection(hid, out, Dense(rng.normal(0.0, 0.5, (10, 4)), delay=3))
    return net, inp, out


def test_results_do_not_depend_on_the_batch_size(sim):
    rng = np.random.default_rng(34)
    net, inp, out = delayed_network(rng)
    _, trains = random_raster(rng, 10, 30, 12, rate=0.25)
    x = sim.trains(trains, 12)
    one = sim.compile(net, 30, batch_size=1).predict({inp: x}, [out], callbacks=[])[0][out]
    seven = sim.compile(net, 30, batch_size=7).predict({inp: x}, [out], callbacks=[])[0][out]
    np.testing.assert_array_equal(seven, one)
    assert np.ptp(one) > 1.0


def test_delayed_spikes_never_reach_the_next_batch(sim):
    # Example 0 spikes in the last steps through delays longer than what is left;
    # example 1 has no spikes: with batches of one it must see nothing at all
    net, inp, out, _ = integrator_net(1, 1, Dense(1.0, delay=4))
    x = sim.trains([{0: [7.0, 8.0, 9.0]}, {}], 1)
    compiled = sim.compile(net, 10, batch_size=1)
    v = compiled.predict({inp: x}, [out], callbacks=[])[0][out]
    assert v.tolist() == [[0.0], [0.0]]
    # The same spikes early enough do arrive
    early = compiled.predict({inp: sim.trains([{0: [1.0, 2.0]}], 1)}, [out], callbacks=[])
    assert early[0][out].tolist() == [[2.0]]


@pytest.mark.parametrize("reset_in_syn", [False, True])
def test_kept_state_keeps_spikes_in_flight_unless_in_syn_is_reset(sim, reset_in_syn):
    """reset_vars_between_batches=False (equal batches): spikes on their way carry
    on into the next batch, as GeNN's delay buffer does; reset_in_syn clears those
    already in the delay line, but the last step's spikes still leave in the next
    batch's step 0."""
    net, inp, out, _ = integrator_net(1, 1, Dense(1.0, delay=3))
    compiler = InferenceCompiler(evaluate_timesteps=6, batch_size=1,
                                 reset_vars_between_batches=False,
                                 reset_in_syn_between_batches=reset_in_syn)
    compiled = compiler.compile(net)
    x = sim.trains([{0: [1.0, 3.0, 5.0]}, {}], 1)
    v = compiled.predict({inp: x}, [out], callbacks=[])[0][out]
    # Batch 0 receives spike 1 (in step 5); at its end spike 3 is in the delay
    # line, spike 5 (the last step's) has not left yet
    assert v[0].tolist() == [1.0]
    assert v[1].tolist() == ([2.0] if reset_in_syn else [3.0])


def test_reset_in_syn_custom_update_forgets_the_delay_line(sim):
    net, inp, out, _ = integrator_net(1, 1, Dense(1.0, delay=3))
    for reset in (False, True):
        compiled = sim.compile(net, 10)
        # The spike of step 1 enters the delay line in step 2, arrives in step 5
        sim.trace(compiled, {inp: sim.trains([{0: [1.0]}], 1)}, [out], 3)
        if reset:
            compiled.custom_update("ResetInSyn")
        for _ in range(7):
            compiled.engine.step()
        assert compiled.engine.get_var(out, "v").tolist() == [[0.0 if reset else 1.0]]


def test_zero_delays_keep_the_plain_delivery(sim):
    rng = np.random.default_rng(35)
    net = Network()
    with net:
        inp = Population(SpikeInput(), 4)
        out = Population(IntegrateFire(), 3)
        Connection(inp, out, Dense(rng.normal(size=(4, 3))))
        Connection(inp, out, Dense(1.0, delay=np.zeros((4, 3))), max_delay_steps=5)
        Connection(inp, out, Dense(1.0, delay=2))
        Connection(inp, out, FixedProbability(0.5, 1.0, delay=Uniform(0.0, 0.9)),
                   max_delay_steps=3)
    kinds = [type(c.propagator) for c in sim.compile(net, 1).engine.conns]
    assert kinds == [Propagator, Propagator, DelayedPropagator, Propagator]


def test_layers_take_max_delay_steps(sim):
    net = SequentialNetwork()
    with net:
        InputLayer(SpikeInput(), 3)
        layer = Layer(Dense(1.0, delay=Uniform(0.0, 3.0)), IntegrateFire(), 2, max_delay_steps=3)
    assert layer.connection.max_delay_steps == 3
    sim.compile(net, 1)


# ----------------------------------------------------------------------- errors

@pytest.mark.parametrize("connectivity,options,error,match", [
    (Dense(1.0, delay=-1), {}, ValueError,
     r"Dense delay of connection Bad must be >= 0 timesteps, got -1"),
    (Dense(1.0, delay=np.array([[0, 2, -3]] * 2)), {}, ValueError,
     r"Dense delay of connection Bad must be >= 0 timesteps, got -3"),
    (Dense(1.0, delay=5), {"max_delay_steps": 4}, ValueError,
     r"Dense delay of connection Bad reaches 5 timesteps, beyond the connection's "
     r"max_delay_steps=4"),
    (OneToOne(1.0, delay=np.array([0, 1, 6])), {"max_delay_steps": 5}, ValueError,
     r"OneToOne delay of connection Bad reaches 6 timesteps, beyond .*max_delay_steps=5"),
    (Dense(1.0, delay=Uniform(0.0, 4.0)), {}, ValueError,
     r"Dense delay of connection Bad is drawn from Uniform\(.*give the Connection a "
     r"max_delay_steps"),
    (Dense(1.0, delay="normal"), {}, ValueError, r"Dense delay of connection Bad is drawn"),
    (Dense(1.0, delay=1.5), {}, ValueError,
     r"Dense delay of connection Bad must be a whole number of timesteps, got 1.5"),
    (Dense(1.0, delay=np.zeros((3, 2))), {}, ValueError,
     r"Dense delay of connection Bad has shape \(3, 2\), expected \(2, 3\)"),
    (OneToOne(1.0, delay=np.zeros(2)), {}, ValueError,
     r"OneToOne delay of connection Bad has shape \(2,\), expected \(3,\)"),
], ids=["negative", "negative_array", "beyond_max", "array_beyond_max",
        "initializer_without_max", "named_initializer_without_max", "fraction", "dense_shape",
        "one_to_one_shape"])
def test_bad_delays_are_refused_when_the_connection_is_made(connectivity, options, error,
                                                           match):
    net = Network()
    with net:
        inp = Population(SpikeInput(), 3 if isinstance(connectivity, OneToOne) else 2)
        out = Population(IntegrateFire(), 3)
        with pytest.raises(error, match=match):
            Connection(inp, out, connectivity, name="Bad", **options)
    assert net.connections == []


def test_delays_that_cannot_vary_are_refused():
    with pytest.raises(TypeError, match="AvgPool2D: delay must be a number"):
        AvgPool2D(2, delay=np.ones((2, 2)))
    with pytest.raises(TypeError, match="AvgPool2D: delay must be a number"):
        AvgPool2D(2, delay=Uniform(0.0, 2.0))
    net = Network()
    with net:
        inp = Population(SpikeInput(), (4, 4, 1))
        out = Population(IntegrateFire(), 2)
        with pytest.raises(ValueError, match=r"AvgPoolDense2D connection Bad: with pool_strides "
                                             r"\(1, 1\) smaller than pool_size \(2, 2\).*must "
                                             r"be one number"):
            Connection(inp, out, AvgPoolDense2D(1.0, 2, pool_strides=1, delay=np.ones((9, 2))),
                       name="Bad")
        Connection(inp, out, AvgPoolDense2D(1.0, 2, pool_strides=1, delay=2))


@pytest.mark.parametrize("delay,match", [
    (Uniform(0.0, 9.0), r"Dense delay of connection Drawn: Uniform\(.*\) drew 8 timesteps, "
                        r"beyond the connection's max_delay_steps=5"),
    (Normal(0.0, 3.0), r"Dense delay of connection Drawn: Normal\(.*\) drew -\d+ timesteps; "
                       r"delays must be >= 0"),
])
def test_drawn_delays_out_of_range_are_refused_at_build(sim, delay, match):
    net = Network()
    with net:
        inp = Population(SpikeInput(), 20)
        out = Population(IntegrateFire(), 20)
        Connection(inp, out, Dense(1.0, delay=delay), name="Drawn", max_delay_steps=5)
    with pytest.raises(ValueError, match=match):
        sim.compile(net, 1)


def test_delays_set_after_the_connection_are_checked_at_build(sim):
    net, _, _, conn = integrator_net(2, 2, Dense(1.0))
    conn.connectivity.delay = Uniform(0.0, 2.0)
    with pytest.raises(ValueError, match="Dense delay of connection Conn0 is drawn"):
        sim.compile(net, 1)
