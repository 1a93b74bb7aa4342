"""Synaptic delays in EventProp: the delay gradient, delay learning and the
weights of delayed connections.

The engine's delays are whole steps, so the simulated loss is a step function of
a delay and has no useful derivative there. The reference is instead an exact,
event-based continuous-time simulation (spike times found by root finding) in
which a delay is a real number of ms: the gradient EventProp computes at a whole
number of steps must approach the finite difference of that simulation's loss
with respect to the delay as dt shrinks (here dt = 1/64 ms, delays of up to 1 ms),
in the regime where no spike appears or disappears.
"""
import numpy as np
import pytest

from snnflow import Connection, Network, Population
from snnflow.compilers import EventPropCompiler, InferenceCompiler
from snnflow.connectivity import Dense, FixedProbability, OneToOne
from snnflow.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from snnflow.optimisers import Adam
from snnflow.synapses import Exponential
from snnflow.utils.data import preprocess_spikes

from test_event_prop import (TAU_MEM, TAU_SYN, THRESH, cross_entropy, kernel_integral,
                             random_trains)
from test_event_prop import exact_hidden_spikes as event_prop_exact_hidden_spikes


def exact_hidden_spikes(w_in, d_in, input_times, t_end, lag):
    """Crossing times of each hidden neuron when input i's spikes reach hidden j
    at s + lag + d_in[i, j] (ms); after a crossing V restarts from 0."""
    return event_prop_exact_hidden_spikes(
        w_in, lambda j: [np.asarray(t) + lag + d_in[i, j] for i, t in enumerate(input_times)],
        t_end, lag)


def exact_loss(w_in, d_in, w_out, d_out, input_times, labels, t_end, lag):
    """Mean cross-entropy of the time-averaged readout, in continuous time, with
    every synapse's delay (ms) its own."""
    logits, counts = [], []
    for per_neuron in input_times:
        hidden = exact_hidden_spikes(w_in, d_in, per_neuron, t_end, lag)
        counts.append([len(s) for s in hidden])
        logits.append([sum(w_out[j, k] * kernel_integral(t_end - s - lag - d_out[j, k]).sum()
                           for j, s in enumerate(hidden)) / t_end
                       for k in range(w_out.shape[1])])
    return cross_entropy(np.array(logits), labels), counts


def delayed_network(w_in, d_in, w_out, d_out, max_delay, scale_i=True, readout="avg_var"):
    net = Network()
    with net:
        inp = Population(SpikeInput(max_spikes=1000), w_in.shape[0], name="inp")
        hid = Population(LeakyIntegrateFire(v_thresh=THRESH, tau_mem=TAU_MEM, scale_i=scale_i,
                                            relative_reset=False), w_in.shape[1], name="hid",
                         record_spikes=True)
        out = Population(LeakyIntegrate(tau_mem=TAU_MEM, readout=readout, scale_i=scale_i),
                         w_out.shape[1], name="out")
        c_in = Connection(inp, hid, Dense(w_in.astype(np.float32), delay=d_in),
                          Exponential(TAU_SYN, scale_i), name="in_hid", max_delay_steps=max_delay)
        c_out = Connection(hid, out, Dense(w_out.astype(np.float32), delay=d_out),
                           Exponential(TAU_SYN, scale_i), name="hid_out",
                           max_delay_steps=max_delay)
    return net, inp, out, c_in, c_out


def test_delay_gradients_approach_finite_differences_of_exact_continuous_time_simulation():
    rng = np.random.default_rng(3)
    dt, t_end = 1 / 64, 30.0
    w_in = rng.uniform(0.5, 2.5, (5, 3))
    w_out = rng.normal(0.0, 1.0, (3, 2))
    # Whole steps, up to 1 ms: the exact simulation takes them in ms
    d_in = rng.integers(0, 65, (5, 3))
    d_out = rng.integers(0, 65, (3, 2))
    _, input_times = random_trains(rng, 2, 5, 2, 12.0, dt)
    trains = [preprocess_spikes(np.concatenate(t), np.repeat(np.arange(5), 2), 5)
              for t in input_times]
    labels = np.array([0, 1])
    net, inp, out, c_in, c_out = delayed_network(w_in, d_in, w_out, d_out, 64)
    compiled = EventPropCompiler(int(t_end / dt), "sparse_categorical_crossentropy", dt=dt,
                                 batch_size=2, delay_learn_conns=[c_in, c_out]).compile(net)
    loss, weight_grads, delay_grads = compiled.compute_gradients({inp: trains}, {out: labels},
                                                                 delays=True)
    # A spike of step n reaches its target at step n + 1 + d
    args = [w_in, d_in * dt, w_out, d_out * dt]
    loss0, counts = exact_loss(*args, input_times, labels, t_end, dt)
    assert 4 <= np.sum(counts), "the test needs hidden spikes"
    assert loss == pytest.approx(loss0, rel=0.02)
    h = 1e-4
    # Every delay onto the readout, one onto each hidden neuron and two more (the
    # exact simulation is slow)
    chosen = {c_in: [(0, 0), (1, 1), (2, 2), (4, 0), (3, 2)], c_out: list(np.ndindex(3, 2))}
    for position, conn in ((1, c_in), (3, c_out)):
        numeric, ours = [], []
        for index in chosen[conn]:
            values = []
            for sign in (1, -1):
                moved = [a.copy() for a in args]
                moved[position][index] += sign * h
                value, moved_counts = exact_loss(*moved, input_times, labels, t_end, dt)
                assert moved_counts == counts  # no spike appears or disappears
                values.append(value)
            numeric.append((values[0] - values[1]) / (2 * h))
            # dL/d(delay in steps) = dt dL/d(delay in ms)
            ours.append(delay_grads[conn][index] / dt)
        numeric, ours = np.array(numeric), np.array(ours)
        error = np.linalg.norm(ours - numeric) / np.linalg.norm(numeric)
        print(conn.name, "delay gradient relative error", error)
        assert error < 0.05, (conn.name, ours, numeric)
    # The weights' gradients through the delays, checked the same way
    for position, conn in ((0, c_in), (2, c_out)):
        numeric, ours = [], []
        for index in chosen[conn][:4]:
            values = []
            for sign in (1, -1):
                moved = [a.copy() for a in args]
                moved[position][index] += sign * 1e-5
                values.append(exact_loss(*moved, input_times, labels, t_end, dt)[0])
            numeric.append((values[0] - values[1]) / 2e-5)
            ours.append(weight_grads[conn][index])
        numeric, ours = np.array(numeric), np.array(ours)
        error = np.linalg.norm(ours - numeric) / np.linalg.norm(numeric)
        print(conn.name, "weight gradient relative error", error)
        assert error < 0.05, (conn.name, ours, numeric)


def test_sparse_delayed_connection_has_the_gradients_of_its_dense_twin():
    """FixedProbability synapses (CSR, a delay each) against a Dense connection
    holding the same weights and delays, 0 where there is no synapse."""
    from snnflow.initializers import Normal, Uniform
    rng = np.random.default_rng(5)

    def network(connectivity):
        net = Network()
        with net:
            inp = Population(SpikeInput(max_spikes=1000), 12)
            hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0, scale_i=True,
                                                relative_reset=False), 8)
            out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var", scale_i=True), 3)
            c_in = Connection(inp, hid, connectivity, Exponential(5.0, True), max_delay_steps=6)
            c_rec = Connection(hid, hid, Dense(rng.normal(0, 0.3, (8, 8)).astype(np.float32),
                                               delay=rng.integers(0, 7, (8, 8))),
                               Exponential(5.0, True), max_delay_steps=6)
            c_out = Connection(hid, out, Dense(rng.normal(0, 1, (8, 3)).astype(np.float32)),
                               Exponential(5.0, True))
        return net, inp, out, (c_in, c_rec, c_out)

    sparse_net, inp, out, sparse_conns = network(
        FixedProbability(0.5, Normal(1.0, 0.5), delay=Uniform(0.0, 6.99)))
    trains = [preprocess_spikes(rng.uniform(0, 20, 60).round(), rng.integers(0, 12, 60), 12)
              for _ in range(3)]
    labels = np.array([0, 1, 2])
    sparse = EventPropCompiler(40, "sparse_categorical_crossentropy", batch_size=3,
                               delay_learn_conns=sparse_conns[:2]).compile(sparse_net)
    weights = sparse.engine.get_conn_var(sparse_conns[0], "weight")
    delays = sparse.engine.get_conn_var(sparse_conns[0], "delay").astype(np.int64)
    assert len(np.unique(delays[weights != 0])) > 3
    rng = np.random.default_rng(5)  # the same recurrent and readout weights
    dense_net, d_inp, d_out, dense_conns = network(Dense(weights, delay=delays))
    dense = EventPropCompiler(40, "sparse_categorical_crossentropy", batch_size=3,
                              delay_learn_conns=dense_conns[:2]).compile(dense_net)
    s_loss, s_grads, s_delays = sparse.compute_gradients({inp: trains}, {out: labels}, True)
    d_loss, d_grads, d_delays = dense.compute_gradients({d_inp: trains}, {d_out: labels}, True)
    assert s_loss == pytest.approx(d_loss, rel=1e-6)
    rows, cols = np.nonzero(weights)
    present = weights[rows, cols] != 0
    assert np.abs(d_delays[dense_conns[0]]).max() > 0
    np.testing.assert_allclose(s_grads[sparse_conns[0]], d_grads[dense_conns[0]][rows, cols],
                               rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(s_delays[sparse_conns[0]][present],
                               d_delays[dense_conns[0]][rows, cols][present],
                               rtol=1e-6, atol=1e-12)
    for s_conn, d_conn in zip(sparse_conns[1:], dense_conns[1:]):
        np.testing.assert_allclose(s_grads[s_conn], d_grads[d_conn], rtol=1e-6, atol=1e-12)


#: The delay task's input: two spikes, at 2 and 5 ms
DELAY_TASK_TRAINS = [preprocess_spikes(np.array([2.0, 5.0]), np.array([0, 1]), 2)]


def delay_task(delays):
    """Two input neurons drive one LeakyIntegrate readout through a Dense
    connection ("delayed") of the given delays."""
    net = Network()
    with net:
        inp = Population(SpikeInput(max_spikes=10), 2)
        out = Population(LeakyIntegrate(tau_mem=10.0, readout="var", scale_i=True), 1)
        conn = Connection(inp, out, Dense(np.array([[1.0], [0.6]], dtype=np.float32),
                                          delay=delays),
                          Exponential(3.0, True), max_delay_steps=20, name="delayed")
    return net, inp, out, conn


@pytest.mark.parametrize("start", [9, 0])
def test_learning_delays_moves_each_arrival_to_its_target_time(start):
    """Two input spikes drive one readout; the target is the readout's own voltage
    trace with delays (3, 14), simulated by the inference compiler. Starting from
    delays of 9 (one arrival 6 steps late, the other 5 early) or 0, with the
    weights all but frozen (a tiny learning rate), only the delays can match the
    trace: each must reach its target."""
    target_delays = np.array([[3], [14]])
    network = delay_task
    trains = DELAY_TASK_TRAINS
    net, inp, out, _ = network(target_delays)
    timesteps = 50
    from snnflow.callbacks import VarRecorder
    _, cb = InferenceCompiler(timesteps).compile(net).evaluate(
        {inp: trains}, {out: [0]}, callbacks=[VarRecorder(out, "v", key="v")])
    target = np.asarray(cb["v"][0], dtype=np.float32).reshape(1, timesteps, 1)

    net, inp, out, conn = network(start)
    compiled = EventPropCompiler(timesteps, "mean_square_error", optimiser=Adam(1e-12),
                                 delay_optimiser=Adam(0.5), delay_learn_conns=[conn]
                                 ).compile(net)
    compiled.train({inp: trains}, {out: target}, num_epochs=30, callbacks=[])
    learnt = compiled.event_prop.delays()[conn]
    np.testing.assert_array_equal(np.floor(learnt + 0.5), target_delays)
    # What the engine delivers with: the learnt delays, rounded
    np.testing.assert_array_equal(compiled.engine.get_conn_var(conn, "delay"), target_delays)
    loss, _ = compiled.compute_gradients({inp: trains}, {out: target})
    assert loss < 1e-8


def test_weights_trained_through_fixed_per_synapse_delays_reach_the_simulation():
    """The engine delivers a connection with per-synapse delays from a copy sorted
    by delay: after training, what it simulates must be the trained weights, as a
    fresh inference network built from them shows."""
    rng = np.random.default_rng(2)
    w_in, w_out = rng.uniform(0, 1, (6, 4)), rng.normal(0, 1, (4, 3))
    net, inp, out, c_in, c_out = delayed_network(w_in, rng.integers(0, 5, (6, 4)), w_out,
                                                 rng.integers(0, 5, (4, 3)), 5, readout="avg_var")
    trains = [preprocess_spikes(rng.uniform(0, 20, 30).round(), rng.integers(0, 6, 30), 6)
              for _ in range(4)]
    labels = np.array([0, 1, 2, 0])
    compiled = EventPropCompiler(30, "sparse_categorical_crossentropy", batch_size=2,
                                 optimiser=Adam(0.05)).compile(net)
    compiled.train({inp: trains}, {out: labels}, num_epochs=2, callbacks=[])
    trained = {c: compiled.engine.get_conn_var(c, "weight") for c in (c_in, c_out)}
    assert not np.allclose(trained[c_in], w_in, atol=1e-3)
    after = compiled.predict({inp: trains}, [out], callbacks=[])[0][out]
    for conn in (c_in, c_out):
        conn.connectivity.weight = trained[conn]
    fresh = InferenceCompiler(30, batch_size=2).compile(net).predict(
        {inp: trains}, [out], callbacks=[])[0][out]
    np.testing.assert_array_equal(after, fresh)


def tiny_network(connectivity=None, max_delay_steps=5):
    net = Network()
    with net:
        inp = Population(SpikeInput(max_spikes=10), 4)
        out = Population(LeakyIntegrate(tau_mem=10.0, readout="avg_var"), 4)
        conn = Connection(inp, out, connectivity or Dense(0.5, delay=1), Exponential(5.0),
                          max_delay_steps=max_delay_steps, name="c")
    return net, conn


@pytest.mark.parametrize("make, message", [
    (lambda: tiny_network(max_delay_steps=None),
     r"connection c in delay_learn_conns has no room for delays: give the Connection "
     r"max_delay_steps >= 1 .*, got max_delay_steps=None"),
    (lambda: tiny_network(Dense(0.5), max_delay_steps=0), "got max_delay_steps=0"),
    (lambda: tiny_network(OneToOne(0.5, delay=1)),
     "delays are learnt on Dense and FixedProbability connectivity"),
])
def test_delay_learning_on_a_connection_that_cannot_hold_delays_is_refused(make, message):
    net, conn = make()
    with pytest.raises(ValueError, match=message):
        EventPropCompiler(10, "sparse_categorical_crossentropy",
                          delay_learn_conns=[conn]).compile(net)


def test_bad_delay_learning_arguments_are_refused():
    net, conn = tiny_network()
    other, stranger = tiny_network()
    with pytest.raises(ValueError, match="delay_learn_conns names connection c, which is "
                                         "not in this network"):
        EventPropCompiler(10, "sparse_categorical_crossentropy",
                          delay_learn_conns=[stranger]).compile(net)
    with pytest.raises(TypeError, match="delay_learn_conns: expected a Connection"):
        EventPropCompiler(10, "sparse_categorical_crossentropy", delay_learn_conns=["c"])
    with pytest.raises(TypeError, match="delay_learn_conns must be a sequence"):
        EventPropCompiler(10, "sparse_categorical_crossentropy", delay_learn_conns=conn)
    with pytest.raises(TypeError, match="optimiser must be a Optimiser or its name, got 0.1"):
        EventPropCompiler(10, "sparse_categorical_crossentropy", delay_optimiser=0.1)


def test_recorders_see_every_batch_of_a_network_that_learns_delays():
    """Learning delays rebuilds the engine between batches: the recorders, which
    read each batch's spikes after the update, must still see them all."""
    from snnflow.callbacks import SpikeRecorder
    rng = np.random.default_rng(6)
    w_in, w_out = rng.uniform(0.5, 1.5, (6, 4)), rng.normal(0, 1, (4, 3))
    net, inp, out, c_in, c_out = delayed_network(w_in, rng.integers(0, 5, (6, 4)), w_out,
                                                 0, 8)
    hid = c_in.target
    trains = [preprocess_spikes(rng.uniform(0, 20, 30).round(), rng.integers(0, 6, 30), 6)
              for _ in range(5)]
    labels = np.array([0, 1, 2, 0, 1])
    compiled = EventPropCompiler(30, "sparse_categorical_crossentropy", batch_size=2,
                                 delay_learn_conns=[c_in, c_out]).compile(net)
    _, cb = compiled.train({inp: trains}, {out: labels}, num_epochs=1, shuffle=False,
                           callbacks=[SpikeRecorder(hid, key="hid", record_counts=True)])
    assert len(cb["hid"]) == 5 and sum(np.sum(c) for c in cb["hid"]) > 0


def test_a_checkpoint_restores_learnt_delays(tmp_path):
    """save() keeps the learnt delays beside the weights and Network.load() puts
    them into a description: a network loaded from the checkpoint of the delay
    task above simulates the target trace, which delays of 3 and 14 produce."""
    from snnflow.callbacks import VarRecorder
    from snnflow.serialisers import Numpy

    def trace(net, inp, out):
        _, cb = InferenceCompiler(50).compile(net).evaluate(
            {inp: DELAY_TASK_TRAINS}, {out: [0]}, callbacks=[VarRecorder(out, "v", key="v")])
        return np.asarray(cb["v"][0], dtype=np.float32)

    network = delay_task
    trains = DELAY_TASK_TRAINS
    target = trace(*network(np.array([[3], [14]]))[:3])
    net, inp, out, conn = network(9)
    compiled = EventPropCompiler(50, "mean_square_error", optimiser=Adam(1e-12),
                                 delay_optimiser=Adam(0.5), delay_learn_conns=[conn]
                                 ).compile(net)
    compiled.train({inp: trains}, {out: target.reshape(1, 50, 1)}, num_epochs=30,
                   callbacks=[])
    serialiser = Numpy(tmp_path)
    compiled.save((30,), serialiser)
    fresh, f_inp, f_out, f_conn = network(9)
    assert not np.array_equal(trace(fresh, f_inp, f_out), target)
    fresh.load((30,), serialiser)
    np.testing.assert_array_equal(f_conn.connectivity.delay, [[3], [14]])
    np.testing.assert_array_equal(trace(fresh, f_inp, f_out), target)
    # A network whose connection cannot hold delays refuses them, changing nothing
    net2 = Network()
    with net2:
        a = Population(SpikeInput(max_spikes=10), 2)
        b = Population(LeakyIntegrate(tau_mem=10.0, readout="var"), 1)
        plain = Connection(a, b, Dense(np.zeros((2, 1))), name="delayed")
    with pytest.raises(ValueError, match="no max_delay_steps"):
        net2.load((30,), serialiser)
    assert not plain.connectivity.weight.any()
