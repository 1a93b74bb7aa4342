"""Content hashes of descriptions: the same network, options and data give the
same hash in any process (unlike hash() or pickle bytes)."""
from __future__ import annotations

import hashlib
import numbers

import numpy as np


def _feed(digest, obj, seen):
    if isinstance(obj, (str, bytes, numbers.Number, type(None))):
        digest.update(f"{type(obj).__name__}:{obj!r};".encode())
    elif isinstance(obj, np.ndarray):
        digest.update(f"ndarray:{obj.dtype}:{obj.shape};".encode())
        digest.update(np.ascontiguousarray(obj).tobytes())
    elif isinstance(obj, (list, tuple)):
        digest.update(f"{type(obj).__name__}[{len(obj)}];".encode())
        for item in obj:
            _feed(digest, item, seen)
    elif isinstance(obj, dict):
        digest.update(f"dict[{len(obj)}];".encode())
        for key in sorted(obj, key=repr):
            _feed(digest, key, seen)
            _feed(digest, obj[key], seen)
    elif isinstance(obj, slice):
        _feed(digest, ("slice", obj.start, obj.stop, obj.step), seen)
    elif isinstance(obj, type):
        digest.update(f"type:{obj.__module__}.{obj.__qualname__};".encode())
    elif hasattr(obj, "__dict__"):
        # Objects reached twice (populations seen from connections) hash by position
        if id(obj) in seen:
            digest.update(f"ref:{seen[id(obj)]};".encode())
            return
        seen[id(obj)] = len(seen)
        digest.update(f"obj:{type(obj).__module__}.{type(obj).__qualname__};".encode())
        state = {k: v for k, v in vars(obj).items() if not k.startswith("_")}
        _feed(digest, state, seen)
    else:
        digest.update(f"{type(obj).__name__}:{obj!r};".encode())


def fingerprint(*objects) -> str:
    """A hex SHA-256 of the objects' content."""
    digest = hashlib.sha256()
    seen = {}
    for obj in objects:
        _feed(digest, obj, seen)
    return digest.hexdigest()


def data_fingerprint(data):
    """A fingerprint of one entry of x or y: the content of in-memory data; for zarr
    and dask arrays (too large to read twice) what they point at."""
    if data is None:
        return None
    if hasattr(data, "dask"):
        return ("dask", data.name)
    if type(data).__module__.startswith("zarr"):
        return ("zarr", str(data.store), data.path, data.shape)
    return fingerprint(data if isinstance(data, list) else np.asarray(data))
