"""Cost of recording (issue: callbacks and recording): the 784-128-10 network with
every population's spikes and the hidden layer's v recorded for every example, in
memory and into zarr, against the same run without recording; and peak RSS of a
zarr-recorded run on a 10x larger test set (inputs read from a zarr array).

    python bench/recording.py [--quick]
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (sets thread limits before numpy loads)
import memory  # noqa: E402

BATCH = 128


def build(batch_size=BATCH):
    """bench/mnist.py's network, every population recording its spikes:
    (network, compiler, input, hidden, output)."""
    import mnist
    w1, w2, _, _ = mnist.make_problem(1)
    return mnist.network("snnflow", w1, w2, batch_size, record=True)


def recorders(inp, hid, out):
    from snnflow.callbacks import SpikeRecorder, VarRecorder
    return [SpikeRecorder(inp, key="input"), SpikeRecorder(hid, key="hidden"),
            SpikeRecorder(out, key="output"), VarRecorder(hid, "v", key="hidden_v")]


def data(num_examples, seed=5):
    import numpy as np
    rng = np.random.default_rng(seed)
    return common.image_like(num_examples, rng), rng.integers(0, 10, num_examples)


def overhead(num_examples, repeats):
    """Seconds for: no recording, in memory, into zarr, ``repeats`` times with the
    three interleaved, and the median of each repeat's ratio to no recording; also
    each run's CPU seconds (all threads of this process) and the load average."""
    net, compiler, inp, hid, out = build()
    compiled = compiler.compile(net)
    x, y = data(num_examples)
    seconds = {"none": [], "memory": [], "zarr": []}
    cpu_seconds = {mode: [] for mode in seconds}
    load = []
    with common.scratch_folder() as folder:
        for repeat in range(repeats):
            load.append(os.getloadavg()[0])
            for mode in seconds:
                callbacks = [] if mode == "none" else recorders(inp, hid, out)
                store = f"{folder}/run{repeat}.zarr" if mode == "zarr" else None
                cpu_start = time.process_time()
                elapsed, _ = common.timed(compiled.evaluate, {inp: x}, {out: y},
                                          callbacks=callbacks, store=store)
                cpu_seconds[mode].append(time.process_time() - cpu_start)
                seconds[mode].append(elapsed)
                if store is not None:
                    # Gone before the next run: the repeats' stores (GBs at 10,000
                    # examples) would otherwise pile up as dirty pages whose write-back
                    # slows the runs after them, which one user's run never sees
                    shutil.rmtree(store)
    # Each repeat's ratio compares runs made moments apart, so it is robust to the
    # machine's speed drifting over the benchmark; the median is the figure
    ratios = {mode: [with_ / without for with_, without in zip(seconds[mode], seconds["none"])]
              for mode in ("memory", "zarr")}
    # CPU time is not stretched by waiting for a core, so it shows the work recording
    # adds even when other processes hold the machine's cores
    cpu_ratios = {mode: [with_ / without for with_, without
                         in zip(cpu_seconds[mode], cpu_seconds["none"])]
                  for mode in ("memory", "zarr")}
    return {"examples": num_examples, "batch_size": BATCH, "seconds": seconds,
            "best_s": {mode: min(s) for mode, s in seconds.items()},
            "ratios": ratios,
            "memory_ratio": statistics.median(ratios["memory"]),
            "zarr_ratio": statistics.median(ratios["zarr"]),
            "cpu_seconds": cpu_seconds,
            "cpu_ratio": {mode: statistics.median(r) for mode, r in cpu_ratios.items()},
            "load_average_1min": load}


def zarr_inputs(folder, num_examples):
    """Inputs stored in a zarr array, written a chunk at a time (never all in memory),
    and their labels."""
    import numpy as np
    import zarr
    x = zarr.open_array(f"{folder}/x.zarr", mode="w", shape=(num_examples, 784),
                        chunks=(1024, 784), dtype="float32")
    labels = []
    for start in range(0, num_examples, 1024):
        images, y = data(min(1024, num_examples - start), seed=start)
        x[start:start + len(images)] = images
        labels.append(y)
    return x, np.concatenate(labels)


def child(num_examples):
    """One zarr-recorded run on inputs stored in zarr (the measured process)."""
    net, compiler, inp, hid, out = build()
    with common.scratch_folder() as folder:
        x, y = zarr_inputs(folder, num_examples)
        elapsed, (metrics, cb_data) = common.timed(
            compiler.compile(net).evaluate, {inp: x}, {out: y},
            callbacks=recorders(inp, hid, out), store=f"{folder}/run.zarr")
        print(json.dumps({"examples": num_examples, "seconds": elapsed,
                          "recorded": len(cb_data["input"][0])}))


def run(quick=False):
    return {"machine": common.machine_info(),
            # Many repeats: each ratio compares runs seconds apart, but this shared
            # machine's speed still varies by 10-20% from one second to the next
            "overhead": overhead(256 if quick else 2048, 1 if quick else 15),
            # A whole MNIST-sized test set: the store's fixed cost per run (its
            # metadata) is spread over a realistic number of examples
            "overhead_10k": overhead(512 if quick else 10000, 1 if quick else 7),
            # The smaller set is large enough that every write buffer fills (about
            # one chunk per array): from there on memory no longer grows
            "peak_memory": memory.compare_sizes(str(Path(__file__).resolve()),
                                                256 if quick else 5000, 10)}


if __name__ == "__main__":
    memory.script_main("recording", run, child)
