"""Sharded evaluation on Dask (issues: distributed evaluation, compiled CPU engine):
16,384 examples in 512-example shards on 1 and 2 single-threaded workers against
the in-process run on 1 thread and against two independent in-process runs of
half the data each; the fixed cost of a shard (1 worker against in process, per
shard); every population's spikes recorded on 2 workers, in memory and into a
zarr store, against no recording, and the store's cost of one more shard (1
worker, 512- against 4,096-example shards); and the peak memory of driver plus
workers with full spike recording into zarr for a test set and one 10x larger
(inputs read from a zarr array on the workers).

    python bench/sharded.py [--quick]
"""
from __future__ import annotations

import contextlib
import json
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (sets thread limits before numpy loads)
import memory  # noqa: E402


SHARD_SIZE = 512


def throughput(num_examples, repeats, shard_size=SHARD_SIZE):
    """Seconds in process, on 1 and 2 workers (models built and clusters started
    before timing, as in a long-lived cluster) and for two independent processes;
    each repeat runs all four in turn, and the figures are medians of each repeat's
    ratios."""
    import recording
    import snnflow.distributed as sd
    net, compiler, inp, hid, out = recording.build()
    x, y = recording.data(num_examples)
    seconds = {"in_process": [], "1_worker": [], "2_workers": [], "2_processes": []}
    # The clusters client=None would start, kept for all the runs
    with contextlib.ExitStack() as stack:
        clusters = {name: stack.enter_context(sd.connect(n_workers=workers))
                    for name, workers in (("1_worker", 1), ("2_workers", 2))}
        for client in clusters.values():
            sd.evaluate(net, compiler, {inp: x[:256]}, {out: y[:256]}, callbacks=[],
                        client=client)  # builds every worker's model
        for _ in range(repeats):
            # In a process of its own: this one hosts the clusters' schedulers, whose
            # threads would slow an evaluation here
            seconds["in_process"].append(in_processes(1, num_examples))
            for name, client in clusters.items():
                elapsed, _ = common.timed(sd.evaluate, net, compiler, {inp: x}, {out: y},
                                          callbacks=[], client=client, shard_size=shard_size)
                seconds[name].append(elapsed)
            # What this machine allows: two independent in-process runs on half the
            # data each, side by side (no Dask at all)
            seconds["2_processes"].append(in_processes(2, num_examples // 2))
    best = {name: min(s) for name, s in seconds.items()}

    def median_ratio(numerator, denominator):
        # Ratios within one repeat compare runs made moments apart: robust to the
        # machine's speed drifting over the benchmark
        return statistics.median(a / b for a, b in zip(seconds[numerator],
                                                      seconds[denominator]))
    shards = -(-num_examples // shard_size)
    return {"examples": num_examples, "batch_size": compiler.batch_size,
            "shard_size": shard_size, "seconds": seconds,
            "best_examples_per_s": {name: num_examples / s for name, s in best.items()},
            "speedup_2_workers": median_ratio("in_process", "2_workers"),
            "speedup_2_independent_processes": median_ratio("in_process", "2_processes"),
            # the bar: at least 0.95 of what two processes without Dask achieve
            "2_workers_vs_2_processes": median_ratio("2_processes", "2_workers"),
            "overhead_1_worker": median_ratio("1_worker", "in_process") - 1,
            "fixed_ms_per_shard": statistics.median(
                (one - alone) / shards * 1000
                for one, alone in zip(seconds["1_worker"], seconds["in_process"]))}


def spike_recorders(inp, hid, out):
    from snnflow.callbacks import SpikeRecorder
    return [SpikeRecorder(inp, key="input"), SpikeRecorder(hid, key="hidden"),
            SpikeRecorder(out, key="output")]


def recording_cost(num_examples, repeats, shard_size=SHARD_SIZE, large_shards=4096):
    """Every population's spikes recorded on the workers: on 2 workers, seconds
    without recording, in memory (sent back to the driver) and into a zarr store;
    on 1 worker, the store's cost of one more shard: (store - none) with
    ``shard_size`` shards against the same with ``large_shards``, per extra shard.
    Interleaved repeats, medians."""
    import recording as rec
    import snnflow.distributed as sd
    net, compiler, inp, hid, out = rec.build()
    x, y = rec.data(num_examples)
    seconds = {"2_workers": {"none": [], "memory": [], "store": []},
               "1_worker": {(size, mode): [] for size in (shard_size, large_shards)
                            for mode in ("none", "store")}}
    with common.scratch_folder() as folder, contextlib.ExitStack() as stack:
        clients = {workers: stack.enter_context(sd.connect(n_workers=workers))
                   for workers in (1, 2)}
        for client in clients.values():
            sd.evaluate(net, compiler, {inp: x[:256]}, {out: y[:256]}, callbacks=[],
                        client=client)

        def timed(client, mode, size):
            store = f"{folder}/run.zarr" if mode == "store" else None
            elapsed, _ = common.timed(
                sd.evaluate, net, compiler, {inp: x}, {out: y}, client=client,
                callbacks=[] if mode == "none" else spike_recorders(inp, hid, out),
                shard_size=size, store=store, overwrite=True)
            if store:
                shutil.rmtree(store)
            return elapsed
        for _ in range(repeats):
            for mode, runs in seconds["2_workers"].items():
                runs.append(timed(clients[2], mode, shard_size))
            for (size, mode), runs in seconds["1_worker"].items():
                runs.append(timed(clients[1], mode, size))
    one = seconds["1_worker"]
    extra_shards = -(-num_examples // shard_size) - -(-num_examples // large_shards)
    per_shard = [((small_store - small) - (large_store - large)) / extra_shards
                 for small_store, small, large_store, large in zip(
                     one[(shard_size, "store")], one[(shard_size, "none")],
                     one[(large_shards, "store")], one[(large_shards, "none")])]
    two = seconds["2_workers"]
    return {"examples": num_examples, "shard_size": shard_size,
            "seconds_2_workers": two,
            "seconds_1_worker": {f"{size}_{mode}": runs for (size, mode), runs in one.items()},
            "memory_vs_none_2_workers": statistics.median(
                m / n for m, n in zip(two["memory"], two["none"])),
            "store_vs_none_2_workers": statistics.median(
                m / n for m, n in zip(two["store"], two["none"])),
            "store_ms_per_shard": statistics.median(per_shard) * 1000}


def _timed_run(num_examples, barrier, results):
    common.limit_threads(1)
    import recording
    net, compiler, inp, hid, out = recording.build()
    compiled = compiler.compile(net)
    x, y = recording.data(num_examples)
    # Warm, as the workers are: a process's first run loads the compiled kernels
    # (about 0.4 s), which a run of its own would count
    compiled.evaluate({inp: x[:256]}, {out: y[:256]}, callbacks=[])
    barrier.wait()
    elapsed, _ = common.timed(compiled.evaluate, {inp: x}, {out: y}, callbacks=[])
    results.put(elapsed)


def in_processes(count, num_examples, target=None):
    """Seconds until each of ``count`` fresh processes, started together, has
    evaluated ``num_examples`` in process (the clock starts once all are built):
    ``target(num_examples, barrier, results)`` in each, ``_timed_run`` by default."""
    import multiprocessing
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(count), context.Queue()
    processes = [context.Process(target=target or _timed_run,
                                 args=(num_examples, barrier, results))
                 for _ in range(count)]
    for process in processes:
        process.start()
    times = [results.get() for _ in processes]
    for process in processes:
        process.join()
    return max(times)


def child(num_examples):
    """One distributed run with every population's spikes recorded into zarr, inputs
    in a zarr array (the measured process tree: this driver and its workers)."""
    import recording
    import snnflow.distributed as sd
    net, compiler, inp, hid, out = recording.build()
    with common.scratch_folder() as folder:
        x, y = recording.zarr_inputs(folder, num_examples)
        with sd.connect(n_workers=2) as client:
            elapsed, (metrics, cb_data) = common.timed(
                sd.evaluate, net, compiler, {inp: x}, {out: y},
                callbacks=spike_recorders(inp, hid, out), client=client,
                store=f"{folder}/run.zarr")
        print(json.dumps({"examples": num_examples, "seconds": elapsed,
                          "recorded": len(cb_data["input"][0])}))


def run(quick=False):
    return {"machine": common.machine_info(),
            "throughput": throughput(1024 if quick else 16384, 1 if quick else 5),
            "recording": recording_cost(1024 if quick else 16384, 1 if quick else 3,
                                        shard_size=128 if quick else SHARD_SIZE,
                                        large_shards=512 if quick else 4096),
            "peak_memory": memory.compare_sizes(str(Path(__file__).resolve()),
                                                512 if quick else 2000, 10)}


if __name__ == "__main__":
    memory.script_main("sharded", run, child)
