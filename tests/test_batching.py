"""Batch invariance: every example is simulated as if alone (same initial state,
nothing in flight), so batch size and batch composition never change a result:
delivery adds each example's weight rows in ascending neuron order, so batch sizes
(and partial last batches) must agree bit for bit."""
import numpy as np
import pytest

from snnflow import Connection, Network, Population
from snnflow.connectivity import Dense, FixedProbability, OneToOne
from snnflow.initializers import Normal, Uniform
from snnflow.neurons import (BinarySpikeInput, IntegrateFire, LeakyIntegrate,
                             LeakyIntegrateFire, PoissonInput, SpikeInput)
from snnflow.synapses import Exponential

F32 = np.float32
NUM_EXAMPLES = 20


def random_network(initial_v=0.25):
    net = Network()
    with net:
        spikes = Population(SpikeInput(max_spikes=100000), 10)
        poisson = Population(PoissonInput(), 5)
        hid1 = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=10.0, tau_refrac=2.0,
                                             v=initial_v), 8)
        hid2 = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0, relative_reset=False,
                                             readout="spike_count"), 6)
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var"), 4)
        Connection(spikes, hid1, Dense(Normal(0.4, 0.5)), synapse=Exponential(tau=5.0))
        Connection(poisson, hid1, FixedProbability(0.5, Normal(0.5, 0.3)))
        Connection(hid1, hid2, Dense(Normal(0.5, 0.6)))
        Connection(hid2, out, Dense(Normal(0.0, 1.0)), synapse=Exponential(tau=3.0,
                                                                            scale_i=True))
        Connection(hid1, hid1, OneToOne(-0.3))
    return net, spikes, poisson, hid2, out


def random_data(sim, steps):
    rng = np.random.default_rng(30)
    examples = []
    for e in range(NUM_EXAMPLES):
        # activity from silent to busy, and spikes in the very last step
        count = int(rng.integers(0, 12))
        examples.append({n: sorted(rng.uniform(0, steps, count).tolist() + [steps - 1.0])
                         for n in range(10) if e % 4})
    rates = rng.uniform(0.0, 0.2, size=(NUM_EXAMPLES, 5)).astype(F32)
    labels = rng.integers(0, 4, size=NUM_EXAMPLES)
    return sim.trains(examples, 10), rates, labels


BATCH_SIZES = (1, 2, 3, 7, 9, 64)  # 20 examples: 9 -> 9, 9, 2; 64 -> one batch of 20


def run_batch_sizes(sim, initial_v=0.25, batch_sizes=BATCH_SIZES):
    steps = 30
    net, spikes, poisson, hid2, out = random_network(initial_v)
    trains, rates, labels = random_data(sim, steps)
    per_batch_size = {}
    for batch_size in batch_sizes:
        compiled = sim.compile(net, steps, batch_size=batch_size, rng_seed=4)
        with compiled:
            x = {spikes: trains, poisson: rates}
            y, _ = compiled.predict(x, [out, hid2], callbacks=[])
            metrics, _ = compiled.evaluate(x, {out: labels}, callbacks=[])
        per_batch_size[batch_size] = (y[out], y[hid2], metrics[out])
    return per_batch_size


@pytest.fixture(scope="module")
def results(sim):
    return run_batch_sizes(sim)


def test_network_is_busy(results):
    _, counts, _ = results[1]
    assert counts.sum() > 50
    assert len({tuple(c) for c in counts}) > 5


@pytest.mark.parametrize("batch_size", BATCH_SIZES[1:])
def test_predictions_identical_for_every_batch_size(results, batch_size):
    out, counts, _ = results[1]
    np.testing.assert_array_equal(results[batch_size][1], counts)
    np.testing.assert_array_equal(results[batch_size][0], out)


@pytest.mark.parametrize("batch_size", BATCH_SIZES[1:])
def test_metrics_identical_for_every_batch_size(results, batch_size):
    assert results[batch_size][2].state == results[1][2].state
    assert results[batch_size][2].result == results[1][2].result


@pytest.mark.parametrize("initial_v", [Uniform(0.0, 0.5), np.linspace(0.0, 0.5, 8)],
                         ids=["Uniform", "array"])
def test_predictions_identical_with_per_neuron_initial_v(sim, initial_v):
    results = run_batch_sizes(sim, initial_v, batch_sizes=(1, 7, 9))
    for batch_size in (7, 9):
        np.testing.assert_array_equal(results[batch_size][1], results[1][1])
        np.testing.assert_array_equal(results[batch_size][0], results[1][0])


def test_partial_batch_matches_examples_run_alone(sim):
    steps = 30
    net, spikes, poisson, hid2, out = random_network()
    trains, rates, _ = random_data(sim, steps)
    compiled = sim.compile(net, steps, batch_size=7, rng_seed=4)
    whole, _ = compiled.predict({spikes: trains, poisson: rates}, [out], callbacks=[])
    # the last batch (examples 14..19) is partial; its examples, alone, through the
    # engine with their global indices (Poisson streams follow the global index)
    engine = compiled.engine
    for index in (14, 19):
        engine.start_batch({spikes: trains[index:index + 1], poisson: rates[index:index + 1]},
                           np.array([index]))
        for _ in range(steps):
            engine.step()
        np.testing.assert_array_equal(engine.readout(out)[0], whole[out][index])


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_busy_batches_are_exact_with_non_dyadic_weights(sim, sparse):
    # many spikes per step and weights whose float32 sums depend on their order: an
    # example's input must still not depend on the examples sharing its batch, and
    # is the float32 sum of the spiking neurons' weight rows in ascending order
    rng = np.random.default_rng(31)
    num_examples, steps = 20, 4
    weights = rng.normal(0.1, 1.0, size=(300, 7)).astype(F32)
    net = Network()
    with net:
        inp = Population(BinarySpikeInput(), 300)
        out = Population(IntegrateFire(v_thresh=1e9, readout="var"), 7)
        conn = Connection(inp, out, FixedProbability(0.5, Normal(0.1, 1.0)) if sparse
                          else Dense(weights))
    if sparse:
        # the drawn synapses (absent ones read 0, and adding 0 is exact)
        weights = sim.compile(net, steps, rng_seed=1).engine.get_conn_var(conn, "weight")
        assert 0.3 < np.mean(weights != 0) < 0.7
    density = np.linspace(0.01, 1.0, num_examples)[:, None]
    images = (rng.random((num_examples, 300)) < density).astype(F32)
    # Reference: binary inputs spike every step; delivered from step 1, each step
    # adds the same inSyn = 0 + w[i0] + w[i1] + ... (ascending i) to V
    expected = np.zeros((num_examples, 7), F32)
    order_matters = False
    for e in range(num_examples):
        in_syn = np.zeros(7, F32)
        for i in np.flatnonzero(images[e]):
            in_syn = in_syn + weights[i]
        order_matters |= not np.array_equal(
            in_syn, weights[np.flatnonzero(images[e])].astype(np.float64).sum(0).astype(F32))
        for _ in range(steps - 1):
            expected[e] = expected[e] + in_syn
    assert order_matters, "the test needs sums that depend on their order"
    for batch_size in (1, 3, 4, 8, 9, 20, 64):
        result = sim.compile(net, steps, batch_size=batch_size, rng_seed=1).predict(
            {inp: images}, [out], callbacks=[])[0][out]
        np.testing.assert_array_equal(result, expected, err_msg=f"batch size {batch_size}")


def independence_network():
    net = Network()
    with net:
        inp = Population(SpikeInput(), 2)
        hid = Population(IntegrateFire(v_thresh=0.5, readout="first_spike_time"), 2)
        out = Population(IntegrateFire(v_thresh=1e9, readout="var"), 2)
        Connection(inp, hid, Dense(np.eye(2, dtype=F32)), synapse=Exponential(tau=50.0))
        Connection(hid, out, Dense(np.array([[1.0, 0.0], [0.0, 2.0]], F32)),
                   synapse=Exponential(tau=50.0))
    return net, inp, hid, out


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_nothing_of_one_example_reaches_the_next(sim, batch_size):
    # Examples alternate: busy ones whose input spikes in the last two steps make
    # the hidden population fire in the last step (a spike still to be delivered,
    # inSyn still charged), and silent ones that must read as if run alone.
    steps = 6
    busy = {0: [0.0, 4.0], 1: [4.0, 5.0]}
    examples = [busy, {}, busy, {}, {}, busy]
    net, inp, hid, out = independence_network()
    x = sim.trains(examples, 2)
    compiled = sim.compile(net, steps, batch_size=batch_size)
    y, _ = compiled.predict({inp: x}, [hid, out], callbacks=[])
    tr = sim.trace(sim.compile(net, steps), {inp: x[:1]}, [hid], steps)[hid]
    assert tr["spikes"][-1, 0].any(), "the busy example must fire in its last step"
    # hand-worked busy example: hid fires at step 1 (0.5 >= 0.5 from the spike at 0)
    # and from the late input; out integrates the Exponential currents
    expected_busy_hid = -np.array([1.0, 5.0], F32)
    for e, spikes in enumerate(examples):
        if spikes:
            np.testing.assert_array_equal(y[hid][e], expected_busy_hid)
            assert y[out][e, 0] > 0
        else:
            assert y[hid][e].tolist() == [-np.finfo(F32).max] * 2
            assert y[out][e].tolist() == [0.0, 0.0]
    alone = sim.compile(net, steps).predict({inp: x[:1]}, [out], callbacks=[])[0][out][0]
    for e in (0, 2, 5):
        np.testing.assert_array_equal(y[out][e], alone)


def test_first_spike_time_restarts_each_batch(sim):
    net, inp, hid, _ = independence_network()
    x = sim.trains([{0: [2.0]}] * 3, 2)
    y, _ = sim.compile(net, 5, batch_size=1).predict({inp: x}, [hid], callbacks=[])
    assert y[hid][:, 0].tolist() == [-3.0] * 3


def test_single_target_neuron_sums_in_order_at_every_batch_size():
    """Many inputs into one neuron: the small-batch path must add rows in order, as
    the large-batch path does (a pairwise reduction would not)."""
    from snnflow.compilers import InferenceCompiler
    from snnflow.utils.data import preprocess_spikes
    rng = np.random.default_rng(11)
    net = Network()
    with net:
        inp = Population(SpikeInput(max_spikes=100000), 400)
        out = Population(LeakyIntegrate(tau_mem=10.0, readout="sum_var"), 1)
        Connection(inp, out, Dense(rng.normal(0, 0.37, (400, 1))))
    trains = [preprocess_spikes(rng.integers(0, 5, 300).astype(float),
                                rng.permutation(400)[:300], 400) for _ in range(12)]
    results = []
    for batch_size in (1, 8, 9, 16):
        compiled = InferenceCompiler(evaluate_timesteps=6, batch_size=batch_size).compile(net)
        y_pred, _ = compiled.predict({inp: trains}, [out], callbacks=[])
        results.append(y_pred[out])
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])
