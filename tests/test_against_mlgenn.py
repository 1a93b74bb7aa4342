"""The same tiny networks on mlGeNN (GeNN's CPU backend, batch size 1) and on
snnflow: identical spikes, and readouts equal to float32 rounding. Skipped where
mlGeNN or pygenn cannot be imported. mlGeNN builds its GeNN code in the working
directory, so each test runs in its own temporary one."""
import types

import numpy as np
import pytest

pytest.importorskip("pygenn")
ml_genn = pytest.importorskip("ml_genn")

import snnflow  # noqa: E402

F32 = np.float32
STEPS = 40


@pytest.fixture(autouse=True)
def own_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def library(package):
    """The names a network script imports, from mlGeNN or from snnflow."""
    import importlib
    names = types.SimpleNamespace(__name__=package.__name__)
    for module, attrs in [("", ["Connection", "Network", "Population"]),
                          (".callbacks", ["Callback", "SpikeRecorder"]),
                          (".compilers", ["FewSpikeCompiler", "InferenceCompiler"]),
                          (".connectivity", ["Dense"]),
                          (".neurons", ["AdaptiveLeakyIntegrateFire", "FewSpikeRelu",
                                        "FewSpikeReluInput", "LeakyIntegrate", "SpikeInput"]),
                          (".utils.data", ["preprocess_spikes"])]:
        imported = importlib.import_module(package.__name__ + module)
        for attr in attrs:
            setattr(names, attr, getattr(imported, attr))
    return names


def trains(rng, num_neurons, count, latest):
    """(times, ids) of random spikes, all before step ``latest``."""
    times = np.sort(rng.integers(0, latest, count)).astype(np.float64)
    return times, rng.integers(0, num_neurons, count)


# ------------------------------------------------------------------ adaptive LIF

def adaptive_network(lib, weights):
    net = lib.Network()
    with net:
        inp = lib.Population(lib.SpikeInput(max_spikes=1000), 12, record_spikes=True)
        pops = [
            lib.Population(lib.AdaptiveLeakyIntegrateFire(
                v_thresh=0.8, tau_mem=10.0, beta=0.4, tau_adapt=15.0, readout="avg_var"),
                8, record_spikes=True),
            lib.Population(lib.AdaptiveLeakyIntegrateFire(
                tau_mem=12.0, tau_refrac=3.0, beta=0.6, tau_adapt=30.0, relative_reset=False,
                integrate_during_refrac=False, readout="spike_count"), 8, record_spikes=True),
            lib.Population(lib.AdaptiveLeakyIntegrateFire(
                v_thresh=0.6, tau_mem=8.0, tau_refrac=2.0, beta=0.3, tau_adapt=20.0,
                readout="avg_var_exp_weight"), 8, record_spikes=True)]
        out = lib.Population(lib.LeakyIntegrate(tau_mem=10.0, readout="avg_var_exp_weight"), 3)
        for pop, weight in zip(pops, weights[:3]):
            lib.Connection(inp, pop, lib.Dense(weight))
        lib.Connection(pops[2], out, lib.Dense(weights[3]))
    return net, inp, pops + [out]


def run_adaptive(lib, weights, examples):
    net, inp, pops = adaptive_network(lib, weights)
    compiler = lib.InferenceCompiler(evaluate_timesteps=STEPS, batch_size=1,
                                     reset_in_syn_between_batches=True)
    compiled = compiler.compile(net, "adaptive")
    results = []
    with compiled:
        # One example per call: mlGeNN carries the last step's spikes into its next batch
        for times, ids in examples:
            x = [lib.preprocess_spikes(times, ids, 12)]
            readouts, cb_data = compiled.predict(
                {inp: x}, pops, callbacks=[lib.SpikeRecorder(p, key=i)
                                           for i, p in enumerate([inp] + pops[:3])])
            readouts = readouts if isinstance(readouts, dict) else dict(zip(pops, readouts))
            results.append(([np.asarray(readouts[p]) for p in pops],
                            [(np.asarray(cb_data[i][0][0]), np.asarray(cb_data[i][1][0]))
                             for i in range(4)]))
    return results


def test_adaptive_leaky_integrate_fire_and_avg_var_exp_weight_as_mlgenn():
    rng = np.random.default_rng(1)
    weights = [rng.normal(0.3, 0.3, (12, 8)) for _ in range(3)] + [rng.normal(0, 0.5, (8, 3))]
    examples = [trains(rng, 12, 60, STEPS // 2) for _ in range(3)]
    expected = run_adaptive(library(ml_genn), weights, examples)
    got = run_adaptive(library(snnflow), weights, examples)
    for (exp_readouts, exp_spikes), (got_readouts, got_spikes) in zip(expected, got):
        for e, g in zip(exp_spikes, got_spikes):
            assert sorted(zip(*g)) == sorted(zip(*e))
        # avg_var, spike_count and avg_var_exp_weight (which mlGeNN's C++ computes
        # in double, as snnflow) agree bit for bit
        for e, g in zip(exp_readouts, got_readouts):
            np.testing.assert_array_equal(g, e)
        # Not vacuous: every population fired, and none in the last steps (nothing
        # in flight crosses into mlGeNN's next example)
        assert all(len(times) > 3 for times, _ in got_spikes)
        assert all(times.max() < STEPS - 2 for times, _ in got_spikes)


# -------------------------------------------------------------------- few-spike

def few_spike_network(lib, weights, k):
    """Branches of depth 3, 2 and 1 from one input to one output."""
    net = lib.Network()
    with net:
        inp = lib.Population(lib.FewSpikeReluInput(k=k, alpha=4.0), 4, record_spikes=True)
        ends, index = [], 0
        for depth in (3, 2, 1):
            pop = inp
            for _ in range(depth):
                hidden = lib.Population(lib.FewSpikeRelu(k=k, alpha=6.0), 4, record_spikes=True)
                lib.Connection(pop, hidden, lib.Dense(weights[index]))
                pop, index = hidden, index + 1
            ends.append(pop)
        out = lib.Population(lib.FewSpikeRelu(k=k, alpha=6.0, readout="var"), 3)
        for pop in ends:
            lib.Connection(pop, out, lib.Dense(weights[index]))
            index += 1
    return net, inp, out, ends


def run_few_spike(lib, weights, x, k):
    net, inp, out, ends = few_spike_network(lib, weights, k)

    class Readouts(lib.Callback):
        # mlGeNN runs a (shallow) copy of each callback: the list is shared
        def __init__(self):
            self.values = []

        def set_params(self, compiled_network, **kwargs):
            self.compiled = compiled_network

        def on_batch_end(self, batch, metrics):
            self.values.append(np.array(self.compiled.get_readout(out)))

    readouts = Readouts()
    compiled = lib.FewSpikeCompiler(k=k).compile(net, "few_spike", inputs=inp, outputs=out)
    with compiled:
        metrics, cb_data = compiled.evaluate(
            {inp: x}, {out: np.zeros((len(x), 3))}, "mean_square_error",
            callbacks=[readouts] + [lib.SpikeRecorder(p, key=i)
                                    for i, p in enumerate([inp] + ends)])
    spikes = [[sorted(zip(np.asarray(t).tolist(), np.asarray(i).tolist()))
               for t, i in zip(*cb_data[key])][:len(x)] for key in range(4)]
    return metrics[out].result, readouts.values, spikes


def test_few_spike_pipeline_as_mlgenn():
    rng = np.random.default_rng(2)
    k = 8
    weights = [rng.normal(0.3, 0.4, (4, 4)) for _ in range(6)] + \
        [rng.normal(0.1, 0.4, (4, 3)) for _ in range(3)]
    x = rng.uniform(0.0, 4.0, (6, 4))
    expected = run_few_spike(library(ml_genn), weights, x, k)
    got = run_few_spike(library(snnflow), weights, x, k)
    # Three extra presentations drain the pipeline to the depth-3 output
    assert len(got[1]) == len(expected[1]) == len(x) + 3
    # The output adds three connections' currents: GeNN in an order of its own, so
    # the readouts agree to a few float32 roundings, the spikes exactly
    for e, g in zip(expected[1], got[1]):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6)
    assert got[0] == pytest.approx(expected[0], rel=1e-6)
    assert got[2] == expected[2]
    assert sum(len(s) for s in got[2][0]) > 20 and got[0] > 0.5


# ------------------------------------------------------- delays and genn_var

def delay_network(lib, weight, delays):
    conn = __import__(lib.__name__ + ".connectivity", fromlist=["x"])
    neurons = __import__(lib.__name__ + ".neurons", fromlist=["x"])
    net = lib.Network()
    with net:
        inp = lib.Population(neurons.SpikeInput(max_spikes=1000), 32)
        hidden = lib.Population(neurons.LeakyIntegrateFire(v_thresh=0.7, tau_mem=10.0,
                                                           tau_refrac=2.0), 6,
                                record_spikes=True)
        out = lib.Population(neurons.LeakyIntegrate(tau_mem=10.0, readout="avg_var"), 6)
        lib.Connection(inp, hidden, conn.Dense(weight, delay=delays), max_delay_steps=7)
        lib.Connection(hidden, out, conn.Dense(0.5, delay=3))
    return net, inp, hidden, out


def run_delays(lib, weight, delays, examples):
    callbacks = __import__(lib.__name__ + ".callbacks", fromlist=["x"])
    net, inp, hidden, out = delay_network(lib, weight, delays)
    compiled = lib.InferenceCompiler(evaluate_timesteps=STEPS, batch_size=1,
                                     reset_in_syn_between_batches=True).compile(net, "delays")
    results = []
    with compiled:
        for times, ids in examples:
            readouts, cb_data = compiled.predict(
                {inp: [lib.preprocess_spikes(times, ids, 32)]}, [out],
                callbacks=[lib.SpikeRecorder(hidden, key="spikes"),
                           callbacks.VarRecorder(hidden, genn_var="V", key="v"),
                           callbacks.VarRecorder(hidden, genn_var="RefracTime", key="refrac")])
            readouts = readouts if isinstance(readouts, dict) else dict(zip([out], readouts))
            results.append((np.asarray(readouts[out]),
                            sorted(zip(np.asarray(cb_data["spikes"][0][0]).tolist(),
                                       np.asarray(cb_data["spikes"][1][0]).tolist())),
                            np.asarray(cb_data["v"][0]), np.asarray(cb_data["refrac"][0])))
    return results


def test_delays_and_recording_by_genn_name_as_mlgenn():
    rng = np.random.default_rng(3)
    weight, delays = rng.normal(0.15, 0.2, (32, 6)), rng.integers(0, 8, (32, 6))
    # Spikes only in the first half, so nothing is in flight at an example's end
    examples = [trains(rng, 32, 80, STEPS // 2) for _ in range(3)]
    expected = run_delays(library(ml_genn), weight, delays, examples)
    got = run_delays(library(snnflow), weight, delays, examples)
    for exp, out in zip(expected, got):
        assert out[1] == exp[1]
        for e, g in zip(exp[:1] + exp[2:], out[:1] + out[2:]):
            np.testing.assert_array_equal(g, e)
        assert len(out[1]) > 5  # the hidden layer fired
