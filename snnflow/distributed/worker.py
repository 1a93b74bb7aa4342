"""Per-worker state: the compiled models a worker has built, reused across shards
and across calls."""
from __future__ import annotations

import threading
import weakref

_caches = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


class ModelCache:
    """Compiled networks keyed by the content hash of network and compiler."""

    def __init__(self):
        self.models = {}
        self.builds = 0
        self.lock = threading.Lock()

    def get(self, key, network, compiler):
        """(compiled network, its lock): built on first use, in the calling task's
        thread; the lock keeps two tasks from driving one engine at once."""
        with self.lock:
            if key not in self.models:
                self.models[key] = (compiler.compile(network), threading.Lock())
                self.builds += 1
            return self.models[key]


def model_cache(worker) -> ModelCache:
    with _caches_lock:
        if worker not in _caches:
            _caches[worker] = ModelCache()
        return _caches[worker]


def _builds(dask_worker):
    return model_cache(dask_worker).builds


def build_counts(client) -> dict:
    """{worker address: how many models the worker has compiled}."""
    return client.run(_builds)
