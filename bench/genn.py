"""The 784-128-10 network of bench/mnist.py at batch 1: GeNN engine (GeNN's
single-threaded CPU backend, or CUDA where pygenn has it) against the NumPy engine.

Reports examples/s of InferenceCompiler.evaluate (callbacks=[]) for both engines on
the same examples, the GeNN build time (first compile, and a cached second one),
and checks that both engines give the same metric state.

Run alone: python bench/genn.py [--examples N]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (sets thread limits before numpy loads)
from mnist import (DT, NUM_HIDDEN, NUM_IN, NUM_OUT, TIMESTEPS, V_THRESH,  # noqa: E402
                   make_problem)


def build(w1, w2, backend):
    from snnflow import InputLayer, Layer, SequentialNetwork
    from snnflow.compilers import InferenceCompiler
    from snnflow.connectivity import Dense
    from snnflow.neurons import IntegrateFire, IntegrateFireInput
    net = SequentialNetwork()
    with net:
        inp = InputLayer(IntegrateFireInput(v_thresh=V_THRESH), NUM_IN)
        Layer(Dense(w1), IntegrateFire(v_thresh=V_THRESH), NUM_HIDDEN)
        out = Layer(Dense(w2), IntegrateFire(v_thresh=V_THRESH, readout="spike_count"),
                    NUM_OUT)
    compiler = InferenceCompiler(evaluate_timesteps=TIMESTEPS, dt=DT, batch_size=1,
                                 backend=backend)
    return compiler, net, inp, out


def main(argv):
    examples = int(argv[argv.index("--examples") + 1]) if "--examples" in argv else 200
    w1, w2, x, y = make_problem(examples)
    print(common.machine_info())
    states = {}
    for backend in ("numpy", "genn"):
        compiler, net, inp, out = build(w1, w2, backend)
        start = time.perf_counter()
        compiled = compiler.compile(net)
        first = time.perf_counter() - start
        start = time.perf_counter()
        compiler.compile(net)
        second = time.perf_counter() - start
        compiled.evaluate({inp: x[:2]}, {out: y[:2]}, callbacks=[])  # warm-up
        start = time.perf_counter()
        metrics, _ = compiled.evaluate({inp: x}, {out: y}, callbacks=[])
        seconds = time.perf_counter() - start
        states[backend] = metrics[out].state
        print(f"{backend}: compile {first:.2f} s (again {second:.2f} s), {examples} examples "
              f"in {seconds:.2f} s = {examples / seconds:.0f} examples/s, "
              f"metric state {metrics[out].state}")
    print("identical metric state:", states["numpy"] == states["genn"])


if __name__ == "__main__":
    main(sys.argv[1:])
