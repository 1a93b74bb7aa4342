"""Sharded evaluation on Dask (issue: distributed evaluation): throughput of
1 and 2 single-threaded workers against the in-process run on 1 thread, and the
peak memory of driver plus workers with full spike recording into zarr for a
test set and one 10x larger (inputs read from a zarr array on the workers).

    python bench/sharded.py [--quick]
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (sets thread limits before numpy loads)
import memory  # noqa: E402


def cluster(workers):
    from distributed import Client, LocalCluster
    local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         host="127.0.0.1", dashboard_address="127.0.0.1:0")
    return local, Client(local)


def throughput(num_examples, repeats):
    """Best-of-``repeats`` seconds in process, on 1 and 2 workers (models built and
    clusters started before timing, as in a long-lived cluster) and for two
    independent processes; each repeat runs all four in turn, so that the
    machine's drifting speed hits them alike."""
    import recording
    import snnflow.distributed as sd
    net, compiler, inp, hid, out = recording.build()
    x, y = recording.data(num_examples)
    compiled = compiler.compile(net)
    clusters = {"1_worker": cluster(1), "2_workers": cluster(2)}
    seconds = {"in_process": [], "1_worker": [], "2_workers": [], "2_processes": []}
    try:
        for _, client in clusters.values():
            sd.evaluate(net, compiler, {inp: x[:256]}, {out: y[:256]}, callbacks=[],
                        client=client)  # builds every worker's model
        for _ in range(repeats):
            elapsed, _ = common.timed(compiled.evaluate, {inp: x}, {out: y}, callbacks=[])
            seconds["in_process"].append(elapsed)
            for name, (_, client) in clusters.items():
                elapsed, _ = common.timed(sd.evaluate, net, compiler, {inp: x}, {out: y},
                                          callbacks=[], client=client)
                seconds[name].append(elapsed)
            # What this machine allows: two independent in-process runs on half the
            # data each, side by side (no Dask at all)
            seconds["2_processes"].append(_side_by_side(num_examples // 2))
    finally:
        for local, client in clusters.values():
            client.close()
            local.close()
    best = {name: min(s) for name, s in seconds.items()}
    return {"examples": num_examples, "batch_size": compiler.batch_size, "seconds": seconds,
            "examples_per_s": {name: num_examples / s for name, s in best.items()},
            "speedup_2_workers": best["in_process"] / best["2_workers"],
            "speedup_2_independent_processes": best["in_process"] / best["2_processes"],
            "overhead_1_worker": best["1_worker"] / best["in_process"] - 1}


def _timed_half(num_examples, barrier, results):
    common.limit_threads(1)
    import recording
    net, compiler, inp, hid, out = recording.build()
    compiled = compiler.compile(net)
    x, y = recording.data(num_examples)
    barrier.wait()
    elapsed, _ = common.timed(compiled.evaluate, {inp: x}, {out: y}, callbacks=[])
    results.put(elapsed)


def _side_by_side(num_examples):
    """Seconds until both of two processes have evaluated ``num_examples`` each."""
    import multiprocessing
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    processes = [context.Process(target=_timed_half, args=(num_examples, barrier, results))
                 for _ in range(2)]
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
    from snnflow.callbacks import SpikeRecorder
    net, compiler, inp, hid, out = recording.build()
    with tempfile.TemporaryDirectory() as folder:
        x, y = recording.zarr_inputs(folder, num_examples)
        local, client = cluster(2)
        with local, client:
            elapsed, (metrics, cb_data) = common.timed(
                sd.evaluate, net, compiler, {inp: x}, {out: y},
                callbacks=[SpikeRecorder(inp, key="input"), SpikeRecorder(hid, key="hidden"),
                           SpikeRecorder(out, key="output")],
                client=client, store=f"{folder}/run.zarr")
        print(json.dumps({"examples": num_examples, "seconds": elapsed,
                          "recorded": len(cb_data["input"][0])}))


def run(quick=False):
    return {"machine": common.machine_info(),
            "throughput": throughput(1024 if quick else 8192, 1 if quick else 5),
            "peak_memory": memory.compare_sizes(str(Path(__file__).resolve()),
                                                512 if quick else 2000, 10)}


if __name__ == "__main__":
    memory.script_main("sharded", run, child)
