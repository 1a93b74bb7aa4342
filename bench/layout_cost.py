"""Cost of the store's integrity layout per chunk (issue: the store): a crc32c on
every chunk, and each chunk written atomically (a temporary file renamed) after a
check that no folder on its way is a symbolic link, against Blosc's encoding of
the same 2 MiB chunk. All of it runs on the recorders' background writer thread.
Then the cost of layout 3's one array per key for a sharded run's spikes: the
driver's finish (linking every shard's event chunks into the key's arrays and
writing the ``spans`` index) against the shards' own writing of the same spikes,
in a local folder and, with ``--s3``, on a SeaweedFS S3 server on this machine.

    python bench/layout_cost.py [--s3]
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402,F401  (sets thread limits before numpy loads)


def per_call_ms(function, repeats):
    began = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - began) / repeats * 1e3


def main():
    import numcodecs
    import numpy as np
    from zarr.storage import LocalStore

    from snnflow.store.zarr_io import BLOSC_LZ4, put, with_checksum
    rng = np.random.default_rng(0)
    rows = (rng.random((4096, 128)) < 0.05).astype(np.float32)     # 2 MiB of sparse spikes
    encoder = numcodecs.Blosc(**BLOSC_LZ4, shuffle=numcodecs.Blosc.SHUFFLE, typesize=4)
    encoded = encoder.encode(rows)
    store = LocalStore(tempfile.mkdtemp())
    count = iter(range(10 ** 9))
    results = {
        "chunk_bytes": rows.nbytes, "compressed_bytes": len(encoded),
        "blosc_encode_ms": per_call_ms(lambda: encoder.encode(rows), 50),
        "crc32c_ms": per_call_ms(lambda: with_checksum(encoded), 200),
        "write_plain_ms": per_call_ms(
            lambda: put(store, {f"a/c.{next(count)}": encoded}), 200),
        "write_atomic_checked_ms": per_call_ms(
            lambda: put(store, {f"a/c.{next(count)}": encoded}, atomic=True), 200),
    }
    results["sharded_spikes"] = {"local": finish_cost(tempfile.mkdtemp() + "/run.zarr")}
    if "--s3" in sys.argv:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from test_store_s3 import seaweedfs
        with tempfile.TemporaryDirectory() as folder, seaweedfs(folder) as options:
            from snnflow.store.zarr_reader import store_object
            results["sharded_spikes"]["s3"] = finish_cost(
                store_object("s3://snnflow/run.zarr", options))
    print(json.dumps(results, indent=2))


def finish_cost(store, shards=8, examples_per_shard=512, spikes_per_example=2000):
    """Seconds the shards take to write their spikes (one after another, as the
    store sees them) and the driver's finish, with the events and chunks moved."""
    import numpy as np

    from snnflow.store import Layout, PartRecording, ZarrRun, part_name
    layout = Layout("spikes", events={"timesteps": "int32", "ids": "int32"},
                    attrs={"dt": 1.0})
    plan = [(i * examples_per_shard, (i + 1) * examples_per_shard) for i in range(shards)]
    run = ZarrRun(store, "bench", overwrite=True)
    run.start({"spikes": layout}, attrs={"dt": 1.0, "num_examples": plan[-1][1],
                                         "shards": [list(p) for p in plan]})
    rng = np.random.default_rng(0)
    began = time.perf_counter()
    for index, (start, stop) in enumerate(plan):
        shard = PartRecording(run.zarr_store, part_name(index), run.writer)
        sink = shard.sink("spikes", layout)
        shard.start(run.root)
        for first in range(start, stop, 128):
            counts = np.full(128, spikes_per_example)
            events = {"timesteps": rng.integers(0, 100, counts.sum(), dtype=np.int32),
                      "ids": rng.integers(0, 128, counts.sum(), dtype=np.int32)}
            sink.write(np.arange(first, first + 128), events=events, event_counts=counts)
            shard.end_batch()
        shard.close()
    shards_seconds = time.perf_counter() - began
    began = time.perf_counter()
    run.finish([part_name(i) for i in range(shards)])
    finish_seconds = time.perf_counter() - began
    events = shards * examples_per_shard * spikes_per_example
    return {"events": events, "shards": shards, "shards_write_s": shards_seconds,
            "finish_s": finish_seconds, "finish_over_write": finish_seconds / shards_seconds}


if __name__ == "__main__":
    main()
