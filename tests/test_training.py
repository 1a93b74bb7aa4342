"""Training with EventPropCompiler: the adjoint pass against a neuron-by-neuron
float64 reference, the training loop's hooks, Checkpoint, OptimiserParamSchedule,
recording during training, learning, determinism and bad input."""
import numpy as np
import pytest

from snnflow import Connection, Network, Population
from snnflow.callbacks import Callback, Checkpoint, OptimiserParamSchedule, SpikeRecorder
from snnflow.compilers import EventPropCompiler, InferenceCompiler
from snnflow.connectivity import Dense, OneToOne
from snnflow.initializers import Normal
from snnflow.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from snnflow.optimisers import Adam
from snnflow.serialisers import Numpy
from snnflow.synapses import Delta, Exponential
from snnflow.utils.data import preprocess_spikes

DT, TAU_MEM, TAU_SYN, THRESH, V_RESET = 1.0, 10.0, 5.0, 1.0, 0.0
ALPHA, BETA = np.exp(-DT / TAU_MEM), np.exp(-DT / TAU_SYN)


def network(w_in, w_out, w_rec=None, readout="avg_var", relative_reset=False):
    net = Network()
    with net:
        inp = Population(SpikeInput(), w_in.shape[0], name="inp")
        hid = Population(LeakyIntegrateFire(v_thresh=THRESH, v_reset=V_RESET, tau_mem=TAU_MEM,
                                            relative_reset=relative_reset), w_in.shape[1],
                         name="hid", record_spikes=True)
        out = Population(LeakyIntegrate(tau_mem=TAU_MEM, readout=readout), w_out.shape[1],
                         name="out")
        Connection(inp, hid, Dense(w_in), Exponential(TAU_SYN), name="in_hid")
        Connection(hid, out, Dense(w_out), Exponential(TAU_SYN), name="hid_out")
        if w_rec is not None:
            Connection(hid, hid, Dense(w_rec), Exponential(TAU_SYN), name="hid_hid")
    return net, inp, hid, out


def integer_trains(rng, num_examples, num_inputs, steps):
    """Two spikes per input at whole-ms times, and the same as a (example, step,
    input) array."""
    trains, grid = [], np.zeros((num_examples, steps, num_inputs))
    for b in range(num_examples):
        times = rng.integers(0, steps // 2, (num_inputs, 2))
        for i in range(num_inputs):
            times[i] = np.sort(times[i])
            if times[i, 0] == times[i, 1]:
                times[i, 1] += 1
            grid[b, times[i], i] = 1.0
        trains.append(preprocess_spikes(times.reshape(-1).astype(float),
                                         np.repeat(np.arange(num_inputs), 2), num_inputs))
    return trains, grid


# --- the adjoint pass against a neuron-by-neuron float64 reference -------------------------

def reference_gradients(w, inputs, targets, readout, loss, relative_reset, steps):
    """Forward in float64, then the adjoint equations one neuron at a time:

    between steps  lambda_V <- alpha lambda_V + dl/dV,
                   lambda_I <- lambda_V(target) + beta lambda_I,
    at a spike     lambda_V- = (Vdot+ lambda_V+ - sum_i w_ji (lambda_I,i / tau_syn -
                   lambda_V,i / dt)) / Vdot-, with Vdot- = I / dt - thresh / tau_mem
                   and Vdot+ = Vdot- + (thresh - v_reset) / tau_mem (targets' adjoints
                   from the step the spike arrives),
    dL/dw_ji sums lambda_I,i over the steps where a spike of j arrives."""
    w_in, w_out, w_rec = w["in_hid"], w["hid_out"], w.get("hid_hid")
    num_examples, _, n_in = inputs.shape
    n_hid, n_out = w_out.shape
    grads = {name: np.zeros_like(value) for name, value in w.items()}
    readouts, step_outputs = [], []
    spikes = np.zeros((num_examples, steps, n_hid))
    current = np.zeros((num_examples, steps, n_hid))
    for b in range(num_examples):
        syn_in, syn_rec, syn_out = np.zeros(n_hid), np.zeros(n_hid), np.zeros(n_out)
        v_hid, v_out, trace = np.zeros(n_hid), np.zeros(n_out), []
        for n in range(steps):
            if n:
                syn_in = BETA * syn_in + inputs[b, n - 1] @ w_in
                syn_out = BETA * syn_out + spikes[b, n - 1] @ w_out
                if w_rec is not None:
                    syn_rec = BETA * syn_rec + spikes[b, n - 1] @ w_rec
            current[b, n] = syn_in + syn_rec
            v_hid = ALPHA * v_hid + current[b, n]
            for j in range(n_hid):
                if v_hid[j] >= THRESH:
                    spikes[b, n, j] = 1.0
                    v_hid[j] = v_hid[j] - (THRESH - V_RESET) if relative_reset else V_RESET
            v_out = ALPHA * v_out + syn_out
            trace.append(v_out.copy())
        trace = np.array(trace)
        step_outputs.append(trace)
        readouts.append({"avg_var": trace.mean(axis=0), "sum_var": trace.sum(axis=0),
                         "max_var": np.maximum(trace.max(axis=0), 0.0),
                         "var": trace[-1]}[readout])

    def loss_gradient(values):  # d(batch-mean loss)/d(values), values (examples, n_out)
        if loss == "mean_square_error":
            return 2.0 * (values - targets) / values.size
        p = np.exp(values - values.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(num_examples), targets] -= 1.0
        return p / num_examples

    dl_dv = np.zeros((num_examples, steps, n_out))
    traces = np.array(step_outputs)
    if readout == "var":
        for n in range(steps):
            dl_dv[:, n] = loss_gradient(traces[:, n]) / steps
    else:
        g = loss_gradient(np.array(readouts))
        for b in range(num_examples):
            for k in range(n_out):
                if readout == "avg_var":
                    dl_dv[b, :, k] = g[b, k] / steps
                elif readout == "sum_var":
                    dl_dv[b, :, k] = g[b, k]
                elif traces[b, :, k].max() > 0:
                    dl_dv[b, np.argmax(traces[b, :, k]), k] = g[b, k]

    for b in range(num_examples):
        lam_v_hid, lam_v_out = np.zeros(n_hid), np.zeros(n_out)
        lam_i = {"in_hid": np.zeros(n_hid), "hid_hid": np.zeros(n_hid),
                 "hid_out": np.zeros(n_out)}
        for n in reversed(range(steps)):
            new_out = ALPHA * lam_v_out + dl_dv[b, n]
            new_hid = ALPHA * lam_v_hid
            for j in range(n_hid):
                if not spikes[b, n, j]:
                    continue
                slope = current[b, n, j] / DT - THRESH / TAU_MEM
                if slope <= 0:
                    continue
                drive = sum(w_out[j, i] * (lam_i["hid_out"][i] / TAU_SYN - lam_v_out[i] / DT)
                            for i in range(n_out))
                if w_rec is not None:
                    drive += sum(w_rec[j, i] * (lam_i["hid_hid"][i] / TAU_SYN
                                                - lam_v_hid[i] / DT) for i in range(n_hid))
                slope_after = slope + (THRESH - V_RESET) / TAU_MEM
                new_hid[j] = (slope_after * new_hid[j] - drive) / slope
            lam_v_hid, lam_v_out = new_hid, new_out
            for name, target in (("in_hid", lam_v_hid), ("hid_hid", lam_v_hid),
                                 ("hid_out", lam_v_out)):
                lam_i[name] = target + BETA * lam_i[name]
            if n:
                grads["in_hid"] += np.outer(inputs[b, n - 1], lam_i["in_hid"])
                grads["hid_out"] += np.outer(spikes[b, n - 1], lam_i["hid_out"])
                if w_rec is not None:
                    grads["hid_hid"] += np.outer(spikes[b, n - 1], lam_i["hid_hid"])
    return grads, spikes


CASES = [  # readout, loss, recurrent, relative reset
    ("avg_var", "sparse_categorical_crossentropy", False, False),
    ("sum_var", "sparse_categorical_crossentropy", True, True),
    ("max_var", "sparse_categorical_crossentropy", False, True),
    ("var", "sparse_categorical_crossentropy", True, False),
    ("avg_var", "mean_square_error", False, False),
]


@pytest.mark.parametrize("readout,loss,recurrent,relative_reset", CASES)
def test_adjoint_pass_matches_float64_neuron_by_neuron_reference(readout, loss, recurrent,
                                                                relative_reset):
    rng = np.random.default_rng(7)
    steps, n_in, n_hid, n_out = 24, 5, 4, 3
    w = {"in_hid": rng.uniform(0.0, 0.9, (n_in, n_hid)),
         "hid_out": rng.normal(0.0, 0.8, (n_hid, n_out))}
    if recurrent:
        w["hid_hid"] = rng.normal(0.0, 0.3, (n_hid, n_hid))
    w = {k: v.astype(np.float32).astype(np.float64) for k, v in w.items()}
    trains, grid = integer_trains(rng, 3, n_in, steps)
    targets = (rng.normal(0.0, 1.0, (3, n_out)) if loss == "mean_square_error"
               else np.array([0, 2, 1]))
    net, inp, _, out = network(w["in_hid"], w["hid_out"], w.get("hid_hid"), readout,
                               relative_reset)
    compiled = EventPropCompiler(steps, loss, batch_size=3).compile(net)
    _, grads = compiled.compute_gradients({inp: trains}, {out: targets})
    expected, spikes = reference_gradients(w, grid, targets, readout, loss, relative_reset,
                                           steps)
    assert 5 < spikes.sum(), "the test needs hidden spikes"
    for conn, gradient in grads.items():
        np.testing.assert_allclose(gradient, expected[conn.name], rtol=1e-4,
                                   atol=1e-5 * np.abs(expected[conn.name]).max())


# --- the training loop ----------------------------------------------------------------------

def small_task(num_examples=12, seed=0):
    """Two classes told apart by which half of the inputs fires first."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, num_examples)
    trains = []
    for label in labels:
        early = np.arange(4) + 4 * label
        late = np.arange(4) + 4 * (1 - label)
        times = np.concatenate([rng.uniform(0, 3, 4), rng.uniform(8, 12, 4)])
        trains.append(preprocess_spikes(times, np.concatenate([early, late]), 8))
    net = Network()
    with net:
        inp = Population(SpikeInput(), 8, name="inp")
        hid = Population(LeakyIntegrateFire(tau_mem=20.0), 16, name="hid", record_spikes=True)
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var"), 2, name="out")
        Connection(inp, hid, Dense(Normal(mean=0.3, sd=0.2)), Exponential(5.0), name="in_hid")
        Connection(hid, out, Dense(Normal(mean=0.0, sd=0.5)), Exponential(5.0), name="hid_out")
    return net, inp, hid, out, trains, labels


def compile_task(net, batch_size=4, seed=0, alpha=0.01):
    return EventPropCompiler(25, "sparse_categorical_crossentropy", optimiser=Adam(alpha),
                             batch_size=batch_size, rng_seed=seed).compile(net)


class HookLog(Callback):
    def __init__(self, log, name):
        self.log, self.name = log, name

    def __getattr__(self, hook):
        if not hook.startswith("on_") or hook.startswith("on_timestep"):
            raise AttributeError(hook)
        # Epoch and batch numbers, not metrics
        return lambda *args: self.log.append(
            (self.name, hook) + tuple(a for a in args if isinstance(a, int)))


def test_train_calls_hooks_in_keras_order():
    net, inp, _, out, trains, labels = small_task(5)
    log = []
    compile_task(net, batch_size=2).train({inp: trains}, {out: labels}, num_epochs=2,
                                          start_epoch=3, callbacks=[HookLog(log, "t")])
    epoch = [("t", "on_batch_begin", b) if i % 2 == 0 else ("t", "on_batch_end", b)
             for b in range(3) for i in range(2)]
    assert log == (
        [("t", "on_train_begin")]
        + [("t", "on_epoch_begin", 3)] + epoch + [("t", "on_epoch_end", 3)]
        + [("t", "on_epoch_begin", 4)] + epoch + [("t", "on_epoch_end", 4)]
        + [("t", "on_train_end")])


def test_train_validate_validates_before_epoch_end_with_its_own_callbacks():
    net, inp, hid, out, trains, labels = small_task(6)
    log = []
    metrics, val_metrics, cb, val_cb = compile_task(net, batch_size=4).train_validate(
        {inp: trains[:4]}, {out: labels[:4]}, {inp: trains[4:]}, {out: labels[4:]},
        num_epochs=2, callbacks=[HookLog(log, "t"), SpikeRecorder(hid, key="spikes")],
        validation_callbacks=[HookLog(log, "v"), SpikeRecorder(hid, key="val_spikes")])
    validation = [("v", "on_test_begin"), ("v", "on_batch_begin", 0),
                  ("v", "on_batch_end", 0), ("v", "on_test_end")]
    epoch = [("t", "on_batch_begin", 0), ("t", "on_batch_end", 0)]
    assert log == (
        [("t", "on_train_begin"), ("t", "on_epoch_begin", 0)] + epoch + validation
        + [("t", "on_epoch_end", 0), ("t", "on_epoch_begin", 1)] + epoch + validation
        + [("t", "on_epoch_end", 1), ("t", "on_train_end")])
    # Validation's examples never reach the training recorder, and vice versa
    assert len(cb["spikes"][0]) == 2 * 4 and len(val_cb["val_spikes"][0]) == 2 * 2
    assert metrics[out].state["total"] == 4 and val_metrics[out].state["total"] == 2


def test_recorders_see_examples_by_index_in_x_every_epoch():
    net, inp, hid, out, trains, labels = small_task(6)
    compiled = compile_task(net, batch_size=6)
    before = InferenceCompiler(25, batch_size=6).compile(net).evaluate(
        {inp: trains}, {out: labels}, callbacks=[SpikeRecorder(hid, key="s", example_filter=3)])
    _, cb = compiled.train({inp: trains}, {out: labels}, num_epochs=2, callbacks=[
        SpikeRecorder(hid, key="s", example_filter=3)])
    times, ids = cb["s"]
    assert len(times) == 2  # one recording of x[3] per epoch
    # The first epoch's only batch ran with the initial weights
    np.testing.assert_array_equal(times[0], before[1]["s"][0][0])
    np.testing.assert_array_equal(ids[0], before[1]["s"][1][0])


def test_training_learns_and_is_deterministic():
    net, inp, _, out, trains, labels = small_task(40, seed=1)
    results = []
    for _ in range(2):
        compiled = compile_task(net, batch_size=8, seed=5)
        metrics, _ = compiled.train({inp: trains}, {out: labels}, num_epochs=15, callbacks=[])
        results.append((metrics[out].result, {c.name: w.copy() for c, w in
                                               compiled.event_prop.weights().items()}))
    assert results[0][0] >= 0.9  # chance is 0.5
    for name, weight in results[0][1].items():
        np.testing.assert_array_equal(weight, results[1][1][name])


def test_checkpoints_restore_into_an_inference_network(tmp_path):
    net, inp, _, out, trains, labels = small_task(12)
    compiled = compile_task(net)
    compiled.train({inp: trains}, {out: labels}, num_epochs=3, callbacks=[
        Checkpoint(Numpy(tmp_path / "ckpt"), epoch_interval=2)])
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["0.npz", "2.npz"]
    trained, _ = compiled.evaluate({inp: trains}, {out: labels}, callbacks=[])
    net.load((2,), Numpy(tmp_path / "ckpt"))
    restored = InferenceCompiler(25, batch_size=4).compile(net)
    restored_metrics, _ = restored.evaluate({inp: trains}, {out: labels}, callbacks=[])
    assert restored_metrics[out].result == trained[out].result
    np.testing.assert_array_equal(
        restored.predict({inp: trains}, out, callbacks=[])[0][out],
        compiled.predict({inp: trains}, out, callbacks=[])[0][out])


def test_a_failed_save_leaves_no_partial_checkpoint(tmp_path, monkeypatch):
    serialiser = Numpy(tmp_path)
    serialiser.serialise((1,), {"a": np.ones(3)})

    def broken(file, **arrays):
        file.write(b"half")
        raise OSError("disk full")
    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        serialiser.serialise((1,), {"a": np.zeros(3)})
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["1.npz"]
    np.testing.assert_array_equal(serialiser.deserialise((1,))["a"], np.ones(3))


def test_optimiser_param_schedule_sets_the_learning_rate_each_epoch():
    net, inp, _, out, trains, labels = small_task(8)
    compiled = compile_task(net, alpha=0.01)
    calls = []

    def schedule(epoch, alpha):
        calls.append((epoch, alpha))
        return 0.01 if epoch == 0 else 0.0
    weights = compiled.event_prop.weights()
    snapshots = [{c.name: w.copy() for c, w in weights.items()}]

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, metrics):
            snapshots.append({c.name: w.copy() for c, w in weights.items()})
    compiled.train({inp: trains}, {out: labels}, num_epochs=3, callbacks=[
        OptimiserParamSchedule("alpha", schedule), Snapshot()])
    assert calls == [(0, 0.01), (1, 0.01), (2, 0.0)]
    assert compiled.optimiser.alpha == 0.0
    # Epoch 0 learns; with alpha = 0 from epoch 1 on, the weights stop changing
    assert np.any(snapshots[0]["hid_out"] != snapshots[1]["hid_out"])
    for name in snapshots[0]:
        np.testing.assert_array_equal(snapshots[1][name], snapshots[2][name])
        np.testing.assert_array_equal(snapshots[2][name], snapshots[3][name])


# --- bad input, refused before any training -----------------------------------------------

class Steps(Callback):
    def __init__(self):
        self.batches = 0

    def on_batch_begin(self, batch):
        self.batches += 1


def test_bad_labels_are_refused_before_training():
    net, inp, _, out, trains, labels = small_task(4)
    compiled = compile_task(net)
    steps = Steps()
    with pytest.raises(ValueError, match="label 2"):
        compiled.train({inp: trains}, {out: np.array([0, 1, 2, 0])}, 1, callbacks=[steps])
    assert steps.batches == 0


def test_bad_networks_and_losses_are_refused_at_compile():
    net, inp, hid, out, trains, labels = small_task(4)
    with pytest.raises(ValueError, match="not a readout population"):
        EventPropCompiler(10, {hid: "sparse_categorical_crossentropy"}).compile(net)
    with pytest.raises(ValueError, match="no entry for readout population"):
        EventPropCompiler(10, {}).compile(net)
    with pytest.raises(KeyError, match="unknown loss"):
        EventPropCompiler(10, "hinge")
    other = Network()
    with other:
        a = Population(SpikeInput(), 3)
        b = Population(LeakyIntegrate(readout="avg_var"), 3)
        Connection(a, b, OneToOne(1.0), Exponential(5.0))
    with pytest.raises(ValueError, match="Dense, FixedProbability and Conv2D connectivity, got "
                                         "OneToOne"):
        EventPropCompiler(10, "sparse_categorical_crossentropy").compile(other)
    delta = Network()
    with delta:
        a = Population(SpikeInput(), 3)
        b = Population(LeakyIntegrate(readout="avg_var"), 3)
        Connection(a, b, Dense(1.0), Delta())
    with pytest.raises(ValueError, match="Exponential synapses"):
        EventPropCompiler(10, "sparse_categorical_crossentropy").compile(delta)
    delayed = Network()
    with delayed:
        a = Population(SpikeInput(), 3)
        b = Population(LeakyIntegrate(readout="avg_var"), 3)
        Connection(a, b, OneToOne(1.0, delay=1), Exponential(5.0), name="late")
    with pytest.raises(ValueError, match="connection late: EventPropCompiler trains "
                                         "connections with synaptic delays on Dense and "
                                         "FixedProbability connectivity only, got OneToOne"):
        EventPropCompiler(10, "sparse_categorical_crossentropy").compile(delayed)


def test_unknown_schedule_parameter_is_refused_before_training():
    net, inp, _, out, trains, labels = small_task(4)
    steps = Steps()
    with pytest.raises(ValueError, match="no parameter 'learning_rate'.*alpha"):
        compile_task(net).train({inp: trains}, {out: labels}, 1, callbacks=[
            steps, OptimiserParamSchedule("learning_rate", lambda e, v: v)])
    assert steps.batches == 0


def test_unwritable_checkpoint_path_fails_before_the_first_epoch(tmp_path):
    net, inp, _, out, trains, labels = small_task(4)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    steps = Steps()
    with pytest.raises(OSError, match="Checkpoint cannot write"):
        compile_task(net).train({inp: trains}, {out: labels}, 1, callbacks=[
            steps, Checkpoint(Numpy(blocker / "ckpt"))])
    assert steps.batches == 0


def test_loading_a_checkpoint_of_another_network_changes_nothing(tmp_path):
    net, inp, _, out, trains, labels = small_task(4)
    compile_task(net).save(("x",), Numpy(tmp_path))
    other, *_ = small_task(4)
    bigger = Network()
    with bigger:
        a = Population(SpikeInput(), 8, name="inp")
        b = Population(LeakyIntegrateFire(), 32, name="hid")
        c = Population(LeakyIntegrate(readout="avg_var"), 2, name="out")
        first = Connection(a, b, Dense(0.5), Exponential(), name="in_hid")
        Connection(b, c, Dense(0.5), Exponential(), name="hid_out")
    with pytest.raises(ValueError, match="in_hid.*\\(8, 32\\)"):
        bigger.load(("x",), Numpy(tmp_path))
    assert first.connectivity.weight == 0.5
    with pytest.raises(FileNotFoundError, match="does not exist"):
        bigger.load(("missing",), Numpy(tmp_path))
