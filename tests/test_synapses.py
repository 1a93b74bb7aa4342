"""Spike delivery and the synapse models against DESIGN.md: a spike of step t
reaches its targets in step t+1; Delta injects the summed weight once; Exponential
injects inSyn (times tau/dt (1 - e^(-dt/tau)) with scale_i), then decays it."""
import numpy as np
import pytest

from snnflow import Connection, Network, Population
from snnflow.connectivity import Dense
from snnflow.neurons import IntegrateFire, SpikeInput
from snnflow.synapses import Delta, Exponential

F32 = np.float32
NEVER = 1e9  # a threshold no test reaches: the target just integrates


def decay_of(tau, dt):
    return F32(np.exp(-dt / tau))


def scale_of(tau, dt):
    return F32(tau / dt * (1.0 - np.exp(-dt / tau)))


def ref_exponential(delivered, tau, dt, scale_i):
    """Per step: inSyn += delivered; Isyn = inSyn (x scale); inSyn *= decay."""
    decay, scale = decay_of(tau, dt), scale_of(tau, dt)
    in_syn = np.zeros(delivered.shape[1], F32)
    currents = np.zeros_like(delivered)
    for t in range(len(delivered)):
        in_syn = in_syn + delivered[t]
        currents[t] = in_syn * scale if scale_i else in_syn
        in_syn = in_syn * decay
    return currents


def integrate(currents):
    """IntegrateFire below threshold: V(t) = V(t-1) + Isyn(t), float32."""
    v = np.zeros(currents.shape[1], F32)
    out = np.zeros_like(currents)
    for t in range(len(currents)):
        v = v + currents[t]
        out[t] = v
    return out


def single_input_net(weight, synapse, n_pre=1):
    net = Network()
    with net:
        inp = Population(SpikeInput(), n_pre)
        pop = Population(IntegrateFire(v_thresh=NEVER), np.shape(weight)[1])
        Connection(inp, pop, Dense(np.asarray(weight, F32)), synapse=synapse)
    return net, inp, pop


# ------------------------------------------------------------------------- Delta

def test_delta_spike_arrives_next_step_once(sim):
    # input neurons 0 and 1 spike in step 2 (weights 0.25 and 0.5): the target's V
    # jumps by 0.75 in step 3 and by nothing after, inSyn having been cleared
    net, inp, pop = single_input_net([[0.25], [0.5]], Delta(), n_pre=2)
    out = sim.trace(sim.compile(net, 6), {inp: sim.trains([{0: [2.0], 1: [2.0]}], 2)},
                    [pop], 6)[pop]
    np.testing.assert_array_equal(out["v"][:, 0, 0], [0, 0, 0, 0.75, 0.75, 0.75])


def test_delta_through_a_chain_one_step_per_hop(sim):
    net = Network()
    with net:
        inp = Population(SpikeInput(), 1)
        hid = Population(IntegrateFire(v_thresh=0.5), 1)  # resets to v_reset = 0
        out = Population(IntegrateFire(v_thresh=NEVER), 1)
        Connection(inp, hid, Dense(np.ones((1, 1))))
        Connection(hid, out, Dense(np.full((1, 1), 2.0)))
    tr = sim.trace(sim.compile(net, 7), {inp: sim.trains([{0: [2.0, 3.0]}], 1)},
                   [inp, hid, out], 7)
    assert np.flatnonzero(tr[inp]["spikes"][:, 0, 0]).tolist() == [2, 3]
    assert np.flatnonzero(tr[hid]["spikes"][:, 0, 0]).tolist() == [3, 4]
    np.testing.assert_array_equal(tr[out]["v"][:, 0, 0], [0, 0, 0, 0, 2, 4, 4])


def test_delivery_does_not_depend_on_population_order(sim):
    # the target is created before its source, and a neuron excites itself: every
    # spike still arrives exactly one step later
    net = Network()
    with net:
        out = Population(IntegrateFire(v_thresh=NEVER), 1)
        hid = Population(IntegrateFire(v_thresh=1.0), 1)  # resets to v_reset = 0
        inp = Population(SpikeInput(), 1)
        Connection(hid, out, Dense(np.ones((1, 1))))
        Connection(inp, hid, Dense(np.ones((1, 1))))
        Connection(hid, hid, Dense(np.full((1, 1), 0.75)))
    tr = sim.trace(sim.compile(net, 6), {inp: sim.trains([{0: [1.0, 3.0]}], 1)},
                   [hid, out], 6)
    # hid: input at steps 2 and 4 fires it (V=1); its own spike adds 0.75 at steps 3
    # and 5 (0.75 + 1 at step 4 fires too); out counts hid's spikes one step late
    np.testing.assert_array_equal(tr[hid]["v"][:, 0, 0], [0, 0, 0, 0.75, 0, 0.75])
    assert np.flatnonzero(tr[hid]["spikes"][:, 0, 0]).tolist() == [2, 4]
    np.testing.assert_array_equal(tr[out]["v"][:, 0, 0], [0, 0, 0, 1, 1, 2])


# ------------------------------------------------------------------- Exponential

@pytest.mark.parametrize("scale_i", [False, True])
@pytest.mark.parametrize("dt", [1.0, 0.5])
def test_exponential_single_spike_hand_worked(sim, scale_i, dt):
    tau = 5.0
    net, inp, pop = single_input_net([[1.0]], Exponential(tau=tau, scale_i=scale_i))
    steps = 60
    out = sim.trace(sim.compile(net, steps, dt=dt), {inp: sim.trains([{0: [0.0]}], 1)},
                    [pop], steps)[pop]["v"][:, 0, 0]
    # float64 closed form: Isyn(t) = s d^(t-1) for t >= 1, V the running sum
    d = np.exp(-dt / tau)
    s = tau / dt * (1 - d) if scale_i else 1.0
    expected = np.concatenate([[0.0], s * np.cumsum(d ** np.arange(steps - 1))])
    np.testing.assert_allclose(out, expected, rtol=2e-6)
    assert out[0] == 0.0 and out[1] == F32(s)
    if scale_i:
        # the scaled current integrates to tau/dt times the weight in total
        np.testing.assert_allclose(out[-1], tau / dt * (1 - d ** (steps - 1)), rtol=1e-5)


@pytest.mark.parametrize("scale_i", [False, True])
def test_exponential_random_drive_against_reference(sim, scale_i):
    rng = np.random.default_rng(6)
    steps, dt, tau = 40, 0.5, 3.0
    weight = np.array([[0.5, -0.25, 1.0], [0.125, 0.75, 0.0]], F32)
    examples = [{n: sorted(rng.uniform(0, steps * dt, 10).tolist()) for n in range(2)}
                for _ in range(3)]
    net, inp, pop = single_input_net(weight, Exponential(tau=tau, scale_i=scale_i), n_pre=2)
    out = sim.trace(sim.compile(net, steps, dt=dt, batch_size=3),
                    {inp: sim.trains(examples, 2)}, [pop], steps)[pop]["v"]
    raster = sim.raster(examples, 2, steps, dt)
    for e in range(3):
        delivered = np.zeros((steps, 3), F32)
        delivered[1:] = raster[:-1, e].astype(F32) @ weight
        expected = integrate(ref_exponential(delivered, tau, dt, scale_i))
        np.testing.assert_allclose(out[:, e], expected, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------- summing inputs

def test_incoming_connections_sum(sim):
    """Two sources into one target with Delta, Exponential and a second Delta
    connection between the same pair: the currents add."""
    steps, dt, tau = 20, 1.0, 4.0
    wa = np.array([[0.5, 0.25]], F32)
    wb = np.array([[1.0, -0.5], [0.25, 0.125]], F32)
    wc = np.array([[0.125, 0.0625]], F32)
    net = Network()
    with net:
        a = Population(SpikeInput(), 1)
        b = Population(SpikeInput(), 2)
        pop = Population(IntegrateFire(v_thresh=NEVER), 2)
        Connection(a, pop, Dense(wa), synapse=Delta())
        Connection(b, pop, Dense(wb), synapse=Exponential(tau=tau))
        Connection(a, pop, Dense(wc), synapse="delta")
    xa = [{0: [0.0, 3.0, 3.0, 7.0]}]
    xb = [{0: [1.0, 2.0], 1: [2.0, 9.5]}]
    out = sim.trace(sim.compile(net, steps), {a: sim.trains(xa, 1), b: sim.trains(xb, 2)},
                    [pop], steps)[pop]["v"][:, 0]
    ra, rb = sim.raster(xa, 1, steps)[:, 0], sim.raster(xb, 2, steps)[:, 0]
    da, db = np.zeros((steps, 2), F32), np.zeros((steps, 2), F32)
    da[1:] = ra[:-1].astype(F32) @ (wa + wc)
    db[1:] = rb[:-1].astype(F32) @ wb
    expected = integrate(da + ref_exponential(db, tau, dt, False))
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    # hand-worked, target 0 in step 4: a's spike of step 3 through both Delta
    # connections (0.5 + 0.125), plus b's Exponential input delivered in step 2
    # (1.0) and step 3 (1.0 + 0.25), decayed twice and once
    d = np.exp(-dt / tau)
    assert out[4, 0] - out[3, 0] == pytest.approx(0.625 + d ** 2 + 1.25 * d, rel=1e-6)
