"""Batch size 1: snnflow's compiled CPU engine against mlGeNN on GeNN's
single-threaded CPU backend, in one process, on the same weights and inputs.

784-128-10 IntegrateFire network of bench/mnist.py, 100 steps. Both models are
built by the same function from each library's own API (snnflow's names are
mlGeNN's): InferenceCompiler(evaluate_timesteps=100, batch_size=1) and, for
mlGeNN, backend="single_threaded_cpu". Timed: evaluate(callbacks=[]) on the same
examples, the two libraries run by run in turn; the ratio is the median of the
per-round ratios. Checked: both give the same output spike counts (predict)
and so the same accuracy, with each example following a blank one in mlGeNN's run
(mlGeNN delivers one example's last-step spikes in the next example's first step;
snnflow starts every example with nothing in flight). snnflow runs on one
thread, as GeNN's backend does (a batch of one example never starts a parallel
region anyway).

mlGeNN needs pygenn and ml_genn (built from source, DEVELOPERS.md); where
``import ml_genn`` fails, the comparison is skipped and the results say why.

Run alone: python bench/mlgenn.py [--quick]
"""
from __future__ import annotations

import contextlib
import importlib
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (sets thread limits before numpy loads)

GENN_BACKEND = "single_threaded_cpu"


def mlgenn_missing() -> str | None:
    """Why mlGeNN cannot run here, or None where it can."""
    try:
        importlib.import_module("ml_genn")
    except Exception as error:  # ImportError, or pygenn failing to load its library
        return f"import ml_genn failed: {error!r}"
    return None


def build(library: str, w1, w2):
    """The 784-128-10 network with ``library``'s own API (snnflow or ml_genn)."""
    import mnist
    options = ({"backend": GENN_BACKEND, "reset_in_syn_between_batches": True}
               if library == "ml_genn" else {})
    net, compiler, inp, _, out = mnist.network(library, w1, w2, 1, **options)
    start = time.perf_counter()
    compiled = (compiler.compile(net, name="bench_mlgenn_784_128_10")
                if library == "ml_genn" else compiler.compile(net))
    return compiled, inp, out, time.perf_counter() - start


@contextlib.contextmanager
def working_directory(path):
    """mlGeNN writes its generated code and build into the working directory."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def run(quick: bool = False, threads: int | None = None) -> dict:
    threads = threads or common.default_threads()
    limiter = common.limit_threads(threads)  # noqa: F841  (kept alive)
    import numba
    import numpy as np

    import mnist
    examples = 50 if quick else 1000
    rounds = 2 if quick else 7
    w1, w2, x, y = mnist.make_problem(examples)
    results = {"benchmark": "mlgenn_batch_1", "quick": quick, "machine": common.machine_info(),
               "config": {"network": "784-128-10 IntegrateFire (bench/mnist.py)",
                          "timesteps": mnist.TIMESTEPS, "batch_size": 1,
                          "examples": examples, "rounds": rounds,
                          "genn_backend": GENN_BACKEND, "snnflow_threads": 1,
                          "call": "evaluate(callbacks=[])"}}
    results["machine"]["numba"] = numba.__version__
    missing = mlgenn_missing()
    if missing:
        print(f"[mlgenn] skipped: {missing}", flush=True)
        results["skipped"] = missing
        results["machine"]["load_average_end"] = os.getloadavg()
        return results
    from importlib.metadata import version
    results["machine"]["ml_genn"] = version("ml_genn")
    results["machine"]["pygenn"] = version("pygenn")
    numba.set_num_threads(1)

    with common.scratch_folder() as folder, working_directory(folder):
        flow, flow_inp, flow_out, flow_compile_s = build("snnflow", w1, w2)
        genn, genn_inp, genn_out, genn_compile_s = build("ml_genn", w1, w2)
        results["compile_s"] = {"snnflow": flow_compile_s,
                                "mlgenn_first_in_this_folder": genn_compile_s}
        with genn:
            # Same spike counts and accuracy, checked before timing. mlGeNN delivers
            # the last step's spikes of one example in the next one's first step
            # (docs/mlgenn.md), snnflow starts every example with none in flight: for
            # this check each example follows a blank one (zero input: nothing spikes
            # in its last step) in mlGeNN's run
            flow_counts = flow.predict({flow_inp: x}, flow_out, callbacks=[])[0][flow_out]
            separated = np.zeros((2 * len(x), x.shape[1]), dtype=x.dtype)
            separated[1::2] = x
            genn_counts = genn.predict({genn_inp: separated}, genn_out,
                                       callbacks=[])[0][genn_out][1::2]
            flow_metrics, _ = flow.evaluate({flow_inp: x}, {flow_out: y}, callbacks=[])
            genn_metrics, _ = genn.evaluate({genn_inp: x}, {genn_out: y}, callbacks=[])
            results["agreement"] = {
                "examples": examples,
                "output_counts_identical_examples":
                    float(np.mean(np.all(flow_counts == genn_counts, axis=1))),
                "output_counts_max_abs_diff": float(np.abs(flow_counts - genn_counts).max()),
                "output_spikes_total": float(flow_counts.sum()),
                "accuracy_from_counts_snnflow": float(np.mean(flow_counts.argmax(1) == y)),
                "accuracy_from_counts_mlgenn": float(np.mean(genn_counts.argmax(1) == y)),
                "evaluate_accuracy_snnflow": float(flow_metrics[flow_out].result),
                "evaluate_accuracy_mlgenn_examples_back_to_back":
                    float(genn_metrics[genn_out].result)}
            print(f"[mlgenn] agreement: {results['agreement']}", flush=True)

            seconds = {"snnflow": [], "mlgenn": []}
            for _ in range(rounds):
                seconds["snnflow"].append(common.timed(
                    flow.evaluate, {flow_inp: x}, {flow_out: y}, callbacks=[])[0])
                seconds["mlgenn"].append(common.timed(
                    genn.evaluate, {genn_inp: x}, {genn_out: y}, callbacks=[])[0])
    results.update({
        name: {**common.summarize(times),
               "examples_per_s_median": examples / statistics.median(times),
               "examples_per_s_best": examples / min(times)}
        for name, times in seconds.items()})
    results["snnflow_over_mlgenn"] = statistics.median(
        g / f for g, f in zip(seconds["mlgenn"], seconds["snnflow"]))
    print(f"[mlgenn] batch 1: snnflow {results['snnflow']['examples_per_s_median']:7.0f} ex/s, "
          f"mlGeNN ({GENN_BACKEND}) {results['mlgenn']['examples_per_s_median']:7.0f} ex/s "
          f"(medians): {results['snnflow_over_mlgenn']:.2f}x", flush=True)
    results["machine"]["load_average_end"] = os.getloadavg()
    return results


if __name__ == "__main__":
    common.script_main("mlgenn", run, __doc__.splitlines()[0])
