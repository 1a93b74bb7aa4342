"""EventProp gradients against three independent references:

* readout weights: finite differences of a float64 re-simulation of the readout
  given the hidden spikes (the loss is linear in them given the spikes);
* every weight: finite differences of an exact, event-based continuous-time
  simulation (spike times found by root finding), in the regime where no spike
  appears or disappears;
* every weight: a float64 time-stepped adjoint written out neuron by neuron from
  the equations of Wunderlich and Pehle (2021), on feed-forward and recurrent
  networks with every trainable readout and both losses.
"""
import numpy as np
import pytest

from snnflow import Connection, Network, Population
from snnflow.callbacks import SpikeRecorder
from snnflow.compilers import EventPropCompiler, InferenceCompiler
from snnflow.connectivity import Dense
from snnflow.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from snnflow.synapses import Exponential
from snnflow.utils.data import preprocess_spikes

TAU_MEM, TAU_SYN, THRESH = 10.0, 5.0, 1.0


def build(w_in, w_out, w_rec=None, readout="avg_var", scale_i=False, relative_reset=False):
    net = Network()
    with net:
        inp = Population(SpikeInput(), w_in.shape[0], name="inp")
        hid = Population(LeakyIntegrateFire(v_thresh=THRESH, tau_mem=TAU_MEM, scale_i=scale_i,
                                            relative_reset=relative_reset), w_in.shape[1],
                         record_spikes=True,
                         name="hid")
        out = Population(LeakyIntegrate(tau_mem=TAU_MEM, readout=readout, scale_i=scale_i),
                         w_out.shape[1], name="out")
        Connection(inp, hid, Dense(w_in), Exponential(TAU_SYN, scale_i), name="in_hid")
        Connection(hid, out, Dense(w_out), Exponential(TAU_SYN, scale_i), name="hid_out")
        if w_rec is not None:
            Connection(hid, hid, Dense(w_rec), Exponential(TAU_SYN, scale_i), name="hid_hid")
    return net, inp, hid, out


def random_trains(rng, num_examples, num_inputs, spikes_per_input, t_max, dt):
    """Spike trains with times on the dt grid (so the engine sees them exactly)."""
    trains, times = [], []
    for _ in range(num_examples):
        per_neuron = [np.sort(rng.integers(1, int(t_max / dt), spikes_per_input)) * dt
                      for _ in range(num_inputs)]
        ids = np.repeat(np.arange(num_inputs), spikes_per_input)
        trains.append(preprocess_spikes(np.concatenate(per_neuron), ids, num_inputs))
        times.append(per_neuron)
    return trains, times


def cross_entropy(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels].mean()


def gradients(net, inp, out, trains, labels, timesteps, dt=1.0):
    compiled = EventPropCompiler(timesteps, "sparse_categorical_crossentropy", dt=dt,
                                 batch_size=len(trains)).compile(net)
    loss_value, grads = compiled.compute_gradients({inp: trains}, {out: labels})
    return loss_value, {conn.name: g for conn, g in grads.items()}


# --- readout weights: finite differences given the hidden spikes --------------------------

def test_readout_gradient_equals_finite_differences_of_the_simulated_loss():
    rng = np.random.default_rng(1)
    w_in = rng.uniform(0.0, 0.5, (8, 6)).astype(np.float32)
    w_out = rng.normal(0.0, 0.5, (6, 3)).astype(np.float32)
    steps = 40
    trains, _ = random_trains(rng, 4, 8, 3, 30, 1.0)
    labels = np.array([0, 1, 2, 1])
    net, inp, hid, out = build(w_in, w_out)
    _, grads = gradients(net, inp, out, trains, labels, steps)

    # The hidden spikes, from an inference run of the same network
    compiled = InferenceCompiler(steps, batch_size=4).compile(net)
    _, cb = compiled.evaluate({inp: trains}, {out: labels},
                              callbacks=[SpikeRecorder(hid, key="hid")])
    spikes = np.zeros((4, steps, 6))
    for b, (times, ids) in enumerate(zip(*cb["hid"])):
        spikes[b, np.round(times).astype(int), ids] = 1.0
    assert spikes.sum() > 10, "the test needs hidden spikes"

    alpha, beta = np.exp(-1.0 / TAU_MEM), np.exp(-1.0 / TAU_SYN)

    def loss(w):
        in_syn = np.zeros((4, 3))
        v = np.zeros((4, 3))
        total = np.zeros((4, 3))
        for n in range(steps):
            in_syn = beta * in_syn + (spikes[:, n - 1] @ w if n else 0.0)
            v = alpha * v + in_syn
            total += v / steps
        return cross_entropy(total, labels)

    w = w_out.astype(np.float64)
    numeric = np.zeros_like(w)
    h = 1e-6
    for index in np.ndindex(w.shape):
        step = np.zeros_like(w)
        step[index] = h
        numeric[index] = (loss(w + step) - loss(w - step)) / (2 * h)
    np.testing.assert_allclose(grads["hid_out"], numeric, rtol=1e-4,
                               atol=1e-4 * np.abs(numeric).max())


# --- every weight: exact continuous-time simulation ---------------------------------------

def kernel(t):
    """V of a neuron with tau_mem dV/dt = -V + S after S jumps by 1 at t = 0."""
    a = TAU_SYN / (TAU_SYN - TAU_MEM)
    return np.where(t > 0, a * (np.exp(-t / TAU_SYN) - np.exp(-t / TAU_MEM)), 0.0)


def kernel_integral(length):
    a = TAU_SYN / (TAU_SYN - TAU_MEM)
    length = np.maximum(length, 0.0)
    return a * (TAU_SYN * (1 - np.exp(-length / TAU_SYN))
                - TAU_MEM * (1 - np.exp(-length / TAU_MEM)))


def exact_hidden_spikes(w_in, arrivals, t_end, delay):
    """Crossing times of each hidden neuron, found on a fine grid and refined by
    bisection; after a crossing V restarts from 0 (V - THRESH decays away).
    ``arrivals``: each input's arrival times, or a function of the hidden neuron
    giving them (for synapses with delays of their own)."""
    grid = np.arange(0.0, t_end, 5e-3)
    spikes = []
    for j in range(w_in.shape[1]):
        arriving = arrivals(j) if callable(arrivals) else arrivals

        def v(t, own, j=j, arriving=arriving):
            total = sum(w_in[i, j] * kernel(t[:, None] - a[None, :]).sum(axis=1)
                        for i, a in enumerate(arriving))
            for s in own:
                total = total - THRESH * np.where(t >= s, np.exp(-(t - s) / TAU_MEM), 0.0)
            return total

        own = []
        while True:
            start = own[-1] + 1e-9 if own else 0.0
            times = grid[grid > start]
            values = v(times, own)
            above = np.flatnonzero(values >= THRESH)
            if not len(above):
                break
            hi = times[above[0]]
            lo = times[above[0] - 1] if above[0] else start
            for _ in range(60):
                mid = 0.5 * (lo + hi)
                lo, hi = (lo, mid) if v(np.array([mid]), own)[0] >= THRESH else (mid, hi)
            own.append(hi)
        spikes.append(np.array(own))
    return spikes


def exact_loss(w_in, w_out, input_times, labels, t_end, delay):
    """Mean cross-entropy of the time-averaged readout, in continuous time."""
    logits = []
    counts = []
    for per_neuron in input_times:
        arrivals = [np.asarray(t) + delay for t in per_neuron]
        hidden = exact_hidden_spikes(w_in, arrivals, t_end, delay)
        counts.append([len(s) for s in hidden])
        logits.append([sum(w_out[j, k] * kernel_integral(t_end - s - delay).sum()
                           for j, s in enumerate(hidden)) / t_end
                       for k in range(w_out.shape[1])])
    return cross_entropy(np.array(logits), labels), counts


@pytest.mark.parametrize("seed", [3, pytest.param(4, marks=pytest.mark.slow)])
def test_gradients_approach_finite_differences_of_exact_continuous_time_simulation(seed):
    rng = np.random.default_rng(seed)
    dt, t_end = 1 / 64, 30.0
    w_in = rng.uniform(0.5, 2.5, (5, 3))
    w_out = rng.normal(0.0, 1.0, (3, 2))
    _, input_times = random_trains(rng, 2, 5, 2, 12.0, dt)
    trains = [preprocess_spikes(np.concatenate(t), np.repeat(np.arange(5), 2), 5)
              for t in input_times]
    labels = np.array([0, 1])
    net, inp, _, out = build(w_in.astype(np.float32), w_out.astype(np.float32), scale_i=True)
    _, grads = gradients(net, inp, out, trains, labels, int(t_end / dt), dt=dt)

    # Input spikes at step n arrive at step n + 1; hidden spikes arrive one step
    # after the step that detects them
    loss0, counts = exact_loss(w_in, w_out, input_times, labels, t_end, dt)
    assert 4 <= np.sum(counts), "the test needs hidden spikes"
    h = 1e-5
    for name, w in (("in_hid", w_in), ("hid_out", w_out)):
        numeric = np.zeros_like(w)
        for index in np.ndindex(w.shape):
            step = np.zeros_like(w)
            step[index] = h
            args = [w_in, w_out]
            plus = [a + step if a is w else a for a in args]
            minus = [a - step if a is w else a for a in args]
            up, up_counts = exact_loss(*plus, input_times, labels, t_end, dt)
            down, down_counts = exact_loss(*minus, input_times, labels, t_end, dt)
            assert up_counts == counts == down_counts  # no spike appears or disappears
            numeric[index] = (up - down) / (2 * h)
        error = np.linalg.norm(grads[name] - numeric) / np.linalg.norm(numeric)
        assert error < 0.05, (name, grads[name], numeric)


# --- first-spike-time outputs: exact continuous-time simulation ----------------------------

def relative_mse(readout, labels, delta):
    total = 0.0
    for r, y in zip(readout, labels):
        total += 0.5 * sum((r[y] - r[n] - delta) ** 2 for n in range(len(r)) if n != y)
    return total / len(labels)


def exact_first_spike_loss(w_in, input_times, labels, t_end, delay, delta):
    """RelativeMeanSquareError of the negated first spike times, in continuous time."""
    readouts = []
    for per_neuron in input_times:
        arrivals = [np.asarray(t) + delay for t in per_neuron]
        spikes = exact_hidden_spikes(w_in, arrivals, t_end, delay)
        assert all(len(s) for s in spikes), "every output must spike"
        readouts.append([-s[0] for s in spikes])
    return relative_mse(readouts, labels, delta)


def test_first_spike_time_gradient_approaches_exact_continuous_time_finite_differences():
    from snnflow.losses import RelativeMeanSquareError
    rng = np.random.default_rng(3)
    dt, t_end, delta = 1 / 64, 30.0, 1.0
    w_in = rng.uniform(1.0, 3.0, (5, 3))
    _, input_times = random_trains(rng, 2, 5, 2, 12.0, dt)
    trains = [preprocess_spikes(np.concatenate(t), np.repeat(np.arange(5), 2), 5)
              for t in input_times]
    labels = np.array([0, 2])
    net = Network()
    with net:
        inp = Population(SpikeInput(), 5)
        out = Population(LeakyIntegrateFire(v_thresh=THRESH, tau_mem=TAU_MEM, scale_i=True,
                                            relative_reset=False, readout="first_spike_time"),
                         3)
        conn = Connection(inp, out, Dense(w_in.astype(np.float32)), Exponential(TAU_SYN, True))
    compiled = EventPropCompiler(int(t_end / dt), RelativeMeanSquareError(delta), dt=dt,
                                 batch_size=2).compile(net)
    loss_value, grads = compiled.compute_gradients({inp: trains}, {out: labels})
    exact = exact_first_spike_loss(w_in, input_times, labels, t_end, dt, delta)
    assert loss_value == pytest.approx(exact, rel=0.02)
    h = 1e-5
    # One weight onto each output and two more: the exact simulation is slow
    indices = [(0, 0), (1, 1), (2, 2), (4, 0), (3, 2)]
    numeric = np.zeros(len(indices))
    for k, index in enumerate(indices):
        step = np.zeros_like(w_in)
        step[index] = h
        numeric[k] = (exact_first_spike_loss(w_in + step, input_times, labels, t_end, dt, delta)
                      - exact_first_spike_loss(w_in - step, input_times, labels, t_end, dt,
                                               delta)) / (2 * h)
    got = np.array([grads[conn][index] for index in indices])
    error = np.linalg.norm(got - numeric) / np.linalg.norm(numeric)
    assert error < 0.05, (got, numeric)
