"""EventPropCompiler's mlGeNN 2.x arguments and what they train: default_params,
regularisation from both sides, max_spikes, per-timestep targets and losses,
avg_var_exp_weight, RelativeMeanSquareError, train's validation arguments, and
their refusals. Gradients are checked against finite differences of float64
re-simulations written from the equations (docs/models.md)."""
import numpy as np
import pytest

from snnflow import Connection, Network, Population
from snnflow.callbacks import SpikeRecorder
from snnflow.compilers import EventPropCompiler, InferenceCompiler
from snnflow.compilers.event_prop_compiler import default_params
from snnflow.connectivity import Dense
from snnflow.initializers import Normal
from snnflow.losses import RelativeMeanSquareError
from snnflow.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from snnflow.optimisers import Adam
from snnflow.synapses import Exponential
from snnflow.utils.data import preprocess_spikes

TAU_MEM, TAU_SYN = 10.0, 5.0


def build(w_in, w_out, readout="avg_var", defaults=None):
    net = Network(defaults)
    with net:
        inp = Population(SpikeInput(), w_in.shape[0], name="inp")
        hid = Population(LeakyIntegrateFire(tau_mem=TAU_MEM, tau_refrac=None), w_in.shape[1],
                         name="hid", record_spikes=True)
        out = Population(LeakyIntegrate(tau_mem=TAU_MEM, readout=readout), w_out.shape[1],
                         name="out")
        Connection(inp, hid, Dense(w_in), Exponential(TAU_SYN), name="in_hid")
        Connection(hid, out, Dense(w_out), Exponential(TAU_SYN), name="hid_out")
    return net, inp, hid, out


def trains_for(rng, num_examples, num_inputs, t_max=20):
    return [preprocess_spikes(rng.uniform(0, t_max, 3 * num_inputs),
                              np.repeat(np.arange(num_inputs), 3), num_inputs)
            for _ in range(num_examples)]


def hidden_spikes(net, inp, hid, out, trains, steps):
    """(examples, steps, hidden) spikes of an inference run of the same network."""
    compiled = InferenceCompiler(steps, batch_size=len(trains)).compile(net)
    _, cb = compiled.predict({inp: trains}, [out], callbacks=[SpikeRecorder(hid, key="h")])
    spikes = np.zeros((len(trains), steps, hid.num_neurons))
    for b, (times, ids) in enumerate(zip(*cb["h"])):
        spikes[b, np.round(times).astype(int), ids] = 1.0
    return spikes


def readout_traces(spikes, w, steps, scale_i=False):
    """Output V per step (examples, steps, outputs), in float64, given hidden spikes."""
    alpha, beta = np.exp(-1.0 / TAU_MEM), np.exp(-1.0 / TAU_SYN)
    syn_scale = TAU_SYN * (1.0 - beta) if scale_i else 1.0
    v_scale = 1.0 - alpha if scale_i else 1.0
    in_syn = np.zeros((spikes.shape[0], w.shape[1]))
    v = np.zeros_like(in_syn)
    trace = []
    for n in range(steps):
        in_syn = beta * in_syn + (spikes[:, n - 1] @ w if n else 0.0)
        v = alpha * v + v_scale * syn_scale * in_syn
        trace.append(v)
    return np.stack(trace, axis=1)


def finite_differences(loss, w, h=1e-6):
    numeric = np.zeros_like(w)
    for index in np.ndindex(w.shape):
        step = np.zeros_like(w)
        step[index] = h
        numeric[index] = (loss(w + step) - loss(w - step)) / (2 * h)
    return numeric


def cross_entropy(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels].mean()


@pytest.fixture
def task():
    rng = np.random.default_rng(3)
    w_in = rng.uniform(0.0, 0.5, (8, 6)).astype(np.float32)
    w_out = rng.normal(0.0, 0.5, (6, 3)).astype(np.float32)
    return w_in, w_out, trains_for(rng, 4, 8), np.array([0, 1, 2, 1])


# --- gradients of the new readouts and losses ------------------------------------------------


def assert_readout_gradient_is_numeric(grads, loss, w_out):
    """The gradient of the hidden -> output weights equals the finite differences
    of ``loss`` (a float64 reference of the loss as a function of them)."""
    numeric = finite_differences(loss, w_out.astype(np.float64))
    got = {c.name: g for c, g in grads.items()}["hid_out"]
    np.testing.assert_allclose(got, numeric, rtol=1e-4, atol=1e-4 * np.abs(numeric).max())


def test_avg_var_exp_weight_gradient_equals_finite_differences(task):
    w_in, w_out, trains, labels = task
    steps = 30
    net, inp, hid, out = build(w_in, w_out, readout="avg_var_exp_weight")
    compiled = EventPropCompiler(steps, "sparse_categorical_crossentropy",
                                 batch_size=4).compile(net)
    _, grads = compiled.compute_gradients({inp: trains}, {out: labels})
    spikes = hidden_spikes(net, inp, hid, out, trains, steps)
    assert spikes.sum() > 10
    weights = np.exp(-np.arange(steps) / steps) / steps

    def loss(w):
        return cross_entropy(np.einsum("bto,t->bo", readout_traces(spikes, w, steps),
                                       weights), labels)
    assert_readout_gradient_is_numeric(grads, loss, w_out)


def test_per_timestep_mse_targets_train_each_step_on_its_own_target(task):
    w_in, w_out, trains, _ = task
    steps = 25
    targets = np.random.default_rng(0).normal(0.0, 1.0, (4, steps, 3)).astype(np.float32)
    net, inp, hid, out = build(w_in, w_out, readout="var", defaults=default_params)
    compiled = EventPropCompiler(steps, "mean_square_error", batch_size=4).compile(net)
    loss_value, grads = compiled.compute_gradients({inp: trains}, {out: targets})
    spikes = hidden_spikes(net, inp, hid, out, trains, steps)

    def loss(w):
        error = readout_traces(spikes, w, steps, scale_i=True) - targets
        return np.mean(error * error)
    assert loss_value == pytest.approx(loss(w_out.astype(np.float64)), rel=1e-5)
    assert_readout_gradient_is_numeric(grads, loss, w_out)


def test_per_timestep_loss_applies_cross_entropy_at_every_step(task):
    w_in, w_out, trains, labels = task
    steps = 25
    net, inp, hid, out = build(w_in, w_out)
    compiled = EventPropCompiler(steps, "sparse_categorical_crossentropy", batch_size=4,
                                 per_timestep_loss=True).compile(net)
    loss_value, grads = compiled.compute_gradients({inp: trains}, {out: labels})
    spikes = hidden_spikes(net, inp, hid, out, trains, steps)

    def loss(w):
        trace = readout_traces(spikes, w, steps)
        return np.mean([cross_entropy(trace[:, t], labels) for t in range(steps)])
    assert loss_value == pytest.approx(loss(w_out.astype(np.float64)), rel=1e-5)
    assert_readout_gradient_is_numeric(grads, loss, w_out)


def test_relative_mean_square_error_gradient_equals_finite_differences():
    rng = np.random.default_rng(0)
    readout = rng.normal(0.0, 2.0, (5, 3))
    labels = np.array([0, 2, 1, 1, 0])
    loss = RelativeMeanSquareError(1.0)
    value, gradient = loss.value_and_gradient(labels, readout)

    def f(r):
        total = 0.0
        for b, y in enumerate(labels):
            for n in range(3):
                if n != y:
                    total += 0.5 * (r[b, y] - r[b, n] - 1.0) ** 2
        return total / len(labels)
    assert value == pytest.approx(f(readout))
    np.testing.assert_allclose(gradient, finite_differences(f, readout), rtol=1e-6, atol=1e-9)


# --- regularisation and max_spikes --------------------------------------------------------

def test_lower_regularisation_pushes_quiet_neurons_up_and_upper_pushes_busy_ones_down(task):
    w_in, w_out, trains, labels = task
    net, inp, hid, out = build(w_in, w_out)

    def hidden_gradient(**kwargs):
        compiled = EventPropCompiler(30, "sparse_categorical_crossentropy", batch_size=4,
                                     **kwargs).compile(net)
        _, grads = compiled.compute_gradients({inp: trains}, {out: labels})
        return {c.name: g for c, g in grads.items()}["in_hid"]
    plain = hidden_gradient()
    # nu far above every count: only the lower strength acts, and raises the weights
    # (a negative gradient); far below: only the upper one, lowering them
    below = hidden_gradient(reg_lambda_lower=1e-2, reg_lambda_upper=5.0, reg_nu_upper=100)
    above = hidden_gradient(reg_lambda_lower=5.0, reg_lambda_upper=1e-2, reg_nu_upper=0)
    assert (below - plain).sum() < 0 < (above - plain).sum()
    # per-population strengths: a population not named is not regularised
    other = hidden_gradient(reg_lambda_upper={out: 1.0}, reg_nu_upper=0)
    np.testing.assert_array_equal(other, plain)


def test_max_spikes_exceeded_stops_training_naming_population_and_what_to_raise(task):
    w_in, w_out, trains, labels = task
    net, inp, hid, out = build(w_in * 20, w_out)
    # Inputs spike 3 times each: within budget; the overdriven hidden neurons are not
    compiled = EventPropCompiler(30, "sparse_categorical_crossentropy", batch_size=4,
                                 max_spikes=3).compile(net)
    with pytest.raises(ValueError, match=r"population hid: neuron \d+ spiked \d+ times.*"
                                         r"max_spikes=3; raise max_spikes to at least"):
        compiled.train({inp: trains}, {out: labels}, num_epochs=1, callbacks=[])


# --- the API: arguments, default_params, validation ------------------------------------------

def test_default_params_give_mlgenn_eventprop_models():
    net = Network(default_params)
    with net:
        lif = LeakyIntegrateFire()
        li = LeakyIntegrate()
        syn = Exponential(5.0)
    assert (lif.relative_reset, lif.integrate_during_refrac, lif.scale_i) == (False, False, True)
    assert li.scale_i and syn.scale_i


def test_compiler_takes_every_mlgenn_argument():
    compiler = EventPropCompiler(
        example_timesteps=20, losses="sparse_categorical_crossentropy", optimiser=Adam(1e-3),
        reg_lambda_upper=1e-9, reg_lambda_lower=1e-9, reg_nu_upper=14, max_spikes=1500,
        strict_buffer_checking=True, per_timestep_loss=False, dt=1.0, ttfs_alpha=0.1,
        softmax_temperature=0.5, batch_size=32, rng_seed=0, kernel_profiling=True,
        communicator=None, selectGPUByDeviceID=True)
    assert compiler.max_spikes == 1500 and compiler.genn_kwargs == {"selectGPUByDeviceID": True}


@pytest.mark.parametrize("kwargs, message", [
    ({"deep_r_conns": ["c"]}, "deep-R"),
    ({"max_spikes": 0}, "max_spikes must be an int >= 1, got 0"),
    ({"reg_lambda_lower": -1.0}, "reg_lambda_lower must be a number >= 0, got -1.0"),
    ({"softmax_temperature": 0}, "softmax_temperature must be a number > 0, got 0"),
])
def test_bad_compiler_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EventPropCompiler(20, "sparse_categorical_crossentropy", **kwargs)


def test_per_timestep_targets_of_the_wrong_length_are_refused(task):
    w_in, w_out, trains, _ = task
    net, inp, hid, out = build(w_in, w_out, readout="var")
    compiled = EventPropCompiler(25, "mean_square_error", batch_size=4).compile(net)
    with pytest.raises(ValueError, match=r"y\[out\]: per-timestep targets have shape "
                                         r"\(24, 3\) per example, expected"):
        compiled.train({inp: trains}, {out: np.zeros((4, 24, 3))}, num_epochs=1)


def test_train_with_validation_arguments_returns_validation_results(task):
    w_in, w_out, trains, labels = task
    net, inp, hid, out = build(w_in, w_out)
    compiled = EventPropCompiler(25, "sparse_categorical_crossentropy",
                                 batch_size=2).compile(net)
    result = compiled.train({inp: trains}, {out: labels}, num_epochs=1, callbacks=[],
                            validation_callbacks=[], validation_split=0.5)
    metrics, validation_metrics, _, _ = result
    assert validation_metrics[out].state["total"] == 2 and metrics[out].state["total"] == 2
    _, validation_metrics, _, _ = compiled.train(
        {inp: trains}, {out: labels}, num_epochs=1, callbacks=[], validation_callbacks=[],
        validation_x={inp: trains[:1]}, validation_y={out: labels[:1]})
    assert validation_metrics[out].state["total"] == 1
    with pytest.raises(ValueError, match="validation_split or validation_x"):
        compiled.train({inp: trains}, {out: labels}, num_epochs=1, validation_split=0.5,
                       validation_x={inp: trains}, validation_y={out: labels})
    with pytest.raises(ValueError, match="validation_split must be a number in"):
        compiled.train({inp: trains}, {out: labels}, num_epochs=1, validation_split=1.5)


def test_pattern_recognition_style_training_reduces_the_error():
    """Per-timestep targets with the default metric (scored by squared error)."""
    rng = np.random.default_rng(0)
    steps = 60
    net = Network(default_params)
    with net:
        inp = Population(SpikeInput(), 10)
        hid = Population(LeakyIntegrateFire(v_thresh=0.61, tau_mem=20.0, tau_refrac=None), 32)
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="var"), 2)
        Connection(inp, hid, Dense(Normal(sd=2.5 / np.sqrt(10))), Exponential(5.0))
        Connection(hid, hid, Dense(Normal(sd=1.5 / np.sqrt(32))), Exponential(5.0))
        Connection(hid, out, Dense(Normal(sd=2.0 / np.sqrt(32))), Exponential(5.0))
    times = np.arange(10) * 5.0
    trains = [preprocess_spikes(times, np.arange(10), 10)] * 8
    target = np.sin(np.outer(np.arange(steps), [0.05, 0.1]))
    compiled = EventPropCompiler(steps, "mean_square_error", optimiser=Adam(0.01),
                                 max_spikes=100, batch_size=1).compile(net)
    errors = []
    for epoch in range(4):
        metrics, _ = compiled.train({inp: trains}, {out: [target] * 8}, num_epochs=1,
                                    start_epoch=epoch, callbacks=[])
        errors.append(metrics[out].result)
    assert errors[-1] < errors[0]
    del rng


# --- sparse and convolutional connectivity -----------------------------------------------

def conv_and_dense_gradients(connectivity_for):
    """Gradients of a network whose input connection is sparse or convolutional,
    and of the same network with that connection's weights as a Dense matrix."""
    rng = np.random.default_rng(5)
    trains = trains_for(rng, 3, 36, t_max=15)
    labels = np.array([0, 1, 2])
    results = []
    for dense in (False, True):
        net = Network(default_params)
        with net:
            inp = Population(SpikeInput(), (6, 6, 1), name="inp")
            hid = Population(LeakyIntegrateFire(tau_mem=TAU_MEM, tau_refrac=None),
                             (4, 4, 2), name="hid")
            out = Population(LeakyIntegrate(tau_mem=TAU_MEM, readout="avg_var"), 3, name="out")
            conn = Connection(inp, hid, connectivity_for(rng if not dense else None),
                              Exponential(TAU_SYN), name="in_hid")
            Connection(hid, out, Dense(np.random.default_rng(1).normal(0, 0.5, (32, 3))),
                       Exponential(TAU_SYN), name="hid_out")
        compiled = EventPropCompiler(30, "sparse_categorical_crossentropy",
                                     batch_size=3).compile(net)
        if not dense:
            matrix = compiled.engine.conns[0].propagator.matrix
            expanded = matrix.toarray()
        else:
            compiled.engine.conns[0].propagator.matrix[...] = expanded
        _, grads = compiled.compute_gradients({inp: trains}, {out: labels})
        results.append((grads[conn], matrix))
    (sparse_grad, matrix), (dense_grad, _) = results
    return sparse_grad, matrix, dense_grad


def test_conv2d_kernel_gradient_sums_the_dense_gradient_over_shared_synapses():
    from snnflow.connectivity import Conv2D
    kernel = np.random.default_rng(2).normal(0.4, 0.3, (3, 3, 1, 2)).astype(np.float32)
    sparse_grad, matrix, dense_grad = conv_and_dense_gradients(
        lambda rng: Conv2D(kernel, 2, 3) if rng is not None else Dense(0.0))
    assert sparse_grad.shape == kernel.shape and np.abs(dense_grad).max() > 0
    # The kernel entry of every synapse, from a convolution of numbered kernels
    rows, cols = np.nonzero(matrix.toarray())
    expected = np.zeros(kernel.size)
    values = matrix.toarray()[rows, cols]
    for entry in range(kernel.size):
        shares = np.isclose(values, kernel.ravel()[entry])
        expected[entry] = dense_grad[rows[shares], cols[shares]].sum()
    np.testing.assert_allclose(sparse_grad.ravel(), expected, rtol=1e-9, atol=1e-12)


def test_fixed_probability_gradient_is_the_dense_gradient_at_each_synapse():
    from snnflow.connectivity import FixedProbability
    sparse_grad, matrix, dense_grad = conv_and_dense_gradients(
        lambda rng: FixedProbability(0.5, Normal(mean=0.3, sd=0.2)) if rng is not None
        else Dense(0.0))
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    np.testing.assert_allclose(sparse_grad, dense_grad[rows, matrix.indices], rtol=1e-9,
                               atol=1e-12)


def test_sparse_connection_out_of_a_hidden_layer_back_propagates_as_dense():
    """A sparse connection's weights carry the adjoint back into the hidden layer
    (its spikes' jumps) exactly as the same weights in a Dense matrix do."""
    from snnflow.connectivity import FixedProbability
    rng = np.random.default_rng(7)
    trains = trains_for(rng, 3, 8)
    labels = np.array([0, 1, 2])
    w_in = rng.uniform(0.0, 0.5, (8, 6)).astype(np.float32)
    grads = []
    for dense in (False, True):
        net = Network()
        with net:
            inp = Population(SpikeInput(), 8)
            hid = Population(LeakyIntegrateFire(tau_mem=TAU_MEM), 6)
            out = Population(LeakyIntegrate(tau_mem=TAU_MEM, readout="avg_var"), 3)
            c_in = Connection(inp, hid, Dense(w_in), Exponential(TAU_SYN))
            Connection(hid, out, FixedProbability(0.6, Normal(sd=0.8)) if not dense
                       else Dense(0.0), Exponential(TAU_SYN))
        compiled = EventPropCompiler(30, "sparse_categorical_crossentropy",
                                     batch_size=3, rng_seed=3).compile(net)
        if not dense:
            expanded = compiled.engine.conns[1].propagator.matrix.toarray()
        else:
            compiled.engine.conns[1].propagator.matrix[...] = expanded
        _, g = compiled.compute_gradients({inp: trains}, {out: labels})
        grads.append(g[c_in])
    assert np.abs(grads[1]).max() > 0
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-9, atol=1e-12)


def test_jumps_computed_pairwise_or_by_whole_products_agree(task, monkeypatch):
    import snnflow.backends.numpy.event_prop as event_prop
    w_in, w_out, trains, labels = task
    net, inp, hid, out = build(w_in * 3, w_out)
    results = []
    for fraction in (0.0, 1.0):
        monkeypatch.setattr(event_prop, "PAIRWISE_FRACTION", fraction)
        compiled = EventPropCompiler(30, "sparse_categorical_crossentropy", batch_size=4,
                                     reg_lambda_upper=1e-3, reg_nu_upper=1).compile(net)
        _, grads = compiled.compute_gradients({inp: trains}, {out: labels})
        results.append({c.name: g for c, g in grads.items()})
    assert np.abs(results[0]["in_hid"]).max() > 0
    for name in results[0]:
        np.testing.assert_allclose(results[0][name], results[1][name], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", ["fixed_probability", "conv2d"])
def test_training_sparse_and_convolutional_weights_changes_the_simulation(kind):
    """The optimiser's steps must reach the engine: the loss of the same batch
    changes after one step, and the trained weights are what the engine reports."""
    from snnflow.connectivity import Conv2D, FixedProbability
    rng = np.random.default_rng(5)
    trains = trains_for(rng, 4, 36, t_max=15)
    labels = np.array([0, 1, 2, 1])
    net = Network(default_params)
    with net:
        inp = Population(SpikeInput(), (6, 6, 1))
        hid = Population(LeakyIntegrateFire(tau_mem=TAU_MEM, tau_refrac=None), (4, 4, 2))
        out = Population(LeakyIntegrate(tau_mem=TAU_MEM, readout="avg_var"), 3)
        first = (FixedProbability(0.5, Normal(mean=1.0, sd=0.5)) if kind == "fixed_probability"
                 else Conv2D(Normal(mean=1.0, sd=0.5), 2, 3))
        conn = Connection(inp, hid, first, Exponential(TAU_SYN))
        Connection(hid, out, FixedProbability(0.8, Normal(sd=1.0)), Exponential(TAU_SYN))
    compiled = EventPropCompiler(30, "sparse_categorical_crossentropy", batch_size=4,
                                 optimiser=Adam(0.1)).compile(net)
    before, _ = compiled.compute_gradients({inp: trains}, {out: labels})
    compiled.train({inp: trains}, {out: labels}, num_epochs=1, callbacks=[], shuffle=False)
    after, _ = compiled.compute_gradients({inp: trains}, {out: labels})
    assert after != before
    trained = compiled.event_prop.weights()[conn]
    simulated = compiled.engine.get_conn_var(conn, "weight")
    if kind == "fixed_probability":
        np.testing.assert_array_equal(simulated[simulated != 0], trained[trained != 0])
    else:
        assert set(np.unique(simulated[simulated != 0])) <= set(trained.ravel())


@pytest.mark.parametrize("delay", [0, np.arange(8 * 6).reshape(8, 6) % 3])
def test_connection_populations_change_weights_as_pygenn_does(delay):
    """mlGeNN's shd_delay_shift_blend.py: pull g, add to columns of its flat view
    reshaped (n_pre, n_post), push; the engine must simulate the pushed weights,
    also where it delivers from a copy sorted by delay."""
    rng = np.random.default_rng(0)
    net = Network()
    with net:
        inp = Population(SpikeInput(max_spikes=100), 8)
        out = Population(LeakyIntegrate(tau_mem=10.0, readout="avg_var"), 6)
        conn = Connection(inp, out, Dense(rng.normal(0, 1, (8, 6)).astype(np.float32),
                                          delay=delay),
                          Exponential(5.0), max_delay_steps=2)
    compiled = EventPropCompiler(20, "sparse_categorical_crossentropy", batch_size=2,
                                 delay_learn_conns=[conn]).compile(net)
    variables = compiled.connection_populations[conn].vars
    assert sorted(variables) == ["d", "g"]
    g = variables["g"]
    g.pull_from_device()
    before = g.view.copy()
    g.view.reshape(8, 6)[:, [1, 4]] += 0.25
    g.push_to_device()
    expected = before.reshape(8, 6).copy()
    expected[:, [1, 4]] += 0.25
    np.testing.assert_array_equal(compiled.engine.get_conn_var(conn, "weight"), expected)
    trains = [preprocess_spikes(rng.uniform(0, 15, 20).round(), rng.integers(0, 8, 20), 8)
              for _ in range(2)]
    after = compiled.predict({inp: trains}, [out], callbacks=[])[0][out]
    conn.connectivity.weight = expected
    fresh = InferenceCompiler(20, batch_size=2).compile(net).predict(
        {inp: trains}, [out], callbacks=[])[0][out]
    np.testing.assert_array_equal(after, fresh)
    variables["d"].pull_from_device()
    np.testing.assert_array_equal(variables["d"].view, np.broadcast_to(delay, (8, 6)).ravel())
