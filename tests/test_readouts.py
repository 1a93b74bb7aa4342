"""Readouts against values derived from a float32 reference trace: spike_count,
first_spike_time (negated ms of the first spike, -float32 max without one), var
(V at the end of the example, after the last step's reset), avg_var (adds
float32(1/T) * V each step), sum_var and max_var (from 0); and the metrics built on
them. As mlGeNN's, the accumulating readouts of a spiking neuron see V after the
update and the threshold test but before the reset."""
import numpy as np
import pytest

from snnflow import Connection, Network, Population
from snnflow.compilers import InferenceCompiler
from snnflow.connectivity import Dense
from snnflow.neurons import IntegrateFire, LeakyIntegrate, SpikeInput

F32 = np.float32
F32_MAX = np.finfo(np.float32).max

W_IN = np.array([[0.5, 0.25, 0.0], [0.375, 0.625, 0.0], [-0.125, 0.75, 0.0]], F32)
W_OUT = np.array([[1.0, -0.5], [0.25, 0.75], [2.0, 2.0]], F32)
TAU_MEM, BIAS = 10.0, np.array([0.0, -0.0625], F32)
V_RESET = -0.25
VALUE_READOUTS = ("var", "avg_var", "sum_var", "max_var")


def build():
    """SpikeInput(3) -> IntegrateFire(3) (third neuron unreachable, never fires)
    -> LeakyIntegrate(2); one population per readout, all fed the same way. The
    hidden IntegrateFire layer also has one population per readout on V."""
    net = Network()
    pops = {}
    with net:
        inp = Population(SpikeInput(), 3)
        for readout in ("spike_count", "first_spike_time") + VALUE_READOUTS:
            key = readout if readout in ("spike_count", "first_spike_time") else \
                "hidden_" + readout
            pops[key] = Population(IntegrateFire(v_thresh=1.0, v_reset=V_RESET,
                                                 readout=readout), 3)
            Connection(inp, pops[key], Dense(W_IN))
        for readout in VALUE_READOUTS:
            pops[readout] = Population(LeakyIntegrate(tau_mem=TAU_MEM, bias=BIAS,
                                                      readout=readout), 2)
            Connection(pops["spike_count"], pops[readout], Dense(W_OUT))
    return net, inp, pops


def reference(sim, examples, steps, dt):
    """Per step (steps, examples, n), float32: hidden spikes, hidden V after the
    update (before the reset) and after the reset, and output V."""
    raster = sim.raster(examples, 3, steps, dt)
    alpha = np.exp(-dt / np.float64(TAU_MEM)).astype(F32)
    hidden = np.zeros((steps, len(examples), 3), bool)
    hidden_pre = np.zeros((steps, len(examples), 3), F32)
    hidden_post = np.zeros((steps, len(examples), 3), F32)
    out_v = np.zeros((steps, len(examples), 2), F32)
    for e in range(len(examples)):
        v, o = np.zeros(3, F32), np.zeros(2, F32)
        for t in range(steps):
            if t:
                v = v + raster[t - 1, e].astype(F32) @ W_IN
                o = alpha * o + hidden[t - 1, e].astype(F32) @ W_OUT + BIAS
            else:
                o = alpha * o + BIAS
            hidden[t, e] = v >= F32(1.0)
            hidden_pre[t, e] = v
            # IntegrateFire's reset is absolute
            v = np.where(hidden[t, e], F32(V_RESET), v)
            hidden_post[t, e] = v
            out_v[t, e] = o
    return hidden, hidden_pre, hidden_post, out_v


def value_readouts(pre, post, steps):
    """var, avg_var, sum_var, max_var from V before the reset (pre) and after it
    (post), (steps, examples, n), accumulated in float32 as mlGeNN does."""
    scale = F32(1.0 / steps)  # 1/T in double, rounded to float32
    avg = np.zeros(pre.shape[1:], F32)
    total = np.zeros(pre.shape[1:], F32)
    peak = np.zeros(pre.shape[1:], F32)  # max_var starts at 0
    for t in range(steps):
        avg = avg + scale * pre[t]
        total = total + pre[t]
        peak = np.maximum(peak, pre[t])
    return {"var": post[-1], "avg_var": avg, "sum_var": total, "max_var": peak}


@pytest.mark.parametrize("dt", [1.0, 0.5])
def test_readouts_against_reference(sim, dt):
    steps = 25
    rng = np.random.default_rng(20)
    examples = [{n: sorted(rng.uniform(0, steps * dt * 0.8, 8).tolist()) for n in range(3)}
                for _ in range(4)]
    examples.append({})  # no input at all
    net, inp, pops = build()
    compiled = sim.compile(net, steps, dt=dt, batch_size=2)
    with compiled:
        y, _ = compiled.predict({inp: sim.trains(examples, 3)}, list(pops.values()),
                                callbacks=[])
    hidden, hidden_pre, hidden_post, out_v = reference(sim, examples, steps, dt)
    assert hidden.any() and not hidden[:, :, 2].any()

    np.testing.assert_array_equal(y[pops["spike_count"]], hidden.sum(axis=0))
    first = np.full((len(examples), 3), -F32_MAX, F32)
    for e in range(len(examples)):
        for n in range(3):
            fired = np.flatnonzero(hidden[:, e, n])
            if len(fired):
                first[e, n] = -(F32(fired[0]) * F32(dt))
    np.testing.assert_array_equal(y[pops["first_spike_time"]], first)
    assert y[pops["first_spike_time"]][-1].tolist() == [-F32_MAX] * 3

    # Output LeakyIntegrate (no reset): pre and post are the same trace. The same
    # float32 operations in the same order: exact.
    expected = value_readouts(out_v, out_v, steps)
    for readout in VALUE_READOUTS:
        np.testing.assert_array_equal(y[pops[readout]], expected[readout], err_msg=readout)
    np.testing.assert_allclose(y[pops["avg_var"]], out_v.astype(np.float64).mean(axis=0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y[pops["sum_var"]], out_v.astype(np.float64).sum(axis=0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y[pops["max_var"]], np.maximum(out_v.max(axis=0), 0.0))
    # max_var starts at 0: output neuron 1 (negative bias) of the silent example
    # stays negative and reads 0
    assert out_v[:, -1, 1].max() < 0 and y[pops["max_var"]][-1, 1] == 0.0

    # Hidden IntegrateFire: accumulated before the reset, var read after it
    expected = value_readouts(hidden_pre, hidden_post, steps)
    for readout in VALUE_READOUTS:
        np.testing.assert_array_equal(y[pops["hidden_" + readout]], expected[readout],
                                      err_msg=readout)
    # ...which differs from reading V after the reset wherever a neuron fired
    assert not np.array_equal(expected["max_var"],
                              value_readouts(hidden_post, hidden_post, steps)["max_var"])
    assert not np.array_equal(expected["sum_var"],
                              value_readouts(hidden_post, hidden_post, steps)["sum_var"])
    for pop in pops.values():
        assert y[pop].dtype == np.float32 and y[pop].shape == (len(examples),) + pop.shape


def test_first_spike_time_hand_worked(sim):
    # dt=0.5: input spikes at 1.0 (step 2) -> target fires in step 3 -> -1.5 ms;
    # a spike at exactly t=0 reads -0.0; a silent neuron reads -float32 max
    net = Network()
    with net:
        inp = Population(SpikeInput(readout="first_spike_time"), 3)
        hid = Population(IntegrateFire(v_thresh=1.0, readout="first_spike_time"), 3)
        Connection(inp, hid, Dense(np.eye(3, dtype=F32)))
    x = sim.trains([{0: [1.0, 2.0], 1: [0.0]}], 3)
    y, _ = sim.compile(net, 8, dt=0.5).predict({inp: x}, [inp, hid], callbacks=[])
    assert y[inp].tolist() == [[-1.0, 0.0, -F32_MAX]]
    assert y[hid].tolist() == [[-1.5, -0.5, -F32_MAX]]


def test_spike_count_and_max_var_hand_worked(sim):
    # Input spikes at steps 0, 1, 1 (successive: 1 and 2) for neuron 0 and never
    # for neuron 1; spike_count of the input counts them; max_var of a non-leaky
    # integrator sees its largest V; values start at 0 (as mlGeNN's), so a V that
    # stays negative reads 0.
    net = Network()
    with net:
        inp = Population(SpikeInput(readout="spike_count"), 2)
        out = Population(LeakyIntegrate(tau_mem=1e30, readout="max_var"), 2)
        Connection(inp, out, Dense(np.array([[1.0, -1.0], [0.0, 0.0]], F32)))
    y, _ = sim.compile(net, 6).predict({inp: sim.trains([{0: [0.0, 1.0, 1.0]}], 2)},
                                       [inp, out], callbacks=[])
    assert y[inp].tolist() == [[3.0, 0.0]]
    assert y[out].tolist() == [[3.0, 0.0]]
    net = Network()
    with net:
        inp = Population(SpikeInput(), 1)
        out = Population(LeakyIntegrate(tau_mem=1e30, v=-2.0, readout="max_var"), 1)
        Connection(inp, out, Dense(np.array([[-1.0]], F32)))
    y, _ = sim.compile(net, 4).predict({inp: sim.trains([{0: [0.0]}], 1)}, [out],
                                       callbacks=[])
    assert y[out].tolist() == [[0.0]]


@pytest.mark.parametrize("readout", ["var", "avg_var", "sum_var", "max_var", "spike_count",
                                     "first_spike_time"])
def test_readouts_of_a_spiking_neuron_see_v_before_the_reset_hand_worked(sim, readout):
    # IntegrateFire(v_thresh=1, v_reset=-0.5), input weight 1.5 at steps 0 and 3
    # (delivered in steps 1 and 4), T=5. V after the update (before the reset):
    # 0, 1.5 (spike), -0.5, -0.5, 1.0 (spike); after the reset: 0, -.5, -.5, -.5, -.5
    net = Network()
    with net:
        inp = Population(SpikeInput(), 1)
        hid = Population(IntegrateFire(v_thresh=1.0, v_reset=-0.5, readout=readout), 1)
        Connection(inp, hid, Dense(np.array([[1.5]], F32)))
    y, _ = sim.compile(net, 5).predict({inp: sim.trains([{0: [0.0, 3.0]}], 1)}, [hid],
                                       callbacks=[])
    scale = F32(1.0 / 5)
    avg = F32(0.0)
    for v in (0.0, 1.5, -0.5, -0.5, 1.0):
        avg = avg + scale * F32(v)
    expected = {"var": -0.5,  # the end state, after the last reset (not 1.0)
                "avg_var": avg,  # ~0.3 (after the resets it would be -0.4)
                "sum_var": 1.5,  # (after the resets: -2.0)
                "max_var": 1.5,  # (after the resets: 0)
                "spike_count": 2.0,
                "first_spike_time": -1.0}[readout]
    assert y[hid].dtype == np.float32
    assert y[hid].tolist() == [[F32(expected)]]


def test_readout_of_a_multi_dimensional_population(sim):
    net = Network()
    with net:
        inp = Population(SpikeInput(), 2)
        out = Population(IntegrateFire(v_thresh=1e9, readout="var"), (2, 3))
        Connection(inp, out, Dense(np.arange(12, dtype=F32).reshape(2, 6) / 4))
    x = sim.trains([{0: [0.0]}, {1: [0.0]}, {0: [0.0], 1: [1.0]}], 2)
    y, _ = sim.compile(net, 3, batch_size=2).predict({inp: x}, [out], callbacks=[])
    w = np.arange(12, dtype=F32).reshape(2, 6) / 4
    assert y[out].shape == (3, 2, 3)
    np.testing.assert_array_equal(y[out], np.stack([w[0], w[1], w[0] + w[1]]).reshape(3, 2, 3))


def test_metrics_from_readouts(sim):
    steps = 25
    rng = np.random.default_rng(21)
    examples = [{n: sorted(rng.uniform(0, 20, 8).tolist()) for n in range(3)}
                for _ in range(9)]
    net, inp, pops = build()
    out = pops["avg_var"]
    *_, out_v = reference(sim, examples, steps, 1.0)
    readout = out_v.astype(np.float64).mean(axis=0)
    labels = rng.integers(0, 2, size=9)
    targets = rng.normal(size=(9, 2))
    compiled = sim.compile(net, steps, batch_size=4)
    x = {inp: sim.trains(examples, 3)}
    metrics, _ = compiled.evaluate(x, {out: labels}, callbacks=[])
    assert metrics[out].result == pytest.approx(np.mean(readout.argmax(axis=1) == labels))
    metrics, _ = compiled.evaluate(x, {out: targets}, metrics="mean_square_error",
                                   callbacks=[])
    assert metrics[out].result == pytest.approx(np.mean((readout - targets) ** 2), rel=1e-5)


# --------------------------------------------------------------- AvgVarExpWeight

def exp_weighted(v_pre, steps, dt, first_step=0):
    """float64 reference of AvgVarExpWeight (mlGeNN's equation): the sum over the
    steps k of exp(-t_k / (T dt)) / T * V_k, t_k = k dt; v_pre (steps, examples, n)."""
    t = (first_step + np.arange(steps)) * dt
    weights = np.exp(-t / (steps * dt)) / steps
    return np.tensordot(weights, v_pre.astype(np.float64), axes=1)


def test_avg_var_exp_weight_hand_worked(sim):
    # The trace of the test above, V before the reset 0, 1.5, -0.5, -0.5, 1.0 in
    # steps 0..4 (T = 5, dt = 1): (1.5 e^-0.2 - 0.5 e^-0.4 - 0.5 e^-0.6 + e^-0.8) / 5
    net = Network()
    with net:
        inp = Population(SpikeInput(), 1)
        hid = Population(IntegrateFire(v_thresh=1.0, v_reset=-0.5,
                                       readout="avg_var_exp_weight"), 1)
        Connection(inp, hid, Dense(np.array([[1.5]], F32)))
    y, _ = sim.compile(net, 5).predict({inp: sim.trains([{0: [0.0, 3.0]}], 1)}, [hid],
                                       callbacks=[])
    expected = (1.5 * np.exp(-0.2) - 0.5 * np.exp(-0.4) - 0.5 * np.exp(-0.6) +
                np.exp(-0.8)) / 5
    assert y[hid].dtype == np.float32
    np.testing.assert_allclose(y[hid][0, 0], expected, rtol=1e-6)
    # As the engines (and mlGeNN's C++ on GeNN's CPU backend) compute it: float32
    # t c, c = float32(1 / (T dt)); then exp(-t c) float32(1 / T) V in double, added
    # to the float32 sum in double and rounded
    c, scale, value = F32(1.0 / 5), np.float64(F32(1.0 / 5)), F32(0.0)
    for step, v in enumerate((0.0, 1.5, -0.5, -0.5, 1.0)):
        weight = np.exp(-np.float64(F32(step) * c))
        value = F32(np.float64(value) + weight * scale * np.float64(v))
    assert y[hid][0, 0] == value


@pytest.mark.parametrize("dt", [1.0, 0.5, 0.1])
def test_avg_var_exp_weight_against_float64_reference(sim, dt):
    steps = 25
    rng = np.random.default_rng(22)
    examples = [{n: sorted(rng.uniform(0, steps * dt * 0.8, 8).tolist()) for n in range(3)}
                for _ in range(5)]
    net = Network()
    with net:
        inp = Population(SpikeInput(), 3)
        hid = Population(IntegrateFire(v_thresh=1.0, v_reset=V_RESET,
                                       readout="avg_var_exp_weight"), 3)
        out = Population(LeakyIntegrate(tau_mem=TAU_MEM, bias=BIAS,
                                        readout="avg_var_exp_weight"), 2)
        Connection(inp, hid, Dense(W_IN))
        Connection(hid, out, Dense(W_OUT))
    y, _ = sim.compile(net, steps, dt=dt, batch_size=2).predict(
        {inp: sim.trains(examples, 3)}, [hid, out], callbacks=[])
    hidden, hidden_pre, _, out_v = reference(sim, examples, steps, dt)
    assert hidden.any()
    # Hidden: accumulated from V before the reset, as the other accumulating readouts
    np.testing.assert_allclose(y[hid], exp_weighted(hidden_pre, steps, dt), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(y[out], exp_weighted(out_v, steps, dt), rtol=1e-5, atol=1e-6)
    # Early steps weigh more: not the plain average
    assert not np.allclose(y[out], out_v.astype(np.float64).mean(axis=0), rtol=1e-3)


def test_avg_var_exp_weight_follows_running_time(sim):
    # Without a time reset the second batch's steps have times T dt ... (2T - 1) dt,
    # and their weights go on decaying, as mlGeNN's (which reads t)
    steps = 10
    net = Network()
    with net:
        inp = Population(SpikeInput(), 1)
        out = Population(LeakyIntegrate(tau_mem=1e30, v=1.0, readout="avg_var_exp_weight"), 1)
        Connection(inp, out, Dense(np.zeros((1, 1), F32)))
    compiled = InferenceCompiler(steps, reset_time_between_batches=False).compile(net)
    y, _ = compiled.predict({inp: sim.trains([{}, {}], 1)}, [out], callbacks=[])
    ones = np.ones((steps, 1, 1))
    np.testing.assert_allclose(y[out][0], exp_weighted(ones, steps, 1.0)[0], rtol=1e-6)
    np.testing.assert_allclose(y[out][1], exp_weighted(ones, steps, 1.0, steps)[0],
                               rtol=1e-6)
