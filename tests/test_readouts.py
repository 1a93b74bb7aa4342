"""Readouts against values derived from a float32 reference trace: spike_count,
first_spike_time (negated ms of the first spike, -float32 max without one), var,
avg_var (adds V/T each step), sum_var and max_var; and the metrics built on them."""
import numpy as np
import pytest

from snnflow import Connection, Network, Population
from snnflow.connectivity import Dense
from snnflow.neurons import IntegrateFire, LeakyIntegrate, SpikeInput

F32 = np.float32
F32_MAX = np.finfo(np.float32).max

W_IN = np.array([[0.5, 0.25, 0.0], [0.375, 0.625, 0.0], [-0.125, 0.75, 0.0]], F32)
W_OUT = np.array([[1.0, -0.5], [0.25, 0.75], [2.0, 2.0]], F32)
TAU_MEM, BIAS = 10.0, np.array([0.0, -0.0625], F32)


def build():
    """SpikeInput(3) -> IntegrateFire(3) (third neuron unreachable, never fires)
    -> LeakyIntegrate(2); one population per readout, all fed the same way."""
    net = Network()
    pops = {}
    with net:
        inp = Population(SpikeInput(), 3)
        for readout in ("spike_count", "first_spike_time"):
            pops[readout] = Population(IntegrateFire(v_thresh=1.0, readout=readout), 3)
            Connection(inp, pops[readout], Dense(W_IN))
        for readout in ("var", "avg_var", "sum_var", "max_var"):
            pops[readout] = Population(LeakyIntegrate(tau_mem=TAU_MEM, bias=BIAS,
                                                      readout=readout), 2)
            Connection(pops["spike_count"], pops[readout], Dense(W_OUT))
    return net, inp, pops


def reference(sim, examples, steps, dt):
    """Hidden spikes and output V per step (steps, examples, n), float32."""
    raster = sim.raster(examples, 3, steps, dt)
    alpha = np.exp(-dt / np.float64(TAU_MEM)).astype(F32)
    hidden = np.zeros((steps, len(examples), 3), bool)
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
            v = np.where(hidden[t, e], v - F32(1.0), v)
            out_v[t, e] = o
    return hidden, out_v


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
    hidden, out_v = reference(sim, examples, steps, dt)
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

    np.testing.assert_allclose(y[pops["var"]], out_v[-1], rtol=1e-6, atol=1e-7)
    avg = np.zeros(out_v.shape[1:], F32)
    for t in range(steps):
        avg = avg + out_v[t] / F32(steps)
    np.testing.assert_allclose(y[pops["avg_var"]], avg, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(y[pops["avg_var"]], out_v.astype(np.float64).mean(axis=0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y[pops["sum_var"]], out_v.astype(np.float64).sum(axis=0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y[pops["max_var"]], out_v.max(axis=0), rtol=1e-6, atol=1e-7)
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
    # integrator sees its largest V; values start at -inf so a negative V shows.
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
    assert y[out].tolist() == [[-2.0]]


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
    _, out_v = reference(sim, examples, steps, 1.0)
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
