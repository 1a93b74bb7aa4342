"""What this machine allows under issue 14's last two targets (recording at most
1.1x the run without it; 2 workers at least 0.95 of two independent processes):
the cost of moving the bytes those runs must move, with no snnflow code in the
way, against the 784-128-10 run of bench/recording.py (1 thread, batch 128).

- fresh memory: a run recording in memory must keep what it records, in pages
  the process has never used; faulting in that many bytes, in blocks of one
  batch's size as the engine allocates them, minus filling the same blocks again.
- disk write-back: a run recording into zarr writes about as many bytes as it
  records; the run alone against the run with a second thread checksumming and
  writing that many bytes, from memory, to 2 MB files (the store's chunk size)
  in the benchmarks' scratch folder, and in /dev/shm (memory, no disk) for
  contrast.
- Dask: two single-threaded workers each running the in-process loop over its
  half of the examples as one plain task (data made on the worker), against two
  independent processes doing the same; again while the driver scatters the
  inputs (what sending rows to the workers costs the machine); and with the
  inputs written once to a file in /dev/shm that the tasks map and read their
  rows from (an alternative to sending rows, for workers on the driver's host).

Interleaved repeats; each figure is the median of the per-repeat ratios.

    python bench/floors.py [--quick]
"""
from __future__ import annotations

import os
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (sets thread limits before numpy loads)

CHUNK = 2 << 20


def _model(num_examples):
    """(compiled 784-128-10 network, input, hidden, output, x, y), warmed."""
    import recording
    net, compiler, inp, hid, out = recording.build()
    compiled = compiler.compile(net)
    x, y = recording.data(num_examples)
    compiled.evaluate({inp: x[:256]}, {out: y[:256]}, callbacks=[])
    return compiled, inp, hid, out, x, y


def _recorded_bytes(compiled, inp, hid, out, x, y):
    """Bytes a run keeps when recording in memory (every array of cb_data) and the
    bytes its zarr store holds, and one batch's share of the first."""
    import numpy as np
    import recording
    _, data = compiled.evaluate({inp: x}, {out: y}, callbacks=recording.recorders(inp, hid, out))
    kept = sum(a.nbytes for value in data.values()
               for arrays in (value if isinstance(value, tuple) else (value,))
               for a in arrays)
    with common.scratch_folder() as folder:
        store = f"{folder}/run.zarr"
        compiled.evaluate({inp: x}, {out: y}, callbacks=recording.recorders(inp, hid, out),
                          store=store)
        stored = sum(f.stat().st_size for f in Path(store).rglob("*") if f.is_file())
    batches = -(-len(x) // compiled.compiler.batch_size)
    del data
    return kept, stored, int(np.ceil(kept / batches))


def _fault_in(total, block):
    """Seconds to fill ``total`` bytes of fresh memory in blocks of ``block`` bytes,
    kept until the end as a recording keeps them, minus filling one reused block
    as often (the writes a run makes anyway)."""
    import numpy as np
    count = -(-total // block)
    began = time.perf_counter()
    kept = []
    for _ in range(count):
        fresh = np.empty(block, dtype=np.uint8)
        fresh.fill(1)
        kept.append(fresh)
    fresh_s = time.perf_counter() - began
    del kept
    reused = np.empty(block, dtype=np.uint8)
    began = time.perf_counter()
    for _ in range(count):
        reused.fill(1)
    return fresh_s - (time.perf_counter() - began)


def _write_files(folder, source):
    """What a checksummed store's writer must do at least: each 2 MB of ``source``
    (in memory, as the trace is in the simulation's buffers) checksummed and
    written to a file of its own."""
    import google_crc32c
    for index, start in enumerate(range(0, len(source), CHUNK)):
        chunk = source[start:start + CHUNK]
        google_crc32c.value(chunk)
        with open(f"{folder}/c.{index}", "wb") as file:
            file.write(chunk)


def recording_floors(num_examples, repeats):
    compiled, inp, hid, out, x, y = _model(num_examples)
    kept, stored, block = _recorded_bytes(compiled, inp, hid, out, x, y)
    seconds = {"run": [], "fresh_memory": [], "run_and_write_disk": [],
               "run_and_write_shm": []}
    import numpy as np
    source = np.random.default_rng(0).integers(0, 256, stored, dtype=np.uint8)
    with common.scratch_folder() as scratch:
        folders = {"disk": scratch, "shm": "/dev/shm"}
        for _ in range(repeats):
            seconds["run"].append(common.timed(compiled.evaluate, {inp: x}, {out: y},
                                               callbacks=[])[0])
            seconds["fresh_memory"].append(_fault_in(kept, block))
            for where, base in folders.items():
                folder = f"{base}/snnflow-floor-{os.getpid()}"
                os.makedirs(folder, exist_ok=True)
                writer = threading.Thread(target=_write_files, args=(folder, source))
                began = time.perf_counter()
                writer.start()
                compiled.evaluate({inp: x}, {out: y}, callbacks=[])
                writer.join()
                seconds[f"run_and_write_{where}"].append(time.perf_counter() - began)
                shutil.rmtree(folder)

    def median_ratio(name, add_run=False):
        return statistics.median((s + run if add_run else s) / run
                                 for s, run in zip(seconds[name], seconds["run"]))
    return {"examples": num_examples, "recorded_in_memory_bytes": kept,
            "store_bytes": stored, "batch_block_bytes": block, "seconds": seconds,
            # what the targets compare with 1.1x
            "in_memory_floor": median_ratio("fresh_memory", add_run=True),
            "zarr_on_disk_floor": median_ratio("run_and_write_disk"),
            "zarr_in_memory_fs_floor": median_ratio("run_and_write_shm"),
            "load_average_1min": os.getloadavg()[0]}


_worker_model = {}


def _loop(num_examples, shard_size=512, shared=None):
    """Seconds for this process to evaluate its examples shard by shard (built and
    warmed once per process, data made here, or read from ``shared``: (the path
    of a .npy file, the first example))."""
    import numpy as np
    if not _worker_model:
        _worker_model["model"] = _model(num_examples)
    compiled, inp, _, out, x, y = _worker_model["model"]
    began = time.perf_counter()
    if shared is not None:
        path, first = shared
        x = np.load(path, mmap_mode="r")[first:first + num_examples]
    for start in range(0, num_examples, shard_size):
        compiled.evaluate({inp: x[start:start + shard_size]},
                          {out: y[start:start + shard_size]}, callbacks=[])
    return time.perf_counter() - began


def _process(num_examples, barrier, results):
    common.limit_threads(1)
    _worker_model["model"] = _model(num_examples)   # built and warmed before the clock
    barrier.wait()
    results.put(_loop(num_examples))


def _add_path(path):
    if path not in sys.path:
        sys.path.insert(0, path)


def dask_floors(num_examples, repeats):
    import numpy as np
    import snnflow.distributed as sd
    import recording
    import sharded
    # By name, not by value (as this script's own functions would be sent): the
    # workers keep their built model in the module between tasks
    from floors import _loop
    half = num_examples // 2
    x, _ = recording.data(num_examples)
    seconds = {"two_processes": [], "two_worker_tasks": [], "two_worker_tasks_and_scatter": [],
               "two_worker_tasks_from_shared_memory": []}
    with sd.connect(n_workers=2) as client:
        workers = list(client.scheduler_info()["workers"])
        client.run(_add_path, str(Path(__file__).resolve().parent))
        client.gather([client.submit(_loop, half, pure=False, workers=[w]) for w in workers])
        for _ in range(repeats):
            seconds["two_processes"].append(sharded.in_processes(2, half, _process))
            for name in ("two_worker_tasks", "two_worker_tasks_and_scatter"):
                began = time.perf_counter()
                tasks = [client.submit(_loop, half, pure=False, workers=[w]) for w in workers]
                scattered = client.scatter([x[i:i + 2048] for i in range(0, num_examples, 2048)]) \
                    if name.endswith("scatter") else []
                client.gather(tasks)
                seconds[name].append(time.perf_counter() - began)
                del scattered
            # The inputs written once to a file in memory (/dev/shm) that each
            # worker maps and reads its rows from
            path = f"/dev/shm/snnflow-floor-{os.getpid()}.npy"
            began = time.perf_counter()
            np.save(path, x)
            tasks = [client.submit(_loop, half, shared=(path, i * half), pure=False,
                                   workers=[w]) for i, w in enumerate(workers)]
            client.gather(tasks)
            seconds["two_worker_tasks_from_shared_memory"].append(time.perf_counter() - began)
            os.remove(path)

    def median_ratio(name):
        return statistics.median(p / s for p, s in zip(seconds["two_processes"], seconds[name]))
    return {"examples": num_examples, "input_bytes": x.nbytes, "seconds": seconds,
            # what the target compares with 0.95
            "worker_tasks_vs_processes": median_ratio("two_worker_tasks"),
            "worker_tasks_with_scatter_vs_processes": median_ratio("two_worker_tasks_and_scatter"),
            "worker_tasks_from_shared_memory_vs_processes":
                median_ratio("two_worker_tasks_from_shared_memory"),
            "load_average_1min": os.getloadavg()[0]}


def run(quick=False, threads=None):
    common.limit_threads(1)
    return {"machine": common.machine_info(),
            "recording": recording_floors(512 if quick else 10000, 1 if quick else 7),
            "dask": dask_floors(1024 if quick else 16384, 1 if quick else 5)}


if __name__ == "__main__":
    common.script_main("floors", run, __doc__)
