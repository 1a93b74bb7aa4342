"""The compiled CPU engine against the engine it replaced (bench/reference_engine.py,
the old NumPy step loop), in one process so the ratios share the machine's load.

784-128-10 IntegrateFire network of bench/mnist.py (100 steps, evaluate with
callbacks=[]): examples/s at batch 128 and at batch 1 on both engines; the
recording cost (every population's spikes and the hidden layer's v of every
example, in memory) on the compiled engine; the first compile of the kernels is
measured by tools outside (see README: a fresh NUMBA_CACHE_DIR).

Run: python bench/engine.py [--threads N] [--examples N]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (sets thread limits before numpy loads)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=common.default_threads())
    parser.add_argument("--examples", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    common.set_threads(args.threads)
    import numba
    numba.set_num_threads(args.threads)
    import mnist
    from reference_engine import ReferenceEngine
    from snnflow.callbacks import SpikeRecorder, VarRecorder

    w1, w2, x, y = mnist.make_problem(args.examples)

    def build(batch_size, engine_class=None):
        compiled, inp, hid, out = mnist.build_snnflow(w1, w2, batch_size)
        if engine_class is not None:
            compiled = _rebuild(compiled, engine_class)
        return compiled, inp, hid, out

    def _rebuild(compiled, engine_class):
        compiler = compiled.compiler
        compiler.engine_class = engine_class
        return compiler.compile(compiled.network)

    def rate(compiled, inp, out, count, callbacks=()):
        compiled.evaluate({inp: x[:8]}, {out: y[:8]}, callbacks=list(callbacks))
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            metrics, data = compiled.evaluate({inp: x[:count]}, {out: y[:count]},
                                              callbacks=list(callbacks))
            best = min(best, time.perf_counter() - start)
        return count / best, metrics[out].result

    results = {}
    for batch_size, count in ((128, args.examples), (1, min(256, args.examples))):
        compiled, inp, hid, out = build(batch_size)
        new, acc_new = rate(compiled, inp, out, count)
        compiled_ref, inp_r, hid_r, out_r = build(batch_size, ReferenceEngine)
        ref, acc_ref = rate(compiled_ref, inp_r, out_r, count)
        results[batch_size] = (new, ref, acc_new, acc_ref)
        print(f"batch {batch_size:4d}, {args.threads} threads: compiled {new:8.0f} ex/s, "
              f"reference {ref:7.0f} ex/s, ratio {new / ref:5.2f}x "
              f"(accuracy {acc_new:.4f} / {acc_ref:.4f})", flush=True)
    compiled, inp, hid, out = build(128)

    def recorders():
        return [SpikeRecorder(p, key=f"spikes{i}") for i, p in enumerate((inp, hid, out))] + \
            [VarRecorder(hid, "v", key="v")]
    for layer in (inp, hid, out):
        layer.population.record_spikes = True
    plain, _ = rate(compiled, inp, out, args.examples)
    recorded, _ = rate(compiled, inp, out, args.examples, recorders())
    print(f"recording every spike + hidden v, batch 128: {recorded:8.0f} ex/s against "
          f"{plain:8.0f} without: {plain / recorded:5.2f}x the time")


if __name__ == "__main__":
    main()
