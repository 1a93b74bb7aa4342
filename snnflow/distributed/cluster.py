"""Which Dask cluster a run uses: the user's, a scheduler address, or an embedded one."""
from __future__ import annotations

import contextlib
import os

import dask
from distributed import Client, LocalCluster


def default_workers() -> int:
    """One single-threaded worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def local_cluster(n_workers=None) -> LocalCluster:
    """The embedded cluster: ``n_workers`` (default: one per core) worker processes
    with one thread each, bound to 127.0.0.1, the dashboard on a free port.

    The workers' statistical profiler is off: it samples the simulating thread
    every 10 ms, costing it the GIL, and nobody reads the profile of a cluster
    that lives for one call. (Pass your own Client to keep it.)"""
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        return LocalCluster(n_workers=n_workers or default_workers(), threads_per_worker=1,
                            processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0")


@contextlib.contextmanager
def connect(client=None):
    """Yield a Client: ``client`` itself, one connected to a scheduler address, or
    one on an embedded LocalCluster (worker processes with one thread each, bound
    to 127.0.0.1) that is closed on exit."""
    if isinstance(client, Client):
        yield client
    elif isinstance(client, str):
        with Client(client) as connected:
            yield connected
    elif client is None:
        with local_cluster() as cluster, Client(cluster) as embedded:
            yield embedded
    else:
        raise TypeError(f"client must be a distributed.Client, a scheduler address or None, "
                        f"got {client!r}")
