"""Every neuron model, step by step, against references written from DESIGN.md's
"Timestep semantics" (float32 arithmetic in the same order as the equations)."""
import numpy as np
import pytest

from snnflow import Connection, Network, Population
from snnflow.compilers import InferenceCompiler
from snnflow.connectivity import Dense
from snnflow.initializers import Normal, Uniform
from snnflow.neurons import (AdaptiveLeakyIntegrateFire, BinarySpikeInput, IntegrateFire,
                             IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire,
                             LeakyIntegrateFireInput, PoissonInput, SpikeInput)

F32 = np.float32


# --------------------------------------------------------------------- references

def alpha_of(tau_mem, dt):
    """Decay per step: derived in double precision from the user's value (not a
    float32-rounded tau), then rounded to float32 (as GeNN)."""
    return np.exp(-dt / np.asarray(tau_mem, dtype=np.float64)).astype(F32)


def ref_spiking(isyn, *, v0=0.0, v_thresh=1.0, v_reset=0.0, tau_mem=None, dt=1.0,
                scale_i=False, tau_refrac=None, integrate_during_refrac=True,
                relative_reset=True):
    """LeakyIntegrateFire (tau_mem given) or the non-leaky update V <- V + Isyn
    (tau_mem None), one neuron at a time in float32 scalars. isyn: (steps, n).
    Returns v, spikes, refrac (steps, n). The default relative_reset is
    LeakyIntegrateFire's; use ref_integrate_fire for IntegrateFire."""
    steps, n = isyn.shape
    per = lambda x: np.broadcast_to(np.asarray(x, dtype=F32), (n,))  # noqa: E731
    v0, thresh, reset = per(v0), per(v_thresh), per(v_reset)
    alpha = None if tau_mem is None else np.broadcast_to(alpha_of(tau_mem, dt), (n,))
    refrac_param = None if tau_refrac is None else per(tau_refrac)
    vs = np.zeros((steps, n), F32)
    spikes = np.zeros((steps, n), bool)
    refracs = np.zeros((steps, n), F32)
    for j in range(n):
        v, refrac = v0[j], F32(0.0)
        for t in range(steps):
            current = F32(isyn[t, j])
            if scale_i:
                current = (F32(1.0) - alpha[j]) * current
            refractory = refrac_param is not None and refrac > F32(0.0)
            if refractory:
                refrac = refrac - F32(dt)
            if not refractory or integrate_during_refrac:
                v = (v if alpha is None else alpha[j] * v) + current
            if v >= thresh[j] and (refrac_param is None or refrac <= F32(0.0)):
                spikes[t, j] = True
                v = v - (thresh[j] - reset[j]) if relative_reset else reset[j]
                if refrac_param is not None:
                    refrac = refrac_param[j]
            vs[t, j], refracs[t, j] = v, refrac
    return vs, spikes, refracs


def ref_integrate_fire(isyn, *, v0=0.0, v_thresh=1.0, v_reset=0.0):
    """IntegrateFire as mlGeNN's: V <- V + Isyn; V >= v_thresh spikes and sets
    V <- v_reset (absolute reset, no refractory period)."""
    return ref_spiking(isyn, v0=v0, v_thresh=v_thresh, v_reset=v_reset,
                       relative_reset=False)


def delta_isyn(raster, weight):
    """Delta synapse: step t's current is the weight of the spikes of step t-1.
    raster (steps, n_pre) bool for one example; weights are dyadic, so float32
    sums are exact in any order."""
    delivered = np.zeros((raster.shape[0], weight.shape[1]), F32)
    delivered[1:] = raster[:-1].astype(F32) @ weight.astype(F32)
    return delivered


def driven(neuron, weight, shape=None):
    """SpikeInput(n_pre) --Dense(weight)--> Population(neuron)."""
    net = Network()
    with net:
        inp = Population(SpikeInput(max_spikes=10000), weight.shape[0])
        pop = Population(neuron, shape or weight.shape[1])
        Connection(inp, pop, Dense(weight))
    return net, inp, pop


def random_spikes(rng, num_neurons, steps, dt, count):
    """{neuron: times} with off-grid and repeated times."""
    spikes = {}
    for n in range(num_neurons):
        grid = rng.integers(0, steps, size=count) * dt
        jitter = rng.choice([0.0, 0.0, 0.3 * dt], size=count)
        spikes[n] = sorted((grid + jitter).tolist())
    return spikes


W3x2 = np.array([[0.5, 0.25], [0.375, 0.625], [-0.125, 0.75]], dtype=F32)


# ------------------------------------------------------------------ IntegrateFire

def test_integrate_fire_hand_worked(sim):
    # One input spike per step 0..8 with weight 0.25: V climbs by 0.25 from step 1,
    # reaches 1.0 at steps 4 and 8, fires and is set to v_reset = 0.
    net, inp, pop = driven(IntegrateFire(v_thresh=1.0), np.array([[0.25]], F32))
    compiled = sim.compile(net, 10)
    x = sim.trains([{0: list(range(9))}], 1)
    out = sim.trace(compiled, {inp: x}, [pop], 10)[pop]
    np.testing.assert_array_equal(out["v"][:, 0, 0],
                                  [0, .25, .5, .75, 0, .25, .5, .75, 0, .25])
    assert np.flatnonzero(out["spikes"][:, 0, 0]).tolist() == [4, 8]


def test_integrate_fire_reset_is_absolute_hand_worked(sim):
    # Input 0.75 per step from step 1: V = .75, 1.5 -> spike at step 2, then
    # V = v_reset = -0.5 (a relative reset would give 1.5 - 1.5 = 0), then -0.5 + .75
    net, inp, pop = driven(IntegrateFire(v_thresh=1.0, v_reset=-0.5), np.array([[0.75]], F32))
    out = sim.trace(sim.compile(net, 4), {inp: sim.trains([{0: [0, 1, 2]}], 1)},
                    [pop], 4)[pop]
    np.testing.assert_array_equal(out["v"][:, 0, 0], [0.0, 0.75, -0.5, 0.25])
    assert np.flatnonzero(out["spikes"][:, 0, 0]).tolist() == [2]


def test_leaky_integrate_fire_relative_and_absolute_reset_hand_worked(sim):
    # LeakyIntegrateFire, alpha = e^-0.1, input 0.75 per step from step 1:
    # V = .75, alpha .75 + .75 = 1.4289 -> spike at step 2; relative reset
    # (v_reset=-0.5): V - 1.5 (the default);  absolute: V = -0.5
    alpha = F32(np.exp(-0.1))
    v2 = alpha * F32(0.75) + F32(0.75)
    for kwargs, after in [(dict(), v2 - F32(1.5)), (dict(relative_reset=True), v2 - F32(1.5)),
                          (dict(relative_reset=False), F32(-0.5))]:
        net, inp, pop = driven(LeakyIntegrateFire(v_thresh=1.0, v_reset=-0.5, tau_mem=10.0,
                                                  **kwargs),
                               np.array([[0.75]], F32))
        out = sim.trace(sim.compile(net, 4), {inp: sim.trains([{0: [0, 1, 2]}], 1)},
                        [pop], 4)[pop]
        np.testing.assert_array_equal(out["v"][:, 0, 0],
                                      [0.0, 0.75, after, alpha * after + F32(0.75)])
        assert np.flatnonzero(out["spikes"][:, 0, 0]).tolist() == [2]


def test_integrate_fire_takes_no_leaky_options():
    # mlGeNN's IntegrateFire has no refractory period and always resets absolutely
    for option in (dict(relative_reset=True), dict(tau_refrac=2.0),
                   dict(integrate_during_refrac=False), dict(tau_mem=10.0)):
        with pytest.raises(TypeError):
            IntegrateFire(**option)
        with pytest.raises(TypeError):
            IntegrateFireInput(**option)


@pytest.mark.parametrize("v_reset", [-0.25, 0.0, 0.375])
def test_integrate_fire_random_drive(sim, v_reset):
    rng = np.random.default_rng(1)
    steps = 40
    examples = [random_spikes(rng, 3, steps, 1.0, 25) for _ in range(3)]
    net, inp, pop = driven(IntegrateFire(v_thresh=1.0, v_reset=v_reset, v=0.125), W3x2)
    out = sim.trace(sim.compile(net, steps, batch_size=3), {inp: sim.trains(examples, 3)},
                    [inp, pop], steps)
    raster = sim.raster(examples, 3, steps)
    np.testing.assert_array_equal(out[inp]["spikes"], raster)
    for e in range(3):
        v, spikes, _ = ref_integrate_fire(delta_isyn(raster[:, e], W3x2), v0=0.125,
                                          v_reset=v_reset)
        np.testing.assert_array_equal(out[pop]["spikes"][:, e], spikes)
        np.testing.assert_array_equal(out[pop]["v"][:, e], v)
        assert spikes.sum() > 3


# ------------------------------------------------------------- LeakyIntegrateFire

LIF_CASES = [
    dict(),
    dict(scale_i=True),
    dict(relative_reset=False),
    dict(scale_i=True, relative_reset=False),
    dict(tau_refrac=2.0),
    dict(tau_refrac=2.0, integrate_during_refrac=False),
    dict(tau_refrac=1.5, integrate_during_refrac=False, relative_reset=False),
    dict(tau_refrac=3.0, scale_i=True),
    dict(tau_refrac=3.0, scale_i=True, integrate_during_refrac=False),
]


@pytest.mark.parametrize("dt", [1.0, 0.5])
@pytest.mark.parametrize("case", LIF_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in
                                                                   c.items()) or "plain")
def test_leaky_integrate_fire_against_reference(sim, case, dt):
    rng = np.random.default_rng(2)
    steps = 40
    examples = [random_spikes(rng, 3, steps, dt, 30) for _ in range(2)]
    # scale_i divides the drive by ~tau/dt, so scale the weights up to keep spiking
    weight = W3x2 * (8.0 if case.get("scale_i") else 1.0)
    params = dict(v_thresh=1.0, v_reset=-0.25, v=0.125, tau_mem=10.0)
    net, inp, pop = driven(LeakyIntegrateFire(**params, **case), weight)
    compiled = sim.compile(net, steps, dt=dt, batch_size=2)
    out = sim.trace(compiled, {inp: sim.trains(examples, 3)}, [pop], steps,
                    var_names=("v", "refrac_time"))[pop]
    raster = sim.raster(examples, 3, steps, dt)
    for e in range(2):
        v, spikes, refrac = ref_spiking(delta_isyn(raster[:, e], weight), dt=dt,
                                        v0=0.125, v_reset=-0.25, tau_mem=10.0, **case)
        assert spikes.sum() >= 3, "the drive should make the neurons fire"
        np.testing.assert_array_equal(out["spikes"][:, e], spikes)
        np.testing.assert_allclose(out["v"][:, e], v, rtol=1e-6, atol=1e-7)
        if case.get("tau_refrac"):
            np.testing.assert_allclose(out["refrac_time"][:, e], refrac, rtol=1e-6, atol=1e-7)
        else:
            assert "refrac_time" not in out


def test_refractory_period_hand_worked(sim):
    # LeakyIntegrateFire with tau_refrac=2, dt=1, absolute reset to 0, drive 1.0 every
    # step from step 1 (alpha 0 + 1 = 1 exactly).
    # integrate_during_refrac=True: step1 V=1 spike (R=2); step2 R->1, V=1 held back
    # by R; step3 R->0, V=alpha+1 spikes; ... spikes every other step.
    # integrate_during_refrac=False: step2 R->1 and step3 R->0 without integrating,
    # step4 V=1 spikes: spikes every third step, V stays 0 after each reset.
    drive = sim.trains([{0: list(range(8))}], 1)
    cases = [(True, [1, 3, 5, 7], [0, 0, 1, 0, 1, 0, 1, 0], [0, 2, 1, 2, 1, 2, 1, 2]),
             (False, [1, 4, 7], [0] * 8, [0, 2, 1, 0, 2, 1, 0, 2])]
    for integrate, spike_steps, v_expected, refrac_expected in cases:
        net, inp, pop = driven(LeakyIntegrateFire(v_thresh=1.0, tau_mem=10.0, tau_refrac=2.0,
                                                  relative_reset=False,
                                                  integrate_during_refrac=integrate),
                               np.array([[1.0]], F32))
        out = sim.trace(sim.compile(net, 8), {inp: drive}, [pop], 8,
                        var_names=("v", "refrac_time"))[pop]
        assert np.flatnonzero(out["spikes"][:, 0, 0]).tolist() == spike_steps
        np.testing.assert_array_equal(out["refrac_time"][:, 0, 0], refrac_expected)
        np.testing.assert_array_equal(out["v"][:, 0, 0], v_expected)


def test_refractory_without_integration_holds_v_then_fires(sim):
    # Held V can fire the moment RefracTime reaches 0: drive 2.5 once at step 1,
    # relative reset (LeakyIntegrateFire's default): V=2.5 spike -> 1.5 (R=2);
    # step 2 R->1, held (not even decayed); step 3 R->0, V=1.5 >= 1 fires again
    # without integrating -> 0.5 (R=2); held through steps 4 and 5; step 6 decays:
    # alpha 0.5.
    net, inp, pop = driven(LeakyIntegrateFire(v_thresh=1.0, tau_mem=10.0, tau_refrac=2.0,
                                              integrate_during_refrac=False),
                           np.array([[2.5]], F32))
    out = sim.trace(sim.compile(net, 7), {inp: sim.trains([{0: [0.0]}], 1)}, [pop], 7)[pop]
    alpha = F32(np.exp(-0.1))
    np.testing.assert_array_equal(out["v"][:, 0, 0],
                                  [0, 1.5, 1.5, 0.5, 0.5, 0.5, alpha * F32(0.5)])
    assert np.flatnonzero(out["spikes"][:, 0, 0]).tolist() == [1, 3]


def test_leaky_integrate_fire_decay_hand_worked(sim):
    # No input: V decays from 0.5 (below a threshold of 2) by alpha=exp(-1/10) a step
    net = Network()
    with net:
        pop = Population(LeakyIntegrateFire(v=0.5, v_thresh=2.0, tau_mem=10.0), 1)
        inp = Population(IntegrateFireInput(v_thresh=100.0), 1)
    out = sim.trace(sim.compile(net, 5), {inp: np.zeros((1, 1), F32)}, [pop], 5)[pop]
    alpha = F32(np.exp(-0.1))
    expected, v = [], F32(0.5)
    for _ in range(5):
        v = alpha * v
        expected.append(v)
    np.testing.assert_allclose(out["v"][:, 0, 0], expected, rtol=1e-6)
    np.testing.assert_allclose(out["v"][-1, 0, 0], 0.5 * np.exp(-0.5), rtol=1e-6)


@pytest.mark.parametrize("dt,tau_mem", [(1.0, 0.7), (1.0, 9.8), (0.5, 4.9), (0.5, 19.8)])
def test_alpha_derived_from_the_double_precision_tau(sim, dt, tau_mem):
    # alpha = float32(exp(-dt / tau)) with tau the user's (double) value; these taus
    # give a different float32 alpha when tau itself is first rounded to float32
    alpha = F32(np.exp(-dt / tau_mem))
    assert alpha != F32(np.exp(-dt / np.float64(F32(tau_mem))))
    net = Network()
    with net:
        lif = Population(LeakyIntegrateFire(v=1.0, v_thresh=2.0, tau_mem=tau_mem), 1)
        li = Population(LeakyIntegrate(v=1.0, tau_mem=tau_mem), 1)
        lif_in = Population(LeakyIntegrateFireInput(v=1.0, v_thresh=2.0, tau_mem=tau_mem), 1)
    out = sim.trace(sim.compile(net, 2, dt=dt), {lif_in: np.zeros((1, 1), F32)},
                    [lif, li, lif_in], 2)
    for pop in (lif, li, lif_in):
        np.testing.assert_array_equal(out[pop]["v"][:, 0, 0], [alpha, alpha * alpha])


# ------------------------------------------------------------------ LeakyIntegrate

@pytest.mark.parametrize("scale_i", [False, True])
@pytest.mark.parametrize("dt", [1.0, 0.5])
def test_leaky_integrate_against_reference(sim, scale_i, dt):
    rng = np.random.default_rng(3)
    steps = 30
    examples = [random_spikes(rng, 3, steps, dt, 20) for _ in range(2)]
    bias = np.array([0.0, 0.125], F32)
    tau_mem = np.array([5.0, 12.0], F32)
    net, inp, pop = driven(LeakyIntegrate(v=0.25, bias=bias, tau_mem=tau_mem,
                                          scale_i=scale_i), W3x2)
    out = sim.trace(sim.compile(net, steps, dt=dt, batch_size=2),
                    {inp: sim.trains(examples, 3)}, [pop], steps)[pop]
    raster = sim.raster(examples, 3, steps, dt)
    alpha = alpha_of(tau_mem, dt)
    for e in range(2):
        isyn = delta_isyn(raster[:, e], W3x2)
        v = np.full(2, 0.25, F32)
        for t in range(steps):
            current = (F32(1) - alpha) * isyn[t] if scale_i else isyn[t]
            v = alpha * v + current + bias
            np.testing.assert_allclose(out["v"][t, e], v, rtol=1e-6, atol=1e-7)
    assert not out["spikes"].any()


def test_leaky_integrate_bias_only_converges(sim):
    # V <- alpha V + bias has fixed point bias / (1 - alpha)
    net = Network()
    with net:
        inp = Population(BinarySpikeInput(), 1)
        pop = Population(LeakyIntegrate(bias=0.5, tau_mem=2.0), 1)
        Connection(inp, pop, Dense(np.zeros((1, 1))))
    out = sim.trace(sim.compile(net, 200), {inp: np.ones((1, 1), F32)}, [pop], 200)[pop]
    np.testing.assert_allclose(out["v"][-1, 0, 0], 0.5 / (1 - np.exp(-0.5)), rtol=1e-5)
    np.testing.assert_allclose(out["v"][0, 0, 0], 0.5)


# ----------------------------------------------------------------- input variants

@pytest.mark.parametrize("dt", [1.0, 0.5])
def test_integrate_fire_input(sim, dt):
    values = np.array([[0.3, 0.7, 1.1, 0.0], [0.25, -0.5, 2.5, 1.0]], F32)
    net = Network()
    with net:
        inp = Population(IntegrateFireInput(v_thresh=1.0, v_reset=-0.1), 4)
    out = sim.trace(sim.compile(net, 12, dt=dt, batch_size=2), {inp: values}, [inp], 12)[inp]
    for e in range(2):
        v, spikes, _ = ref_integrate_fire(np.tile(values[e], (12, 1)), v_reset=-0.1)
        np.testing.assert_array_equal(out["spikes"][:, e], spikes)
        np.testing.assert_array_equal(out["v"][:, e], v)
    # 0.3 per step: V = 0.3, 0.6, 0.90000004, 1.2 -> first spike in step 3, V = -0.1
    assert np.flatnonzero(out["spikes"][:, 0, 0])[0] == 3
    assert out["v"][3, 0, 0] == F32(-0.1)
    assert out["spikes"][:, 0, 2].all()
    # a negative input drives V down without bound and never spikes
    assert not out["spikes"][:, 1, 1].any()
    assert out["v"][-1, 1, 1] == F32(-6.0)


@pytest.mark.parametrize("case", [dict(), dict(scale_i=True), dict(relative_reset=False),
                                  dict(tau_refrac=2.0, integrate_during_refrac=False)])
def test_leaky_integrate_fire_input(sim, case):
    values = np.array([[0.3, 0.7, 1.1], [0.2, 1.6, 3.0]], F32) * (5 if case.get("scale_i")
                                                                  else 1)
    net = Network()
    with net:
        inp = Population(LeakyIntegrateFireInput(v_thresh=1.0, tau_mem=10.0, **case), 3)
    out = sim.trace(sim.compile(net, 25, batch_size=2), {inp: values}, [inp], 25)[inp]
    for e in range(2):
        v, spikes, _ = ref_spiking(np.tile(values[e], (25, 1)), tau_mem=10.0, **case)
        np.testing.assert_array_equal(out["spikes"][:, e], spikes)
        np.testing.assert_allclose(out["v"][:, e], v, rtol=1e-6, atol=1e-7)
    assert out["spikes"].sum() > 5
    # 0.3 a step with alpha=e^-0.1 settles at 0.3/(1-alpha) ~ 3.15 > 1, so it fires
    assert out["spikes"][:, 0, 0].any()


# --------------------------------------------------------------------- SpikeInput

def test_spike_input_timing_hand_worked(sim):
    net = Network()
    with net:
        inp = Population(SpikeInput(), 4)
    # neuron 0: spike at t=3 fires in step 3; neuron 1: three spikes at 0 -> steps 0,1,2;
    # neuron 2: 0.3 and 1.0 -> steps 1 and 2 (1.0 is still pending at step 1);
    # neuron 3: nothing
    x = sim.trains([{0: [3.0], 1: [0.0, 0.0, 0.0], 2: [0.3, 1.0]}], 4)
    out = sim.trace(sim.compile(net, 6), {inp: x}, [inp], 6)[inp]["spikes"][:, 0]
    assert [np.flatnonzero(out[:, n]).tolist() for n in range(4)] == \
        [[3], [0, 1, 2], [1, 2], []]


def test_spike_input_half_ms_steps(sim):
    net = Network()
    with net:
        inp = Population(SpikeInput(), 3)
    # dt=0.5: t=1.5 -> step 3; 0.3 -> step 1 (0.5 >= 0.3); two at 2.0 -> steps 4 and 5
    x = sim.trains([{0: [1.5], 1: [0.3], 2: [2.0, 2.0]}], 3)
    out = sim.trace(sim.compile(net, 8, dt=0.5), {inp: x}, [inp], 8)[inp]["spikes"][:, 0]
    assert [np.flatnonzero(out[:, n]).tolist() for n in range(3)] == [[3], [1], [4, 5]]


def test_spike_input_random_trains_batched(sim):
    rng = np.random.default_rng(4)
    examples = [random_spikes(rng, 5, 20, 0.5, 12) for _ in range(4)]
    net = Network()
    with net:
        inp = Population(SpikeInput(), 5)
    out = sim.trace(sim.compile(net, 20, dt=0.5, batch_size=4),
                    {inp: sim.trains(examples, 5)}, [inp], 20)[inp]["spikes"]
    np.testing.assert_array_equal(out, sim.raster(examples, 5, 20, dt=0.5))


# ------------------------------------------------------------------- PoissonInput

def poisson_net(n, readout="spike_count"):
    net = Network()
    with net:
        inp = Population(PoissonInput(readout=readout), n)
    return net, inp


def test_poisson_rate_statistics(sim):
    rates = np.array([0.0, 0.02, 0.1, 0.5], F32)
    n_per, steps = 500, 100
    for dt in (1.0, 0.5):
        net, inp = poisson_net(4 * n_per)
        x = np.repeat(rates, n_per)[None, :]
        out = sim.trace(sim.compile(net, steps, dt=dt), {inp: x}, [inp], steps)[inp]
        fraction = out["spikes"][:, 0].reshape(steps, 4, n_per).mean(axis=(0, 2))
        p = 1.0 - np.exp(-rates.astype(np.float64) * dt)
        sigma = np.sqrt(p * (1 - p) / (steps * n_per))
        assert fraction[0] == 0.0
        np.testing.assert_array_less(np.abs(fraction - p), 5 * sigma + 1e-12)


def test_poisson_deterministic_given_seed_and_batch_independent(sim):
    rates = np.random.default_rng(5).uniform(0.0, 0.3, size=(10, 20)).astype(F32)
    net, inp = poisson_net(20, readout="first_spike_time")
    counts = {}
    for batch_size in (1, 3, 10):
        compiled = sim.compile(net, 30, batch_size=batch_size, rng_seed=7)
        counts[batch_size] = compiled.predict({inp: rates}, [inp], callbacks=[])[0][inp]
    np.testing.assert_array_equal(counts[1], counts[3])
    np.testing.assert_array_equal(counts[1], counts[10])
    again = sim.compile(net, 30, batch_size=3, rng_seed=7)
    np.testing.assert_array_equal(again.predict({inp: rates}, [inp], callbacks=[])[0][inp],
                                  counts[1])
    other = sim.compile(net, 30, batch_size=3, rng_seed=8)
    assert not np.array_equal(other.predict({inp: rates}, [inp], callbacks=[])[0][inp],
                              counts[1])


def test_poisson_only_positive_rates_spike(sim):
    # As mlGeNN: a neuron spikes only when its rate is positive; negative and zero
    # rates never do, whatever their magnitude
    rng = np.random.default_rng(6)
    magnitudes = rng.uniform(0.5, 2.0, size=(3, 60)).astype(F32)
    sign = np.tile(np.array([1.0, -1.0, 0.0], F32), 20)
    rates = magnitudes * sign
    net, inp = poisson_net(60)
    compiled = sim.compile(net, 20, batch_size=3, rng_seed=2)
    spikes = sim.trace(compiled, {inp: rates}, [inp], 20)[inp]["spikes"]
    assert not spikes[:, :, sign <= 0].any()
    # positive rates >= 0.5/ms spike with probability >= 1 - e^-0.5 ~ 0.39 a step
    positive = spikes[:, :, sign > 0]
    assert 0.3 < positive.mean() < 0.95
    all_negative = sim.trace(compiled, {inp: -magnitudes}, [inp], 20)[inp]["spikes"]
    assert not all_negative.any()


def test_poisson_rasters_depend_on_global_example_index(sim):
    # The same examples give the same raster whether run alone or in a batch
    rates = np.full((4, 50), 0.2, F32)
    net, inp = poisson_net(50)
    compiled = sim.compile(net, 15, batch_size=4, rng_seed=3)
    whole = sim.trace(compiled, {inp: rates}, [inp], 15)[inp]["spikes"]
    part = sim.trace(compiled, {inp: rates[2:4]}, [inp], 15,
                     example_indices=[2, 3])[inp]["spikes"]
    np.testing.assert_array_equal(part, whole[:, 2:4])
    # ...and different examples draw independently
    assert not np.array_equal(whole[:, 0], whole[:, 1])


# -------------------------------------------------------------- BinarySpikeInput

def test_binary_spike_input_spikes_every_step_where_nonzero(sim):
    # only positive values spike (as mlGeNN): zero and negative ones never do
    values = np.array([[1.0, 0.0, -2.0, 0.5], [0.0, -1e-30, 0.0, 3.0]], F32)
    net = Network()
    with net:
        inp = Population(BinarySpikeInput(), 4)
        pop = Population(IntegrateFire(v_thresh=1e9), 2)
        Connection(inp, pop, Dense(np.array([[1, 0], [2, 0], [4, 0], [8, 1]], F32)))
    out = sim.trace(sim.compile(net, 5, batch_size=2), {inp: values}, [inp, pop], 5)
    expected = np.broadcast_to(np.array([[True, False, False, True],
                                         [False, False, False, True]]), (5, 2, 4))
    np.testing.assert_array_equal(out[inp]["spikes"], expected)
    # Delivered from step 1: example 0 gets 1+8=9 a step, example 1 gets 8
    np.testing.assert_array_equal(out[pop]["v"][:, :, 0],
                                  [[0, 0], [9, 8], [18, 16], [27, 24], [36, 32]])


# ---------------------------------------------------- per-neuron parameter arrays

def test_per_neuron_parameter_arrays(sim):
    thresh = np.array([0.5, 1.0, 2.0], F32)
    reset = np.array([0.0, -1.0, 0.25], F32)
    tau = np.array([5.0, 10.0, 40.0], F32)
    refrac = np.array([1.0, 2.0, 3.0], F32)
    v0 = np.array([0.0, 0.5, -0.5], F32)
    values = np.array([[0.3, 0.4, 0.5]], F32)
    net = Network()
    with net:
        inp = Population(LeakyIntegrateFireInput(v_thresh=thresh, v_reset=reset, tau_mem=tau,
                                                 tau_refrac=refrac, v=v0,
                                                 relative_reset=False), 3)
    out = sim.trace(sim.compile(net, 40), {inp: values}, [inp], 40)[inp]
    v, spikes, _ = ref_spiking(np.tile(values[0], (40, 1)), v0=v0, v_thresh=thresh,
                               v_reset=reset, tau_mem=tau, tau_refrac=refrac,
                               relative_reset=False)
    np.testing.assert_array_equal(out["spikes"][:, 0], spikes)
    np.testing.assert_allclose(out["v"][:, 0], v, rtol=1e-6, atol=1e-7)
    assert all(spikes[:, j].any() for j in range(3))


@pytest.mark.parametrize("model", ["IntegrateFireInput", "relative", "absolute"])
def test_per_neuron_initial_v_is_reset_in_a_batch(sim, model):
    v0 = np.array([0.0, 0.5], F32)
    net = Network()
    with net:
        if model == "IntegrateFireInput":
            neuron = IntegrateFireInput(v=v0, v_reset=0.0)
        else:
            neuron = LeakyIntegrateFireInput(v=v0, v_reset=0.0, tau_mem=10.0,
                                             relative_reset=model == "relative")
        inp = Population(neuron, 2)
    values = np.full((2, 2), 0.6, F32)
    out = sim.trace(sim.compile(net, 3, batch_size=2), {inp: values}, [inp], 3)[inp]
    if model == "IntegrateFireInput":
        v, spikes, _ = ref_integrate_fire(np.tile(values[0], (3, 1)), v0=v0)
    else:
        v, spikes, _ = ref_spiking(np.tile(values[0], (3, 1)), v0=v0, tau_mem=10.0,
                                   relative_reset=model == "relative")
    # neuron 1: (alpha) 0.5 + 0.6 >= 1 fires in step 0 and resets to V - 1 (or 0)
    assert spikes[0].tolist() == [False, True]
    for e in range(2):
        np.testing.assert_array_equal(out["spikes"][:, e], spikes)
        np.testing.assert_array_equal(out["v"][:, e], v)


def test_per_neuron_parameter_array_of_2d_population_shape(sim):
    thresh = np.array([[0.5, 1.0], [2.0, 4.0]], F32)
    v0 = np.array([[0.0, 0.25], [0.5, -1.0]], F32)
    net = Network()
    with net:
        inp = Population(IntegrateFireInput(v_thresh=thresh, v=v0, readout="spike_count"),
                         (2, 2))
    values = np.stack([np.ones((2, 2), F32), np.full((2, 2), 0.5, F32)])
    compiled = sim.compile(net, 6, batch_size=2)
    out = sim.trace(compiled, {inp: values}, [inp], 6)[inp]
    for e in range(2):
        v, spikes, _ = ref_integrate_fire(np.tile(values[e].ravel(), (6, 1)),
                                          v0=v0.ravel(), v_thresh=thresh.ravel())
        np.testing.assert_array_equal(out["spikes"][:, e], spikes)
        np.testing.assert_array_equal(out["v"][:, e], v)
    # input 1 a step: first spikes at steps 0, 0, 1, 4
    assert [np.flatnonzero(out["spikes"][:, 0, j])[0] for j in range(4)] == [0, 0, 1, 4]
    counts = compiled.predict({inp: values}, [inp], callbacks=[])[0][inp]
    assert counts.shape == (2, 2, 2)
    np.testing.assert_array_equal(counts.reshape(2, 4), out["spikes"].sum(axis=0))


def test_parameter_array_of_wrong_size_is_refused(sim):
    net = Network()
    with net:
        Population(IntegrateFireInput(v_thresh=np.ones(3)), 4)
    with pytest.raises(ValueError, match="v_thresh"):
        sim.compile(net, 4)


# ------------------------------------------------------------ initialised values

def test_initializer_parameters_reproducible_given_seed(sim):
    def build():
        net = Network()
        with net:
            inp = Population(IntegrateFireInput(v=Uniform(-1.0, 0.5),
                                                v_thresh=Normal(5.0, 0.5)), 200)
        return net, inp

    def initial(seed, batch_size=3):
        net, inp = build()
        compiled = sim.compile(net, 2, batch_size=batch_size, rng_seed=seed)
        engine = compiled.engine
        engine.start_batch({inp: np.zeros((batch_size, 200), F32)}, np.arange(batch_size))
        return engine.get_var(inp, "v").copy(), compiled, inp

    v, compiled, inp = initial(11)
    assert v.dtype == np.float32 and v.shape == (3, 200)
    # per-neuron values, the same initial state for every example
    np.testing.assert_array_equal(v[0], v[1])
    np.testing.assert_array_equal(v[0], v[2])
    assert v.min() >= -1.0 and v.max() < 0.5
    assert abs(v.mean() - (-0.25)) < 0.1 and v.std() > 0.3
    np.testing.assert_array_equal(initial(11)[0], v)
    np.testing.assert_array_equal(initial(11, batch_size=1)[0][0], v[0])
    assert not np.array_equal(initial(12)[0], v)
    # the same per-neuron threshold draws for every example: drive each neuron by
    # 5 - v0 in one step, so the neurons whose threshold is <= 5 spike
    x = np.broadcast_to(F32(5.0) - v[0], (3, 200)).copy()
    out = sim.trace(compiled, {inp: x}, [inp], 1)[inp]["spikes"][0]
    np.testing.assert_array_equal(out[0], out[1])
    assert 60 < out[0].sum() < 140  # about half of Normal(5, 0.5) lies below 5


# ------------------------------------------------------ AdaptiveLeakyIntegrateFire

def ref_adaptive(isyn, *, v0=0.0, a0=0.0, v_thresh=1.0, v_reset=0.0, beta=0.0174,
                 tau_mem=20.0, tau_adapt=2000.0, dt=1.0, tau_refrac=None,
                 integrate_during_refrac=True, relative_reset=True):
    """mlGeNN's adaptive LIF in float64, one neuron at a time, from its equations:
    V <- alpha V + I (not while refractory without integrate_during_refrac),
    A <- rho A, R <- R - dt while R > 0; a spike when V >= v_thresh + beta A and
    R <= 0, then V <- V - (v_thresh - v_reset) (or v_reset), A <- A + 1,
    R <- tau_refrac. isyn: (steps, n). Returns v, a, spikes, refrac (steps, n)."""
    steps, n = isyn.shape
    per = lambda x: np.broadcast_to(np.asarray(x, dtype=np.float64), (n,))  # noqa: E731
    v0, a0, thresh, reset, beta = per(v0), per(a0), per(v_thresh), per(v_reset), per(beta)
    alpha, rho = np.exp(-dt / per(tau_mem)), np.exp(-dt / per(tau_adapt))
    out = {name: np.zeros((steps, n)) for name in ("v", "a", "refrac")}
    spikes = np.zeros((steps, n), bool)
    for j in range(n):
        v, a, refrac = v0[j], a0[j], 0.0
        for t in range(steps):
            refractory = tau_refrac is not None and refrac > 0
            if not refractory or integrate_during_refrac:
                v = alpha[j] * v + float(isyn[t, j])
            a = rho[j] * a
            if refractory:
                refrac -= dt
            if v >= thresh[j] + beta[j] * a and (tau_refrac is None or refrac <= 0):
                spikes[t, j] = True
                v = v - (thresh[j] - reset[j]) if relative_reset else reset[j]
                a += 1.0
                if tau_refrac is not None:
                    refrac = tau_refrac
            out["v"][t, j], out["a"][t, j], out["refrac"][t, j] = v, a, refrac
    return out["v"], out["a"], spikes, out["refrac"]


def test_adaptive_leaky_integrate_fire_hand_worked(sim):
    # Drive 1.0 a step from step 1, alpha = e^-0.1, rho = e^-0.5, beta = 0.5, relative
    # reset by 1. Before any reset (threshold 1 + 0.5 A):
    #   step 1: V = 1, A = 0, threshold 1: spike -> V = 0, A = 1
    #   step 2: V = 1, A = rho = 0.606531, threshold 1.303265: none
    #   step 3: V = 1 + alpha = 1.904837, A = 0.367879, threshold 1.18394: spike
    #           -> V = 0.904837, A = 1.367879
    #   steps 4, 5, 6 spike likewise; step 7: V = 1.606531 < 1.691331
    net, inp, pop = driven(AdaptiveLeakyIntegrateFire(v_thresh=1.0, beta=0.5, tau_mem=10.0,
                                                      tau_adapt=2.0), np.array([[1.0]], F32))
    out = sim.trace(sim.compile(net, 8), {inp: sim.trains([{0: list(range(7))}], 1)},
                    [pop], 8, var_names=("v", "a"))[pop]
    assert np.flatnonzero(out["spikes"][:, 0, 0]).tolist() == [1, 3, 4, 5, 6]
    np.testing.assert_allclose(out["v"][:, 0, 0], [0, 0, 1, 0.904837, 0.818731, 0.740818,
                                                   0.670320, 1.606531], atol=1e-6)
    np.testing.assert_allclose(out["a"][:, 0, 0], [0, 1, 0.606531, 1.367879, 1.829661,
                                                   2.109745, 2.279625, 1.382663], atol=1e-6)


ADAPTIVE_CASES = [
    dict(),
    dict(relative_reset=False),
    dict(tau_refrac=2.0),
    dict(tau_refrac=3.0, integrate_during_refrac=False),
    dict(tau_refrac=1.5, integrate_during_refrac=False, relative_reset=False),
]


@pytest.mark.parametrize("dt", [1.0, 0.5])
@pytest.mark.parametrize("case", ADAPTIVE_CASES, ids=lambda c: ",".join(
    f"{k}={v}" for k, v in c.items()) or "plain")
def test_adaptive_leaky_integrate_fire_against_float64_reference(sim, case, dt):
    rng = np.random.default_rng(7)
    steps = 60
    examples = [random_spikes(rng, 3, steps, dt, 40) for _ in range(2)]
    params = dict(v_thresh=1.0, v_reset=-0.25, v=0.125, a=np.array([0.0, 0.5]),
                  beta=np.array([0.3, 0.8]), tau_mem=10.0, tau_adapt=np.array([8.0, 30.0]))
    net, inp, pop = driven(AdaptiveLeakyIntegrateFire(**params, **case), W3x2)
    out = sim.trace(sim.compile(net, steps, dt=dt, batch_size=2), {inp: sim.trains(examples, 3)},
                    [pop], steps, var_names=("v", "a", "refrac_time"))[pop]
    raster = sim.raster(examples, 3, steps, dt)
    unadapted = []
    for e in range(2):
        reference = dict(v0=0.125, a0=params["a"], v_reset=-0.25, tau_mem=10.0,
                         tau_adapt=params["tau_adapt"], dt=dt, **case)
        v, a, spikes, refrac = ref_adaptive(delta_isyn(raster[:, e], W3x2),
                                            beta=params["beta"], **reference)
        assert spikes.sum() >= 4, "the drive should make the neurons fire"
        np.testing.assert_array_equal(out["spikes"][:, e], spikes)
        np.testing.assert_allclose(out["v"][:, e], v, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out["a"][:, e], a, rtol=1e-5, atol=1e-6)
        if case.get("tau_refrac"):
            np.testing.assert_allclose(out["refrac_time"][:, e], refrac, atol=1e-6)
        # The adaptation matters: without it (beta 0) the neurons fire otherwise
        unadapted.append(ref_adaptive(delta_isyn(raster[:, e], W3x2), beta=0.0,
                                      **reference)[2])
    assert not np.array_equal(np.stack(unadapted, axis=1), out["spikes"])


def test_adaptive_leaky_integrate_fire_defaults_and_network_defaults():
    neuron = AdaptiveLeakyIntegrateFire()
    assert (neuron.v_thresh, neuron.v_reset, neuron.v, neuron.a, neuron.beta, neuron.tau_mem,
            neuron.tau_refrac, neuron.tau_adapt, neuron.relative_reset,
            neuron.integrate_during_refrac, neuron.readout) == \
        (1.0, 0.0, 0.0, 0.0, 0.0174, 20.0, None, 2000.0, True, True, None)
    assert neuron.var_names() == ("v", "a")
    assert AdaptiveLeakyIntegrateFire(tau_refrac=2.0).var_names() == ("v", "a", "refrac_time")
    names = AdaptiveLeakyIntegrateFire(tau_refrac=2.0).genn_var_names()
    assert {"V", "A", "Vthresh", "Vreset", "Beta", "Alpha", "Rho", "TauRefrac",
            "RefracTime"} <= set(names)
    net = Network(default_params={AdaptiveLeakyIntegrateFire: {"beta": 2.0, "tau_adapt": 50.0}})
    with net:
        made = AdaptiveLeakyIntegrateFire(tau_adapt=10.0)
    assert (made.beta, made.tau_adapt) == (2.0, 10.0)
    for name in ("tau_mem", "tau_adapt"):
        with pytest.raises(ValueError, match=f"{name} must be > 0 ms"):
            AdaptiveLeakyIntegrateFire(**{name: 0.0})
    with pytest.raises(TypeError):
        AdaptiveLeakyIntegrateFire(scale_i=True)  # mlGeNN's has no scale_i


# ----------------------------------------------------------------- input frames

def test_integrate_fire_input_frames_hand_worked(sim):
    # Three frames of two steps each, in 8 steps: frame 0 in steps 0-1, frame 1 in
    # 2-3, frame 2 from step 4 on (the last frame stays). Neuron 0 sees 0.25, 0.5,
    # 0.125: V = .25 .5 | 1 -> spike -> 0, .5 | .625 .75 .875 1 -> spike in step 7
    frames = np.array([[[0.25, 1.0], [0.5, 0.0], [0.125, -1.0]]], F32)
    net = Network()
    with net:
        inp = Population(IntegrateFireInput(input_frames=3, input_frame_timesteps=2), 2)
    out = sim.trace(sim.compile(net, 8), {inp: frames}, [inp], 8)[inp]
    np.testing.assert_array_equal(out["v"][:, 0, 0], [.25, .5, 0, .5, .625, .75, .875, 0])
    assert np.flatnonzero(out["spikes"][:, 0, 0]).tolist() == [2, 7]
    # neuron 1: 1.0 twice (two spikes), then nothing, then -1 a step
    np.testing.assert_array_equal(out["v"][:, 0, 1], [0, 0, 0, 0, -1, -2, -3, -4])
    assert np.flatnonzero(out["spikes"][:, 0, 1]).tolist() == [0, 1]


def frame_of_step(step, frames, frame_timesteps, dt):
    """mlGeNN's rule: min(floor(t / (frame_timesteps dt)), frames - 1), in float32."""
    t = F32(step) * F32(dt)
    return min(int(t / (F32(frame_timesteps) * F32(dt))), frames - 1)


@pytest.mark.parametrize("dt", [1.0, 0.5, 0.1])
@pytest.mark.parametrize("model", ["integrate_fire", "leaky_integrate_fire"])
def test_input_frames_against_reference(sim, model, dt):
    rng = np.random.default_rng(8)
    frames, frame_timesteps, steps = 4, 3, 15     # the last frame shows for 6 steps
    x = rng.uniform(-0.2, 0.9, (3, frames, 2, 2)).astype(F32)
    net = Network()
    with net:
        neuron = IntegrateFireInput(input_frames=frames, input_frame_timesteps=frame_timesteps) \
            if model == "integrate_fire" else \
            LeakyIntegrateFireInput(tau_mem=5.0, tau_refrac=1.0, input_frames=frames,
                                    input_frame_timesteps=frame_timesteps)
        inp = Population(neuron, (2, 2))
    out = sim.trace(sim.compile(net, steps, dt=dt, batch_size=3), {inp: x}, [inp], steps)[inp]
    shown = [frame_of_step(t, frames, frame_timesteps, dt) for t in range(steps)]
    assert sorted(set(shown)) == list(range(frames))
    drive = x.reshape(3, frames, 4)[:, shown]                    # (examples, steps, n)
    for e in range(3):
        if model == "integrate_fire":
            v, spikes, _ = ref_integrate_fire(drive[e])
        else:
            v, spikes, _ = ref_spiking(drive[e], tau_mem=5.0, tau_refrac=1.0, dt=dt)
        np.testing.assert_array_equal(out["spikes"][:, e], spikes)
        np.testing.assert_allclose(out["v"][:, e], v, rtol=1e-6, atol=1e-7)
    assert out["spikes"].sum() > 5


def test_binary_and_poisson_input_frames(sim):
    # Frame 0 silent, frame 1 on: BinarySpikeInput spikes exactly in frame 1's steps;
    # a Poisson rate of 1e6/ms spikes with probability 1 (exp(-1e6) is 0 in float32)
    x = np.array([[[0.0, 1.0], [1e6, 0.0]]], F32)
    net = Network()
    with net:
        binary = Population(BinarySpikeInput(input_frames=2, input_frame_timesteps=3), 2)
        poisson = Population(PoissonInput(input_frames=2, input_frame_timesteps=3), 2)
    out = sim.trace(sim.compile(net, 8), {binary: x, poisson: x}, [binary, poisson], 8)
    expected = np.zeros((8, 1, 2), bool)
    expected[:3, 0, 1] = True
    expected[3:, 0, 0] = True
    np.testing.assert_array_equal(out[binary]["spikes"], expected)
    np.testing.assert_array_equal(out[poisson]["spikes"], expected)


def test_frames_that_would_never_be_shown_are_refused_at_compile(sim):
    # 3 frames of 4 steps: frame 2 starts at step 8, so 8 steps never show it
    # (mlGeNN silently drops it), while 9 steps show it once
    net = Network()
    with net:
        inp = Population(IntegrateFireInput(input_frames=3, input_frame_timesteps=4), 1)
    with pytest.raises(ValueError, match="population Pop0: 3 input frames of 4 timesteps need "
                                         "more than 8 timesteps, but evaluate_timesteps=8"):
        sim.compile(net, 8)
    x = np.array([[[0.5], [0.25], [1.0]]], F32)
    out = sim.trace(sim.compile(net, 9), {inp: x}, [inp], 9)[inp]
    np.testing.assert_array_equal(out["v"][:, 0, 0], [.5, 0, .5, 0, .25, .5, .75, 0, 0])


@pytest.mark.parametrize("bad_shape,expected", [
    ((2, 3, 4), r"x\[Pop0\] has shape \(2, 3, 4\), expected \(examples, input_frames=2, "
                r"\*\(4,\)\)"),
    ((2, 4), r"x\[Pop0\] has shape \(2, 4\), expected \(examples, input_frames=2"),
    ((2, 2, 2, 3), r"x\[Pop0\] has shape \(2, 2, 2, 3\)"),
])
def test_input_frames_shape_is_checked_before_simulating(sim, bad_shape, expected):
    net = Network()
    with net:
        inp = Population(BinarySpikeInput(input_frames=2, readout="spike_count"), 4)
    compiled = sim.compile(net, 4)
    with pytest.raises(ValueError, match=expected):
        compiled.predict({inp: np.zeros(bad_shape, F32)}, [inp], callbacks=[])
    # (examples, frames, *shape) and (examples, frames, neurons) are both taken
    assert compiled.predict({inp: np.ones((2, 2, 4), F32)}, [inp],
                            callbacks=[])[0][inp].shape == (2, 4)


@pytest.mark.parametrize("make,match", [
    (lambda: IntegrateFireInput(input_frames=0), "input_frames must be an int >= 1, got 0"),
    (lambda: PoissonInput(input_frame_timesteps=1.5),
     "input_frame_timesteps must be an int >= 1, got 1.5"),
    (lambda: LeakyIntegrateFireInput(input_frames=True), "input_frames must be an int"),
])
def test_input_frame_arguments_are_checked(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_inputs_keep_mlgenn_argument_order():
    neuron = LeakyIntegrateFireInput(1.5, 0.5, 0.25, 10.0, 2.0, False, False, True, 3, 4)
    assert (neuron.v_thresh, neuron.v_reset, neuron.v, neuron.tau_mem, neuron.tau_refrac,
            neuron.relative_reset, neuron.integrate_during_refrac, neuron.scale_i,
            neuron.input_frames, neuron.input_frame_timesteps) == \
        (1.5, 0.5, 0.25, 10.0, 2.0, False, False, True, 3, 4)
    neuron = IntegrateFireInput(2.0, -1.0, 0.5, 5, 6)
    assert (neuron.v_thresh, neuron.input_frames, neuron.input_frame_timesteps) == (2.0, 5, 6)
    assert (PoissonInput(True, 2, 3).signed_spikes, BinarySpikeInput(True).signed_spikes) == \
        (True, True)


# ---------------------------------------------------------------- signed spikes

@pytest.mark.parametrize("source", ["binary", "poisson"])
def test_signed_spikes_are_negative_where_the_value_is(source):
    """Positive spikes where the value is positive, negative ones (delivered as
    -weight) where it is negative: where BinarySpikeInput's value is, where
    PoissonInput's rate (so large that it fires every step) is. Each source neuron
    drives one integrator with weight 1, which after step 1 holds the sign of the
    spike it received in step 0."""
    if source == "binary":
        values = np.array([[1.0, 0.0, -2.0, 0.5], [-1e-30, -1.0, 0.0, 3.0]], F32)
        model = BinarySpikeInput(signed_spikes=True)
    else:
        values = np.array([[1e6, -1e6, 0.0, -1e6], [0.0, 1e6, -1e6, 1e6]], F32)
        model = PoissonInput(signed_spikes=True)
    net = Network()
    with net:
        inp = Population(model, 4)
        out = Population(IntegrateFire(v_thresh=1e9, readout="var"), 4)
        Connection(inp, out, Dense(np.eye(4)))
    compiled = InferenceCompiler(evaluate_timesteps=2, batch_size=2).compile(net)
    compiled.set_input({inp: values})
    compiled.step_time()
    np.testing.assert_array_equal(compiled.engine.spikes(inp), values > 0)
    compiled.step_time()
    np.testing.assert_array_equal(compiled.get_readout(out), np.sign(values))


@pytest.mark.parametrize("delay", [0, 2])
def test_signed_spikes_subtract_their_weights(delay):
    """A neuron with a negative value sends its weights negated: after T steps an
    integrator holds (T - 1 - delay) * ((x > 0) - (x < 0)) @ W, in halves exactly."""
    x = np.array([[1.0, -1.0, 0.0], [-2.0, 0.5, -0.5]])
    weight = np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]])
    net = Network()
    with net:
        inp = Population(BinarySpikeInput(signed_spikes=True), 3)
        out = Population(IntegrateFire(v_thresh=1e9, readout="var"), 2)
        Connection(inp, out, Dense(weight, delay=delay))
    steps = 6
    for batch_size in (1, 2):
        compiled = InferenceCompiler(evaluate_timesteps=steps, batch_size=batch_size).compile(net)
        got = compiled.predict({inp: x}, out, callbacks=[])[0][out]
        expected = (steps - 1 - delay) * (np.sign(x) @ weight)
        np.testing.assert_array_equal(got, expected.astype(F32))


def test_signed_spikes_in_flight_are_forgotten_by_a_reset():
    net = Network()
    with net:
        inp = Population(BinarySpikeInput(signed_spikes=True), 1)
        out = Population(IntegrateFire(v_thresh=1e9, readout="var"), 1)
        Connection(inp, out, Dense(1.0))
    compiled = InferenceCompiler(evaluate_timesteps=3).compile(net)
    compiled.set_input({inp: np.array([[-1.0]])})
    compiled.step_time()            # step 0 emits a negative spike
    compiled.custom_update("Reset")  # ... which the reset forgets
    compiled.step_time()            # step 1 delivers nothing, emits again
    compiled.step_time()            # step 2 delivers -1
    np.testing.assert_array_equal(compiled.get_readout(out), [[-1.0]])
