"""The compiled CPU engine against the NumPy step loop it replaced
(bench/reference_engine.py): the same spikes, state, readouts and recordings, bit
for bit, for every model, synapse, connectivity, delay, readout and reset flag,
at several batch sizes and at 1 and 2 threads."""
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

from snnflow import Connection, Network, Population
from snnflow.backends.numpy import engine as numpy_engine
from snnflow.callbacks import SpikeRecorder, VarRecorder
from snnflow.compilers import InferenceCompiler
from snnflow.connectivity import (AvgPool2D, AvgPoolConv2D, AvgPoolDense2D, Conv2D,
                                  Conv2DTranspose, Dense, FixedProbability, OneToOne)
from snnflow.initializers import Uniform
from snnflow.neurons import (AdaptiveLeakyIntegrateFire, BinarySpikeInput, IntegrateFire,
                             IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire,
                             LeakyIntegrateFireInput, PoissonInput, SpikeInput)
from snnflow.synapses import Exponential
from snnflow.utils.data import preprocess_spikes

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from reference_engine import ReferenceEngine  # noqa: E402

F32 = np.float32
STEPS = 25


def _network(kind):
    rng = np.random.default_rng(7)
    net = Network()
    with net:
        if kind == "lif":
            inp = Population(PoissonInput(), 12, record_spikes=True)
            hid = Population(LeakyIntegrateFire(tau_refrac=3.0, integrate_during_refrac=False,
                                                v_thresh=Uniform(0.5, 1.0)), 9,
                             record_spikes=True)
            alif = Population(AdaptiveLeakyIntegrateFire(tau_refrac=2.0, beta=0.5,
                                                         relative_reset=False), 7,
                              record_spikes=True)
            out = Population(LeakyIntegrate(readout="avg_var_exp_weight", scale_i=True), 4)
            out2 = Population(LeakyIntegrateFire(readout="first_spike_time", scale_i=True), 7)
            Connection(inp, hid, Dense(rng.normal(0.4, 0.5, (12, 9))), Exponential(3.0))
            Connection(inp, alif, FixedProbability(0.6, Uniform(0.0, 1.0)))
            Connection(hid, alif, Dense(rng.normal(0.3, 0.4, (9, 7)), delay=2))
            Connection(hid, hid, Dense(rng.normal(0.0, 0.3, (9, 9)),
                                       delay=rng.integers(0, 4, (9, 9)).astype(float)),
                       Exponential(2.0, scale_i=True), max_delay_steps=3)
            Connection(alif, out, Dense(rng.normal(0.0, 1.0, (7, 4))))
            Connection(hid, out, Dense(rng.normal(0.0, 1.0, (9, 4))))
            Connection(alif, out2, OneToOne(2.0))
            return net, inp, [hid, alif], [out, out2]
        if kind == "conv":
            inp = Population(IntegrateFireInput(v_thresh=0.8), (6, 6, 2), record_spikes=True)
            conv = Population(IntegrateFire(), (4, 4, 3), record_spikes=True)
            pool = Population(LeakyIntegrateFire(), (2, 2, 3))
            tr = Population(IntegrateFire(readout="spike_count"), (4, 4, 1))
            apc = Population(IntegrateFire(readout="max_var"), (2, 2, 2))
            apd = Population(IntegrateFire(readout="sum_var"), 5)
            Connection(inp, conv, Conv2D(rng.normal(0.2, 0.4, (3, 3, 2, 3)), 3, 3))
            Connection(conv, pool, AvgPool2D(2, delay=1))
            Connection(pool, tr, Conv2DTranspose(rng.normal(0.5, 0.5, (2, 2, 1, 3)), 1, 2,
                                                 conv_strides=2))
            Connection(inp, apc, AvgPoolConv2D(rng.normal(0.5, 0.5, (2, 2, 2, 2)), 2, 2, 2))
            Connection(conv, apd, AvgPoolDense2D(rng.normal(0.5, 0.5, (12, 5)), 2))
            return net, inp, [conv, pool], [tr, apc, apd]
        if kind == "signed":
            inp = Population(BinarySpikeInput(signed_spikes=True, input_frames=2,
                                              input_frame_timesteps=10), 6, record_spikes=True)
            pois = Population(PoissonInput(signed_spikes=True), 6)
            # unsigned, one frame: the kernels' vectorised spike-source path
            binary = Population(BinarySpikeInput(), 5, record_spikes=True)
            out = Population(IntegrateFire(v_thresh=3.0, readout="avg_var"), 3)
            lif = Population(LeakyIntegrateFireInput(input_frames=2, input_frame_timesteps=8,
                                                     readout="var"), 3)
            Connection(inp, out, Dense(rng.normal(0.2, 0.5, (6, 3)), delay=1))
            Connection(pois, out, Dense(rng.normal(0.2, 0.5, (6, 3))), Exponential(4.0))
            Connection(binary, out, Dense(rng.normal(0.2, 0.5, (5, 3))))
            return net, [inp, pois, lif, binary], [], [out, lif]
        inp = Population(SpikeInput(), 5, record_spikes=True)
        out = Population(IntegrateFire(v_thresh=1.5, readout="spike_count"), 3,
                         record_spikes=True)
        Connection(inp, out, Dense(rng.normal(0.8, 0.4, (5, 3)), delay=Uniform(0, 3)),
                   max_delay_steps=3)
        return net, inp, [out], [out]


def _inputs(kind, inp, n):
    rng = np.random.default_rng(3)
    if kind == "lif":
        return {inp: rng.uniform(0, 0.3, (n, 12)).astype(F32)}
    if kind == "conv":
        return {inp: rng.uniform(0, 0.5, (n, 6, 6, 2)).astype(F32)}
    if kind == "signed":
        signed, pois, lif, binary = inp
        return {signed: rng.integers(-1, 2, (n, 2, 6)).astype(F32),
                pois: rng.uniform(-0.5, 0.5, (n, 6)).astype(F32),
                lif: rng.uniform(0, 0.3, (n, 2, 3)).astype(F32),
                binary: rng.integers(0, 2, (n, 5)).astype(F32)}
    trains = [preprocess_spikes(np.sort(rng.uniform(0, STEPS, 12)).astype(F32),
                                rng.integers(0, 5, 12), 5) for _ in range(n)]
    return {inp: trains}


def _run(kind, batch_size, engine_class, threads, flags):
    numba.set_num_threads(threads)
    net, inp, hidden, outputs = _network(kind)
    compiler = InferenceCompiler(evaluate_timesteps=STEPS, batch_size=batch_size, **flags)
    if engine_class is not None:
        compiler.engine_class = engine_class
    compiled = compiler.compile(net)
    recorders = [SpikeRecorder(p, key=f"s{i}") for i, p in enumerate(net.populations)
                 if p.record_spikes]
    recorders += [VarRecorder(p, "v", key=f"v{i}",
                              neuron_filter=[0, 2] if len(p.shape) == 1 else None,
                              timestep_filter=slice(3, None, 2))
                  for i, p in enumerate(hidden)]
    predictions, data = compiled.predict(_inputs(kind, inp, 7), outputs, callbacks=recorders)
    return [predictions[o] for o in outputs], data


def _assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


@pytest.mark.parametrize("kind", ["lif", "conv", "signed", "spikes"])
@pytest.mark.parametrize("flags", [{}, {"reset_vars_between_batches": False,
                                        "reset_time_between_batches": False}])
def test_identical_to_the_reference_step_loop(kind, flags, monkeypatch):
    # These networks are small: make two threads run them in parallel regardless
    # (and whatever thread limit this test process started with)
    monkeypatch.setattr(numpy_engine, "PARALLEL_MIN_NEURON_STEPS", 0)
    monkeypatch.setattr(numpy_engine, "THREAD_LIMIT", None)
    parallel_calls = []
    parallel = numpy_engine.run_steps
    monkeypatch.setattr(numpy_engine, "run_steps",
                        lambda *args: parallel_calls.append(1) or parallel(*args))
    reference = _run(kind, 3, ReferenceEngine, 1, flags)
    for batch_size in (1, 3, 7):
        for threads in (1, 2):
            if batch_size != 3 and flags:
                continue
            _assert_same(_run(kind, batch_size, None, threads, flags), reference)
    assert parallel_calls, "no batch ran its examples in parallel threads"


def test_per_step_hooks_see_the_current_state():
    """A callback with timestep hooks gets every call with the engine's state
    current, and the results do not change."""
    net, inp, hidden, outputs = _network("lif")
    seen = []

    class Watch:
        def set_params(self, compiled_network=None, **_):
            self.engine = compiled_network.engine

        def on_timestep_end(self, timestep):
            seen.append((timestep, self.engine.get_var(hidden[0], "v").copy()))

    compiled = InferenceCompiler(evaluate_timesteps=STEPS, batch_size=4).compile(net)
    plain = compiled.predict(_inputs("lif", inp, 4), outputs, callbacks=[])[0]
    watched = compiled.predict(_inputs("lif", inp, 4), outputs, callbacks=[Watch()])[0]
    _assert_same(plain, watched)
    assert [t for t, _ in seen] == list(range(STEPS))
    reference = InferenceCompiler(evaluate_timesteps=STEPS, batch_size=4)
    reference.engine_class = ReferenceEngine
    compiled = reference.compile(net)
    ref_seen = []
    seen_ref = Watch()
    seen_ref.on_timestep_end = lambda t: ref_seen.append(
        compiled.engine.get_var(hidden[0], "v").copy())
    compiled.predict(_inputs("lif", inp, 4), outputs, callbacks=[seen_ref])
    _assert_same([v for _, v in seen], ref_seen)


def test_a_thread_limit_set_after_start_is_not_taken(monkeypatch):
    """A Dask nanny started in this process sets OMP_NUM_THREADS=1 in its
    environment for its workers; the driver's own runs keep their threads."""
    monkeypatch.setattr(numpy_engine, "PARALLEL_MIN_NEURON_STEPS", 0)
    monkeypatch.setattr(numpy_engine, "THREAD_LIMIT", None)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    parallel_calls = []
    parallel = numpy_engine.run_steps
    monkeypatch.setattr(numpy_engine, "run_steps",
                        lambda *args: parallel_calls.append(1) or parallel(*args))
    _run("spikes", 3, None, 2, {})
    assert parallel_calls
    assert numba.get_num_threads() == 2
    # A limit the process started with is honoured
    monkeypatch.setattr(numpy_engine, "THREAD_LIMIT", 1)
    parallel_calls.clear()
    try:
        _run("spikes", 3, None, 2, {})
        assert not parallel_calls and numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
