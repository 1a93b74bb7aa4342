"""The compiled CPU engine against the engine it replaced (bench/reference_engine.py,
the old NumPy step loop) and against snnTorch on CPU, in one process so that the
ratios share the machine's load.

784-128-10 IntegrateFire network of bench/mnist.py (100 steps, evaluate with
callbacks=[]):

* batch 128: compiled engine, reference engine and the same network in snnTorch
  (mnist.build_torch), run by run in turn on the same examples; the ratios are
  the medians of the per-round ratios;
* the same at batch 128 with one thread for every library (the ratio a shared
  machine's load disturbs least);
* batch 1: compiled against reference, the same way;
* the recording cost at batch 128: every population's spikes and the hidden
  layer's v of every example, in memory, against the same run without recorders;
* agreement: the output spike counts of the three on the same examples.

The first compile of the kernels is measured outside (README: a fresh
NUMBA_CACHE_DIR); the warm-up batch here only loads them from Numba's cache.

Run alone: python bench/engine.py [--quick] [--threads N]
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (sets thread limits before numpy loads)

HEADLINE_BATCH = 128


def _build(w1, w2, batch_size, engine_class=None):
    """mnist's network on the default (compiled) engine or on ``engine_class``."""
    import mnist
    compiled, inp, hid, out = mnist.build_snnflow(w1, w2, batch_size)
    if engine_class is not None:
        compiler = compiled.compiler
        compiler.engine_class = engine_class
        compiled = compiler.compile(compiled.network)
    return compiled, inp, hid, out


def _snnflow_runner(compiled, inp, out, x, y, callbacks=None):
    def run():
        compiled.evaluate({inp: x}, {out: y}, callbacks=callbacks() if callbacks else [])
    return run


def interleaved(runners: dict, rounds: int) -> dict:
    """Each runner once per round, in turn, after one warm-up call each: seconds per
    round for every runner (so that every one sees the same background load)."""
    for run in runners.values():
        run()
    seconds = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            seconds[name].append(common.timed(run)[0])
    return seconds


def median_ratio(slower: list[float], faster: list[float]) -> float:
    """Median over rounds of slower/faster, each round's pair timed back to back."""
    return statistics.median(s / f for s, f in zip(slower, faster))


def _rates(seconds: dict, examples: int) -> dict:
    return {name: {**common.summarize(times),
                   "examples_per_s_median": examples / statistics.median(times),
                   "examples_per_s_best": examples / min(times)}
            for name, times in seconds.items()}


def agreement(w1, w2, x, batch_size) -> dict:
    """Output spike counts of the compiled engine, the reference and snnTorch on
    the same examples (predict's spike_count readout)."""
    import mnist
    import numpy as np
    from reference_engine import ReferenceEngine
    counts = {}
    for name, engine_class in (("compiled", None), ("reference", ReferenceEngine)):
        compiled, inp, _, out = _build(w1, w2, batch_size, engine_class)
        predictions, _ = compiled.predict({inp: x}, out, callbacks=[])
        counts[name] = predictions[out]
    counts["snntorch"] = mnist.run_torch(mnist.build_torch(w1, w2), x, batch_size)
    return {"examples": len(x), "batch_size": batch_size,
            "output_spikes_total": float(counts["compiled"].sum()),
            **{f"compiled_vs_{other}_identical_examples":
               float(np.mean(np.all(counts["compiled"] == counts[other], axis=1)))
               for other in ("reference", "snntorch")}}


def run(quick: bool = False, threads: int | None = None) -> dict:
    threads = threads or common.default_threads()
    limiter = common.limit_threads(threads)  # noqa: F841  (kept alive)
    import numba
    import torch
    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))

    import mnist
    from reference_engine import ReferenceEngine
    from snnflow.callbacks import SpikeRecorder, VarRecorder

    examples = 256 if quick else 1024
    batch1_examples = 32 if quick else 256
    rounds = 2 if quick else 5
    w1, w2, x, y = mnist.make_problem(examples)
    results = {"benchmark": "engine", "quick": quick, "threads": threads,
               "numba_threads": numba.get_num_threads(), "machine": common.machine_info(),
               "config": {"network": "784-128-10 IntegrateFire (bench/mnist.py)",
                          "timesteps": mnist.TIMESTEPS, "rounds": rounds,
                          "call": "evaluate(callbacks=[])",
                          "snntorch": "mnist.build_torch, torch.inference_mode"}}
    results["machine"]["numba"] = numba.__version__

    print(f"[engine] agreement on {min(512, examples)} examples", flush=True)
    results["agreement"] = agreement(w1, w2, x[:min(512, examples)], HEADLINE_BATCH)
    print(f"  {results['agreement']}", flush=True)

    # Batch 128: compiled, reference, snnTorch
    new = _build(w1, w2, HEADLINE_BATCH)
    old = _build(w1, w2, HEADLINE_BATCH, ReferenceEngine)
    model = mnist.build_torch(w1, w2)

    def three_way(label, **extra):
        """The three in turn at batch 128: their row, printed."""
        seconds = interleaved({
            "compiled": _snnflow_runner(new[0], new[1], new[3], x, y),
            "reference": _snnflow_runner(old[0], old[1], old[3], x, y),
            "snntorch": lambda: mnist.run_torch(model, x, HEADLINE_BATCH)}, rounds)
        row = {"batch_size": HEADLINE_BATCH, **extra, "examples": examples,
               **_rates(seconds, examples),
               "compiled_over_reference": median_ratio(seconds["reference"],
                                                       seconds["compiled"]),
               "compiled_over_snntorch": median_ratio(seconds["snntorch"],
                                                      seconds["compiled"])}
        print(f"[engine] batch 128, {label}: compiled "
              f"{row['compiled']['examples_per_s_median']:8.0f} ex/s, reference "
              f"{row['reference']['examples_per_s_median']:7.0f}, snnTorch "
              f"{row['snntorch']['examples_per_s_median']:7.0f} (medians); compiled/reference "
              f"{row['compiled_over_reference']:.2f}x, compiled/snnTorch "
              f"{row['compiled_over_snntorch']:.2f}x", flush=True)
        return row
    results["batch_128"] = three_way(f"{threads} threads")

    # Batch 128 again with one thread for every library: two-thread OpenMP code
    # (torch) collapses when another process holds one of the two cores, so on a
    # shared machine this is the ratio that load disturbs least
    with common.set_threads(1):
        numba.set_num_threads(1)
        results["batch_128_one_thread"] = three_way("1 thread", threads=1)
        numba.set_num_threads(results["numba_threads"])

    # Batch 1: compiled, reference
    xb, yb = x[:batch1_examples], y[:batch1_examples]
    new1 = _build(w1, w2, 1)
    old1 = _build(w1, w2, 1, ReferenceEngine)
    seconds = interleaved({"compiled": _snnflow_runner(new1[0], new1[1], new1[3], xb, yb),
                           "reference": _snnflow_runner(old1[0], old1[1], old1[3], xb, yb)},
                          rounds)
    row = {"batch_size": 1, "examples": batch1_examples, **_rates(seconds, batch1_examples),
           "compiled_over_reference": median_ratio(seconds["reference"], seconds["compiled"])}
    results["batch_1"] = row
    print(f"[engine] batch 1: compiled {row['compiled']['examples_per_s_median']:8.0f} ex/s, "
          f"reference {row['reference']['examples_per_s_median']:7.0f} (medians); "
          f"{row['compiled_over_reference']:.2f}x", flush=True)

    # Recording cost on the compiled engine, batch 128
    compiled, inp, hid, out = new
    for layer in (inp, hid, out):
        layer.population.record_spikes = True

    def recorders():
        return ([SpikeRecorder(layer, key=f"spikes{i}") for i, layer in
                 enumerate((inp, hid, out))] + [VarRecorder(hid, "v", key="v")])
    seconds = interleaved({"plain": _snnflow_runner(compiled, inp, out, x, y),
                           "recording": _snnflow_runner(compiled, inp, out, x, y, recorders)},
                          rounds)
    results["recording"] = {
        "batch_size": HEADLINE_BATCH, "examples": examples,
        "recorded": "spikes of all three populations and the hidden layer's v, every "
                    "example and step, in memory",
        **_rates(seconds, examples),
        "time_ratio": median_ratio(seconds["recording"], seconds["plain"])}
    print(f"[engine] recording every spike + hidden v, batch 128: "
          f"{results['recording']['time_ratio']:.2f}x the time without", flush=True)
    results["machine"]["load_average_end"] = common.os.getloadavg()
    return results


if __name__ == "__main__":
    common.script_main("engine", run, __doc__.splitlines()[0])
