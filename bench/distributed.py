"""Distributed evaluation (issue: distributed evaluation on Dask): throughput of
1 and 2 single-threaded workers against the in-process run on 1 thread, and the
peak memory of driver plus workers with full spike recording into zarr for a
test set and one 10x larger (inputs read from a zarr array on the workers).

    python bench/distributed.py [--quick]
"""
from __future__ import annotations

import argparse
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
    """Best-of-``repeats`` seconds in process and on 1 and 2 workers (models built
    and data shipped once before timing, as in a long-lived cluster)."""
    import recording
    import snnflow.distributed as sd
    net, compiler, inp, hid, out = recording.build()
    x, y = recording.data(num_examples)
    compiled = compiler.compile(net)
    seconds = {"in_process": [], "1_worker": [], "2_workers": []}
    for _ in range(repeats):
        elapsed, _ = common.timed(compiled.evaluate, {inp: x}, {out: y}, callbacks=[])
        seconds["in_process"].append(elapsed)
    for workers, name in ((1, "1_worker"), (2, "2_workers")):
        local, client = cluster(workers)
        with local, client:
            sd.evaluate(net, compiler, {inp: x[:256]}, {out: y[:256]}, callbacks=[],
                        client=client)  # builds every worker's model
            for _ in range(repeats):
                elapsed, _ = common.timed(sd.evaluate, net, compiler, {inp: x}, {out: y},
                                          callbacks=[], client=client)
                seconds[name].append(elapsed)
    best = {name: min(s) for name, s in seconds.items()}
    return {"examples": num_examples, "batch_size": compiler.batch_size, "seconds": seconds,
            "examples_per_s": {name: num_examples / s for name, s in best.items()},
            "speedup_2_workers": best["in_process"] / best["2_workers"],
            "overhead_1_worker": best["1_worker"] / best["in_process"] - 1}


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
            "throughput": throughput(1024 if quick else 8192, 1 if quick else 3),
            "peak_memory": memory.compare_sizes(str(Path(__file__).resolve()),
                                                512 if quick else 2000, 10)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    limiter = common.limit_threads(1)  # noqa: F841  (BLAS: one thread per process)
    if args.child:
        child(args.child)
        return
    results = run(args.quick)
    path = common.write_results("distributed", results, args.quick)
    print(json.dumps({k: v for k, v in results.items() if k != "machine"}, indent=2,
                     default=common._jsonable))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
