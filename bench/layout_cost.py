"""Cost of the store's integrity layout per chunk (issue: the store): a crc32c on
every chunk, and each chunk written atomically (a temporary file renamed) after a
check that no folder on its way is a symbolic link, against Blosc's encoding of
the same 2 MiB chunk. All of it runs on the recorders' background writer thread.

    python bench/layout_cost.py
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
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
