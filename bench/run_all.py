"""Run every snnflow benchmark in one process and write bench/results/*.json plus a
Markdown summary (bench/results/summary.md; --quick writes under results/quick/).

    python bench/run_all.py                # full run, ~10-15 min on 2 cores
    python bench/run_all.py --quick        # smoke run, < 1 min
    python bench/run_all.py --threads 1    # cap BLAS/OpenMP/torch threads
    python bench/run_all.py --report       # rebuild summary.md from the JSON files
    python bench/run_all.py --only engine  # one benchmark (repeatable; names below)

mlgenn runs where ``import ml_genn`` works (an environment with pygenn and
ml_genn) and records why it was skipped elsewhere.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (must come before numpy: thread limits)

BENCHMARKS = ("engine", "mlgenn", "layer_size", "open_neuromorphic", "mnist", "propagation")


def main():
    parser = argparse.ArgumentParser(description="snnflow benchmark suite")
    parser.add_argument("--quick", action="store_true", help="short smoke run (< 1 min)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS/OpenMP/torch threads (default: all cores of this process)")
    parser.add_argument("--only", choices=BENCHMARKS, action="append",
                        help="run only this benchmark (repeatable)")
    parser.add_argument("--report", action="store_true",
                        help="only rebuild summary.md from existing results")
    args = parser.parse_args()
    folder = common.RESULTS_DIR / "quick" if args.quick else common.RESULTS_DIR

    if not args.report:
        threads = args.threads or common.default_threads()
        limiter = common.limit_threads(threads)  # noqa: F841  (kept alive)
        start = time.perf_counter()
        for name in args.only or BENCHMARKS:
            module = __import__(name)
            began = time.perf_counter()
            results = module.run(args.quick, threads)
            results["wall_s"] = time.perf_counter() - began
            path = common.write_results(name, results, args.quick)
            print(f"== {name}: {results['wall_s']:.0f} s, wrote {path}", flush=True)
        print(f"== total {time.perf_counter() - start:.0f} s", flush=True)

    summary = report(folder)
    (folder / "summary.md").write_text(summary)
    print(summary)


def _load(folder: Path, name: str):
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def report(folder: Path) -> str:
    lines = []
    loaded = {name: _load(folder, name) for name in BENCHMARKS}
    machine = next((r["machine"] for r in loaded.values() if r), None)
    if machine:
        blas = machine.get("numpy_blas", {})
        pools = ", ".join(f"{p['internal_api']} {p.get('version') or ''} "
                          f"({p['num_threads']} threads"
                          f"{', ' + p['architecture'] if p.get('architecture') else ''})"
                          for p in machine.get("threadpools", []))
        lines += [f"- date: {machine['date']}",
                  f"- command: `{machine['command']}`",
                  f"- machine: nproc={machine['nproc']}, {machine['cpu_model']}, "
                  f"{machine['memory_gib']} GiB",
                  f"- numpy {machine['numpy']} (BLAS: {blas.get('name')} "
                  f"{blas.get('version')}), scipy {machine['scipy']}, numba "
                  f"{machine.get('numba')}, torch {machine.get('torch')}, snntorch "
                  f"{machine.get('snntorch')}, norse {machine.get('norse')}, "
                  f"python {machine['python']}",
                  f"- snnflow revision: {machine.get('snnflow_revision')}",
                  f"- thread pools loaded: {pools}",
                  ""]
    tables = {"engine": _engine_tables, "mlgenn": _mlgenn_table, "mnist": _mnist_tables,
              "layer_size": _layer_table, "open_neuromorphic": _open_neuromorphic_table,
              "propagation": _propagation_tables}
    for name in BENCHMARKS:
        if loaded[name]:
            lines += tables[name](loaded[name])
    loads = [(name, r["machine"]["load_average"], r["machine"].get("load_average_end"),
              r["machine"]) for name, r in loaded.items() if r]
    if loads:
        lines += ["Load average (1, 5, 15 min) at start / end of each benchmark "
                  "(2 cores; above ~2 means other processes competed), with the date and "
                  "snnflow revision of its results file:", ""]
        lines += [f"- {name}: {_load_avg(begin)} / {_load_avg(end)} ({machine['date']}, "
                  f"{machine.get('snnflow_revision')})"
                  for name, begin, end, machine in loads]
        lines.append("")
    return "\n".join(lines) + "\n"


def _engine_tables(r):
    a = r["agreement"]
    b128, b1, rec = r["batch_128"], r["batch_1"], r["recording"]
    lines = [f"### Compiled engine against the reference engine and snnTorch "
             f"(784-128-10, {r['config']['timesteps']} steps, {r['threads']} threads, "
             f"{r['config']['rounds']} interleaved rounds)", "",
             f"Output spike counts on {a['examples']} examples: compiled = reference in "
             f"{100 * a['compiled_vs_reference_identical_examples']:.1f}% of examples, "
             f"compiled = snnTorch in {100 * a['compiled_vs_snntorch_identical_examples']:.1f}%.",
             "", "| batch | examples | compiled ex/s | reference ex/s | snnTorch ex/s | "
             "compiled/reference | compiled/snnTorch |", "|---:|---:|---:|---:|---:|---:|---:|"]
    rows = [b128] + ([r["batch_128_one_thread"]] if "batch_128_one_thread" in r else []) + [b1]
    for row in rows:
        torch = row.get("snntorch")
        torch_rate = f"{torch['examples_per_s_median']:,.0f}" if torch else ""
        torch_ratio = f"{row['compiled_over_snntorch']:.2f}x" if torch else ""
        label = f"{row['batch_size']}" + (" (1 thread)" if row.get("threads") == 1 else "")
        lines.append(f"| {label} | {row['examples']} | "
                     f"{row['compiled']['examples_per_s_median']:,.0f} | "
                     f"{row['reference']['examples_per_s_median']:,.0f} | {torch_rate} | "
                     f"{row['compiled_over_reference']:.2f}x | {torch_ratio} |")
    lines += ["", "Examples/s are medians over the rounds; ratios are medians of the "
              "per-round ratios.", "",
              f"Recording every spike of the three populations and the hidden layer's v of "
              f"every example (in memory, batch {rec['batch_size']}): "
              f"**{rec['time_ratio']:.2f}x** the time of the run without recorders.", ""]
    return lines


def _mlgenn_table(r):
    lines = ["### Batch size 1 against mlGeNN (GeNN's single-threaded CPU backend)", ""]
    if "skipped" in r:
        return lines + [f"Skipped: {r['skipped']}", ""]
    a = r["agreement"]
    config = r["config"]
    return lines + [
        f"784-128-10, {config['timesteps']} steps, {config['examples']} examples, "
        f"{config['rounds']} interleaved rounds, ml_genn {r['machine'].get('ml_genn')}, "
        f"pygenn {r['machine'].get('pygenn')}. Output spike counts identical in "
        f"{100 * a['output_counts_identical_examples']:.1f}% of examples (each example "
        f"after a blank one in mlGeNN, which carries the last step's spikes over); "
        f"accuracy {a['accuracy_from_counts_snnflow']:.4f} (snnflow) vs "
        f"{a['accuracy_from_counts_mlgenn']:.4f} (mlGeNN).", "",
        "| snnflow ex/s | mlGeNN ex/s | snnflow/mlGeNN |", "|---:|---:|---:|",
        f"| {r['snnflow']['examples_per_s_median']:,.0f} | "
        f"{r['mlgenn']['examples_per_s_median']:,.0f} | {r['snnflow_over_mlgenn']:.2f}x |", ""]


def _open_neuromorphic_table(r):
    config = r["config"]
    lines = [f"### Open Neuromorphic benchmark layer: Linear + LIF, N = {config['neurons']:,}, "
             f"batch {config['batch_size']}, {config['timesteps']} steps, forward only, "
             f"{r['threads']} threads", "",
             "| library | s per batch | ms per step | spikes/neuron/step | snnflow speed-up |",
             "|---|---:|---:|---:|---:|"]
    for name, label in (("snnflow", "snnflow"), ("snntorch", "snnTorch"), ("norse", "Norse")):
        row = r[name]
        scaled = " *" if row.get("scaled_from_steps") else ""
        ratio = "" if name == "snnflow" else f"{r[f'snnflow_over_{name}']:.1f}x"
        lines.append(f"| {label} | {row['seconds_per_batch']:.2f}{scaled} | "
                     f"{row['ms_per_step']:.1f} | {100 * row['spikes_per_neuron_per_step']:.2f}% "
                     f"| {ratio} |")
    lines += ["", f"\\* {config['torch_steps_per_run']} steps per run, scaled to "
              f"{config['timesteps']}. snnflow: "
              f"{r['snnflow']['ns_per_synaptic_event']:.3f} ns per synaptic event at "
              f"{100 * config['input_spike_probability_per_step']:.1f}% input spikes per "
              f"step. Medians of {config['rounds']} rounds; ratios are medians of per-round "
              f"ratios.", ""]
    return lines


def _load_avg(values):
    return "n/a" if values is None else ", ".join(f"{v:.2f}" for v in values)


def _mnist_tables(r):
    a = r["agreement"]
    rates = a["rates_per_neuron_per_step"]
    lines = [f"### 784-128-10 IntegrateFire ({r['config']['timesteps']} steps, "
             f"{r['threads']} threads)", "",
             f"Spikes per neuron per step (snnflow, {a['examples']} examples): input "
             f"{100 * rates['input']:.2f}%, hidden {100 * rates['hidden']:.2f}%, output "
             f"{100 * rates['output']:.2f}%.", "",
             f"snnflow vs snnTorch on the same {a['examples']} examples: output spike counts "
             f"identical in {100 * a['output_counts_identical_examples']:.1f}% of examples "
             f"(max abs difference {a['output_counts_max_abs_diff']:g}), hidden spike totals "
             f"identical in {100 * a['hidden_totals_identical_examples']:.1f}% (max abs "
             f"difference {a['hidden_totals_max_abs_diff']:g}), predicted class agrees in "
             f"{100 * a['argmax_agreement']:.1f}%; accuracy on the random labels "
             f"{a['accuracy_snnflow']:.4f} (snnflow) vs {a['accuracy_snntorch']:.4f} "
             f"(snnTorch).", "",
             "| batch | examples | snnflow ex/s | snnTorch ex/s | snnflow/snnTorch | "
             "matmul-bound ex/s | sgemm GFLOP/s | fraction of matmul bound |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    rows = list(r["batches"])
    if "single_thread_batch_128" in r:
        rows.append(r["single_thread_batch_128"])
    for row in rows:
        label = f"{row['batch_size']}" + (" (1 thread)" if row.get("threads") == 1 else "")
        lines.append(f"| {label} | {row['examples']} | {row['snnflow']['examples_per_s']:,.0f} | "
                     f"{row['snntorch']['examples_per_s']:,.0f} | "
                     f"{row['snnflow_over_snntorch']:.2f} | "
                     f"{row['matmul']['bound_examples_per_s']:,.0f} | "
                     f"{row['matmul']['sgemm_gflops']:.1f} | "
                     f"{100 * row['fraction_of_matmul_bound']:.0f}% |")
    if "two_processes_batch_128" in r:
        two = r["two_processes_batch_128"]
        lines += ["", f"Two snnflow processes with 1 thread each, batch "
                  f"{two['batch_size']}, {two['examples_per_process']} examples each at the "
                  f"same time: **{two['examples_per_s']:,.0f} ex/s** in all."]
    best = max(r["batches"], key=lambda row: row["snnflow"]["examples_per_s"])
    ref = r["mlgenn_genn_cpu_reference"]
    batch1 = next((row for row in r["batches"] if row["batch_size"] == 1), None)
    lines += ["", f"Best snnflow batch: {best['batch_size']} "
              f"({best['snnflow']['examples_per_s']:,.0f} ex/s).",
              f"Reference (given, not measured here): mlGeNN on GeNN's CPU backend, batch 1: "
              f"~{ref['examples_per_s']} ex/s"
              + (f"; snnflow at batch 1 here: {batch1['snnflow']['examples_per_s']:,.0f} ex/s"
                 f" ({batch1['snnflow']['examples_per_s'] / ref['examples_per_s']:.2f}x), at "
                 f"its best batch {best['snnflow']['examples_per_s'] / ref['examples_per_s']:.1f}x"
                 if batch1 else "") + ".", ""]
    for p in (r[key] for key in ("profile", "profile_batch_1") if key in r):
        lines += [f"cProfile of snnflow evaluate, batch {p['batch_size']}, {p['examples']} "
                  f"examples ({p['profiled_seconds']:.2f} s under the profiler), top by own "
                  f"time:", "", "| function | calls | own s | cumulative s |",
                  "|---|---:|---:|---:|"]
        lines += [f"| `{row['function']}` | {row['ncalls']} | {row['tottime_s']:.3f} | "
                  f"{row['cumtime_s']:.3f} |" for row in p["top_tottime"][:10]]
        lines.append("")
    return lines


def _layer_table(r):
    config = r["config"]
    lines = [f"### Layer size: PoissonInput -> Dense -> LeakyIntegrateFire, batch "
             f"{config['batch_size']}, {config['timesteps']} steps, 1 batch, "
             f"{r['threads']} threads", ""]
    if "reference" not in r["sizes"][0]:
        return lines + ["(older results file: no reference engine column)", ""]
    lines += ["| neurons | snnflow s/batch | snnflow ns/event | reference ns/event | "
              "snnTorch s/batch | speed-up vs reference | speed-up vs snnTorch | "
              "output spikes/neuron/step |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in r["sizes"]:
        ref_scaled = " *" if row["reference"]["scaled_to_timesteps"] else ""
        torch_scaled = " †" if row["snntorch"]["scaled_to_timesteps"] else ""
        lines.append(f"| {row['neurons']:,} | {row['snnflow']['seconds_per_batch']:.3f} | "
                     f"{row['snnflow']['ns_per_synaptic_event']:.3f} | "
                     f"{row['reference']['ns_per_synaptic_event']:.3f}{ref_scaled} | "
                     f"{row['snntorch']['seconds_per_batch']:.3f}{torch_scaled} | "
                     f"{row['snnflow_speedup_over_reference']:.2f}x | "
                     f"{row['snnflow_speedup_over_snntorch']:.2f}x | "
                     f"{100 * row['output_rate_per_neuron_per_step']:.2f}% |")
    notes = []
    scaled_ref = [row["reference"] for row in r["sizes"]
                  if row["reference"]["scaled_to_timesteps"]]
    if scaled_ref:
        notes.append(f"\\* reference engine: {scaled_ref[0]['steps_run']} steps per run, "
                     f"scaled to {config['timesteps']} (its cost follows the stationary "
                     f"input spikes).")
    scaled_torch = [row["snntorch"] for row in r["sizes"]
                    if row["snntorch"]["scaled_to_timesteps"]]
    if scaled_torch:
        notes.append(f"† snnTorch: {scaled_torch[0]['steps_run']} steps per round (runs of "
                     f"{scaled_torch[0]['steps_per_run']} steps), scaled to "
                     f"{config['timesteps']} (a dense product per step, independent of "
                     f"activity).")
    lines += ["", "Medians over the rounds; speed-ups are medians of per-round ratios."]
    if notes:
        lines += [""] + notes
    lines.append("")
    return lines


def _propagation_tables(r):
    lines = ["### Propagation: Propagator.deliver, dense 784 x 128 matrix", ""]
    for sweep in r["sweeps"]:
        be = sweep["break_even_fraction"]
        be = f"{100 * be:.1f}%" if isinstance(be, float) else be
        lines += [f"Batch {sweep['batch_size']}, {sweep['threads']} thread(s): break-even "
                  f"spike fraction **{be}** (engine's constant: "
                  f"{sweep['configured_fraction']})", "",
                  "| spike fraction | spikes | event-driven us | dense matmul us | event/dense |",
                  "|---:|---:|---:|---:|---:|"]
        lines += [f"| {100 * row['fraction']:.1f}% | {row['spikes']} | {row['event_us']:.1f} | "
                  f"{row['dense_us']:.1f} | {row['event_over_dense']:.2f} |"
                  for row in sweep["rows"]]
        lines.append("")
    small = r.get("small_batch")
    if small:
        lines += [f"deliver's NumPy small-batch path vs its scipy.sparse path (engine's "
                  f"SMALL_BATCH = {small['configured_small_batch']}):", "",
                  "| batch | " + " | ".join(f"NumPy us @{100 * e['fraction']:.0f}% | scipy us "
                                          f"@{100 * e['fraction']:.0f}%"
                                          for e in small["fractions"]) + " |",
                  "|---:|" + "---:|---:|" * len(small["fractions"])]
        for index, row in enumerate(small["fractions"][0]["rows"]):
            cells = []
            for entry in small["fractions"]:
                other = entry["rows"][index]
                cells += [f"{other['numpy_us']:.1f}", f"{other['scipy_us']:.1f}"]
            lines.append(f"| {row['batch_size']} | " + " | ".join(cells) + " |")
        lines += ["", "Largest batch where the NumPy path is faster: " + ", ".join(
            f"{e['largest_batch_where_numpy_path_wins']} at {100 * e['fraction']:.0f}% spikes"
            for e in small["fractions"]) + ".", ""]
    return lines


if __name__ == "__main__":
    main()
