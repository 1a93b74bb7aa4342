"""mlGeNN's step-by-step interface, custom updates and recording by GeNN name on the
GeNN engine: identical to the NumPy engine on GeNN's CPU backend. Skipped without
pygenn."""
import numpy as np
import pytest

pytest.importorskip("pygenn")

from snnflow import Connection, Network, Population  # noqa: E402
from snnflow.callbacks import (ConnVarRecorder, CustomUpdateOnTimestepEnd,  # noqa: E402
                               VarRecorder)
from snnflow.compilers import InferenceCompiler  # noqa: E402
from snnflow.connectivity import Dense, FixedProbability  # noqa: E402
from snnflow.initializers import Uniform  # noqa: E402
from snnflow.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire  # noqa: E402

STEPS = 12


def network():
    rng = np.random.default_rng(11)
    net = Network()
    with net:
        inp = Population(IntegrateFireInput(v_thresh=0.7), 6)
        hid = Population(LeakyIntegrateFire(v_thresh=Uniform(0.4, 1.2), tau_mem=8.0,
                                            tau_refrac=2.0), 5)
        out = Population(LeakyIntegrate(tau_mem=15.0, readout="avg_var"), 3)
        Connection(inp, hid, Dense(rng.normal(0.4, 0.3, (6, 5))), synapse="exponential")
        Connection(hid, out, FixedProbability(0.5, 0.6, delay=2))
    return net, inp, hid, out


def compile_on(backend, net, **options):
    return InferenceCompiler(evaluate_timesteps=STEPS, backend=backend,
                             **options).compile(net)


def test_recording_by_genn_name_and_custom_updates_identical():
    net, inp, hid, out = network()
    x = np.random.default_rng(2).uniform(0.0, 0.5, (4, 6))
    results = {}
    for backend in ("numpy", "genn"):
        callbacks = [VarRecorder(inp, genn_var="Input", key="in"),
                     VarRecorder(hid, genn_var="Vthresh", key="thresh"),
                     VarRecorder(hid, genn_var="Alpha", key="alpha", example_filter=0),
                     VarRecorder(hid, genn_var="RefracTime", key="refrac"),
                     ConnVarRecorder(net.connections[1], genn_var="d", key="d",
                                     example_filter=0),
                     CustomUpdateOnTimestepEnd("ResetVars", lambda t: t == 5)]
        results[backend] = compile_on(backend, net, kernel_profiling=True).evaluate(
            {inp: x}, {out: np.zeros(4, int)}, callbacks=callbacks)
    (expected_metrics, expected), (got_metrics, got) = results["numpy"], results["genn"]
    assert got_metrics[out].state == expected_metrics[out].state
    for key in expected:
        np.testing.assert_array_equal(np.stack(got[key]), np.stack(expected[key]), err_msg=key)
    np.testing.assert_array_equal(expected["in"][1], np.tile(x[1], (STEPS, 1)).astype(np.float32))
    assert np.ptp(expected["thresh"][0][0]) > 0  # drawn per neuron
    assert set(np.unique(expected["d"][0])) == {0.0, 2.0}  # delay 2 where connected


def test_step_by_step_identical():
    net, inp, hid, out = network()
    x = np.random.default_rng(3).uniform(0.0, 0.5, (1, 6))
    readouts = {}
    for backend in ("numpy", "genn"):
        compiled = compile_on(backend, net)
        compiled.set_input({inp: x})
        trace = []
        for step in range(STEPS):
            if step == 6:
                compiled.set_input({inp: 2 * x})  # new input, state kept
            compiled.step_time()
            trace.append(compiled.get_readout(out).copy())
        compiled.custom_update("Reset")
        compiled.reset_time()
        trace.append(compiled.get_readout(out).copy())
        assert compiled.engine.timestep == 0
        readouts[backend] = np.stack(trace)
        pre, post = compiled.engine.connectivity(net.connections[1])
        readouts[backend + "-synapses"] = np.stack([pre, post])
    np.testing.assert_array_equal(readouts["genn"], readouts["numpy"])
    np.testing.assert_array_equal(readouts["genn-synapses"], readouts["numpy-synapses"])
    assert np.ptp(readouts["numpy"]) > 0
    np.testing.assert_array_equal(readouts["numpy"][-1], 0.0)
