"""EventProp's gradients on mlGeNN (GeNN's CPU backend, batch size 1) and on
snnflow, for the same network, weights and examples. Skipped where mlGeNN or
pygenn cannot be imported; mlGeNN builds its GeNN code in the working directory,
so each test runs in its own temporary one.

mlGeNN's backward pass runs during the next example's forward pass: its
``Gradient`` variables hold example n's gradient at the end of example n + 1's
last timestep, which is when the callback below reads them. The learning rate is
tiny, so every gradient is taken at the same weights.

What is asserted is what holds (docs/training.md, "snnflow and mlGeNN"): the two
gradients differ by one constant factor per connection (which Adam, normalising
each weight's steps, cancels), to 1% for readout weights; hidden weights differ
by a discretisation choice, measured here, and agree in direction. Without
mlGeNN's default_params (scale_i) mlGeNN's hidden gradients point the wrong way.
Learnt delays: mlGeNN's delays after each batch against snnflow's delay
gradients put through the same Adam."""
import types

import numpy as np
import pytest

pytest.importorskip("pygenn")
ml_genn = pytest.importorskip("ml_genn")

import snnflow  # noqa: E402

T, N_IN, N_HID, N_OUT = 30, 8, 6, 3


@pytest.fixture(autouse=True)
def own_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def library(package):
    import importlib
    names = types.SimpleNamespace()
    for module, attrs in [("", ["Connection", "Network", "Population"]),
                          (".callbacks", ["Callback"]),
                          (".compilers", ["EventPropCompiler"]),
                          (".compilers.event_prop_compiler", ["default_params"]),
                          (".connectivity", ["Dense"]),
                          (".neurons", ["LeakyIntegrate", "LeakyIntegrateFire", "SpikeInput"]),
                          (".optimisers", ["Adam"]),
                          (".synapses", ["Exponential"]),
                          (".utils.data", ["preprocess_spikes"])]:
        imported = importlib.import_module(package.__name__ + module)
        for attr in attrs:
            setattr(names, attr, getattr(imported, attr))
    return names


def task(with_defaults):
    rng = np.random.default_rng(4)
    w_in = rng.uniform(0.0, 1.2 if with_defaults else 0.12, (N_IN, N_HID)).astype(np.float32)
    w_out = rng.normal(0.0, 0.8, (N_HID, N_OUT)).astype(np.float32)
    examples = []
    for _ in range(4):
        examples.append((np.sort(rng.integers(0, 20, N_IN * 2)).astype(float),
                         rng.integers(0, N_IN, N_IN * 2)))
    return w_in, w_out, examples, np.array([0, 1, 2, 1])


def build(lib, w_in, w_out, with_defaults):
    net = lib.Network(lib.default_params) if with_defaults else lib.Network()
    with net:
        inp = lib.Population(lib.SpikeInput(max_spikes=100), N_IN)
        hid = lib.Population(lib.LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0, tau_refrac=None,
                                                    relative_reset=False), N_HID)
        out = lib.Population(lib.LeakyIntegrate(tau_mem=20.0, readout="avg_var"), N_OUT)
        c_in = lib.Connection(inp, hid, lib.Dense(w_in), lib.Exponential(5.0))
        c_out = lib.Connection(hid, out, lib.Dense(w_out), lib.Exponential(5.0))
    return net, inp, out, (c_in, c_out)


def mlgenn_gradients(with_defaults):
    lib = library(ml_genn)
    w_in, w_out, examples, labels = task(with_defaults)
    net, inp, out, conns = build(lib, w_in, w_out, with_defaults)
    read = []

    class ReadGradients(lib.Callback):
        def set_params(self, compiled_network, **kwargs):
            self.compiled = compiled_network

        def on_timestep_end(self, timestep):
            if timestep == T - 1:
                values = []
                for conn, shape in zip(conns, (w_in.shape, w_out.shape)):
                    var = self.compiled.connection_populations[conn].vars["Gradient"]
                    var.pull_from_device()
                    values.append(var.values.reshape(shape).astype(np.float64))
                read.append(values)
    compiled = lib.EventPropCompiler(T, "sparse_categorical_crossentropy",
                                     optimiser=lib.Adam(1e-20), batch_size=1,
                                     max_spikes=100).compile(net)
    trains = [lib.preprocess_spikes(t, i, N_IN) for t, i in examples]
    with compiled:
        compiled.train({inp: trains}, {out: labels}, num_epochs=1, shuffle=False,
                       callbacks=[ReadGradients()])
    # read[n] is example n - 1's backward pass; the last example only carries it
    return read[1:]


def snnflow_gradients(with_defaults):
    lib = library(snnflow)
    w_in, w_out, examples, labels = task(with_defaults)
    net, inp, out, conns = build(lib, w_in, w_out, with_defaults)
    compiled = lib.EventPropCompiler(T, "sparse_categorical_crossentropy",
                                     batch_size=1).compile(net)
    result = []
    for e in range(3):
        _, grads = compiled.compute_gradients(
            {inp: [lib.preprocess_spikes(examples[e][0], examples[e][1], N_IN)]},
            {out: labels[e:e + 1]})
        result.append([grads[c] for c in conns])
    return result


def fit(theirs, ours):
    """(scale, largest deviation from scale * ours relative to their largest)."""
    theirs, ours = np.ravel(theirs), np.ravel(ours)
    scale = theirs @ ours / (ours @ ours)
    return scale, np.abs(theirs - scale * ours).max() / np.abs(theirs).max()


def test_with_default_params_gradients_agree_up_to_one_factor_per_connection():
    theirs, ours = mlgenn_gradients(True), snnflow_gradients(True)
    scales = {0: [], 1: []}
    for example in range(3):
        for conn in (0, 1):
            scale, deviation = fit(theirs[example][conn], ours[example][conn])
            scales[conn].append(scale)
            # Readout weights: 1%; hidden weights: the discretisation difference
            assert deviation < (0.01 if conn else 0.25), (example, conn, deviation)
            assert np.corrcoef(np.ravel(theirs[example][conn]),
                               np.ravel(ours[example][conn]))[0, 1] > 0.98
    # One factor per connection, the same for every example
    for conn, values in scales.items():
        assert np.ptp(values) < (0.01 if conn else 0.15) * np.mean(values), (conn, values)


def test_without_default_params_mlgenn_hidden_gradients_point_the_wrong_way():
    """mlGeNN's hidden jump assumes scale_i inputs: on a network without it, its
    hidden gradients oppose snnflow's (which finite differences confirm: see
    docs/training.md), while readout gradients still agree."""
    theirs, ours = mlgenn_gradients(False), snnflow_gradients(False)
    for example in range(2):
        hidden = np.corrcoef(np.ravel(theirs[example][0]), np.ravel(ours[example][0]))[0, 1]
        assert hidden < -0.5
        readout = np.corrcoef(np.ravel(theirs[example][1]), np.ravel(ours[example][1]))[0, 1]
        assert readout > 0.99


# --- learnt delays -------------------------------------------------------------------------

DELAY_ALPHA, MAX_DELAY = 0.01, 10


def delay_task():
    rng = np.random.default_rng(4)
    w_in, w_out, examples, labels = task(True)
    return (w_in, rng.integers(0, 6, (N_IN, N_HID)).astype(float), w_out,
            rng.integers(0, 6, (N_HID, N_OUT)).astype(float), examples, labels)


def build_delayed(lib, w_in, d_in, w_out, d_out):
    net = lib.Network(lib.default_params)
    with net:
        inp = lib.Population(lib.SpikeInput(max_spikes=100), N_IN)
        hid = lib.Population(lib.LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0,
                                                    tau_refrac=None), N_HID)
        out = lib.Population(lib.LeakyIntegrate(tau_mem=20.0, readout="avg_var"), N_OUT)
        c_in = lib.Connection(inp, hid, lib.Dense(w_in, delay=d_in), lib.Exponential(5.0),
                              max_delay_steps=MAX_DELAY)
        c_out = lib.Connection(hid, out, lib.Dense(w_out, delay=d_out), lib.Exponential(5.0),
                               max_delay_steps=MAX_DELAY)
    return net, inp, out, (c_in, c_out)


def mlgenn_delays_after_each_batch():
    """mlGeNN's delays after each of 4 batches of 1 example, the weights frozen."""
    lib = library(ml_genn)
    w_in, d_in, w_out, d_out, examples, labels = delay_task()
    net, inp, out, conns = build_delayed(lib, w_in, d_in, w_out, d_out)
    read = []

    class ReadDelays(lib.Callback):
        def set_params(self, compiled_network, **kwargs):
            self.compiled = compiled_network

        def on_batch_end(self, batch, metrics):
            values = []
            for conn in conns:
                var = self.compiled.connection_populations[conn].vars["d"]
                var.pull_from_device()
                values.append(var.values.reshape(-1).astype(np.float64).copy())
            read.append(values)
    compiled = lib.EventPropCompiler(T, "sparse_categorical_crossentropy",
                                     optimiser=lib.Adam(1e-20),
                                     delay_optimiser=lib.Adam(DELAY_ALPHA),
                                     delay_learn_conns=list(conns), batch_size=1,
                                     max_spikes=100).compile(net)
    trains = [lib.preprocess_spikes(t, i, N_IN) for t, i in examples]
    with compiled:
        compiled.train({inp: trains}, {out: labels}, num_epochs=1, shuffle=False,
                       callbacks=[ReadDelays()])
    return read


def test_learnt_delay_updates_follow_mlgenns_batch_by_batch():
    """mlGeNN applies each example's delay gradient one batch late (its backward
    pass runs during the next example): its first update is Adam's step on a zero
    gradient. snnflow's delay gradients, fed to the same Adam in that order, must
    give mlGeNN's delays after every batch. The delays move by < 0.05 steps, so
    the rounded delays, and the forward passes, stay the same throughout."""
    from snnflow.optimisers import Adam
    theirs = mlgenn_delays_after_each_batch()
    lib = library(snnflow)
    w_in, d_in, w_out, d_out, examples, labels = delay_task()
    net, inp, out, conns = build_delayed(lib, w_in, d_in, w_out, d_out)
    compiled = lib.EventPropCompiler(T, "sparse_categorical_crossentropy", batch_size=1,
                                     delay_learn_conns=list(conns)).compile(net)
    gradients = [[np.zeros(d.size) for d in (d_in, d_out)]]
    for e in range(3):
        _, _, grads = compiled.compute_gradients(
            {inp: [lib.preprocess_spikes(examples[e][0], examples[e][1], N_IN)]},
            {out: labels[e:e + 1]}, delays=True)
        gradients.append([grads[c].ravel() for c in conns])
    adam = Adam(DELAY_ALPHA)
    delays = [d_in.ravel().astype(np.float32), d_out.ravel().astype(np.float32)]
    states = [adam.state(d.shape) for d in delays]
    for batch, batch_gradients in enumerate(gradients):
        for conn in (0, 1):
            adam.step(delays[conn], batch_gradients[conn], states[conn])
            np.clip(delays[conn], 0, MAX_DELAY, out=delays[conn])
            start = (d_in, d_out)[conn].ravel()
            their_move, our_move = theirs[batch][conn] - start, delays[conn] - start
            if batch == 0:
                np.testing.assert_array_equal(their_move, 0.0)
                continue
            if conn:
                # Readout delays: the same updates (measured: to 6% of the largest)
                assert np.abs(their_move - our_move).max() < 0.1 * np.abs(their_move).max()
            else:
                # Hidden delays: the hidden gradients' discretisation difference
                # (docs/training.md); Adam's per-synapse normalisation makes the
                # sign of small gradients count (measured: correlation 0.79-0.81)
                assert np.corrcoef(their_move, our_move)[0, 1] > 0.7, (batch, our_move)
