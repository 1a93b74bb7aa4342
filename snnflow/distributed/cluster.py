"""Which Dask cluster a run uses: the user's, a scheduler address, or an embedded one."""
from __future__ import annotations

import contextlib
import logging
import os
import sys

import dask
from dask.utils import parse_timedelta
from distributed import Client, LocalCluster
from distributed.comm import parse_address, parse_host_port

#: snnflow's messages to the person running it (the dashboard's link, results
#: reused from a store) are INFO records of this logger, printed to stderr
logger = logging.getLogger("snnflow")


class _ToStderr(logging.Handler):
    """Writes to whatever sys.stderr is when a message comes, so that a notebook
    shows it under the cell that ran."""

    def emit(self, record):
        print(self.format(record), file=sys.stderr)


if not logger.handlers:
    # As Dask does for its own "distributed" logger: shown without any logging
    # set-up, and once (not again through the root logger when the application
    # configured one). logging.getLogger("snnflow").setLevel(logging.WARNING)
    # silences them.
    logger.addHandler(_ToStderr())
    logger.setLevel(logging.INFO)
    logger.propagate = False

#: Protocols whose addresses name a host and a port
_NETWORK_PROTOCOLS = ("tcp", "tls", "ws", "wss", "ucx")


def default_workers() -> int:
    """One single-threaded worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


#: Dask settings of the embedded cluster. Besides the profiler (see local_cluster),
#: three timers that wake every process of the cluster: idle, the driver's process
#: (scheduler and nannies) took 50 ms of CPU a second and each worker 17-23 ms
#: with Dask's defaults, 13 and 3 ms with these, measured on 2 cores, where every
#: ms is taken from a simulating worker. The event loops' watchdog (which warns of
#: a blocked loop) ticks every 0.5 s, not 20 ms; a nanny checks its worker's memory
#: every 0.5 s, not 0.1 s (the limits still hold, noticed a little later); the
#: dashboard's CPU and memory plots sample every 2 s, not 0.5 s.
EMBEDDED_CONFIG = {"distributed.worker.profile.enabled": False,
                   "distributed.admin.tick.interval": "500ms",
                   "distributed.worker.memory.monitor-interval": "500ms",
                   "distributed.admin.system-monitor.interval": "2s"}


def local_cluster(n_workers=None) -> LocalCluster:
    """The embedded cluster: ``n_workers`` (default: one per core) worker processes
    with one thread each, bound to 127.0.0.1, the dashboard on a free port.

    The workers' statistical profiler is off: it samples the simulating thread
    every 10 ms, costing it the GIL, and nobody reads the profile of a cluster
    that lives for one call. (Pass your own Client to keep it.) Its processes
    also wake less often when idle (EMBEDDED_CONFIG): the event loops' watchdog,
    the memory monitor and the dashboard's system monitor."""
    with dask.config.set(EMBEDDED_CONFIG):
        return LocalCluster(n_workers=n_workers or default_workers(), threads_per_worker=1,
                            processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0")


def check_client(client, keep_cluster=False, argument="client"):
    """Raise now, before any work, for a ``client`` (and ``keep_cluster``) that
    cannot give a running cluster; messages call it ``argument``."""
    if not isinstance(keep_cluster, bool):
        raise TypeError(f"keep_cluster must be True or False, got {keep_cluster!r}")
    if isinstance(client, Client):
        if client.status != "running":
            raise ValueError(f"{argument} {client!r} is {client.status}: pass a running "
                             f"distributed.Client, a scheduler address or None")
    elif isinstance(client, str):
        protocol, location = parse_address(client)
        if protocol in _NETWORK_PROTOCOLS:
            try:
                parse_host_port(location)
            except ValueError as error:
                raise ValueError(f"{argument} {client!r} is not a scheduler address: expected "
                                 f"'tcp://HOST:PORT', as 'dask scheduler' prints it "
                                 f"({error})") from None
    elif client is not None:
        raise TypeError(f"{argument} must be a distributed.Client, a scheduler address or None, "
                        f"got {client!r}")
    if keep_cluster and client is not None:
        raise ValueError(f"keep_cluster keeps the embedded cluster ({argument}=None) up "
                         f"after the run; a cluster you pass or name as {argument} is yours "
                         f"and stays up anyway")


@contextlib.contextmanager
def connect(client=None, *, n_workers=None, keep_cluster=False):
    """A Client for a run: ``client`` itself (a running ``distributed.Client``),
    one connected to a scheduler address (closed on exit, the cluster stays up),
    or, for None, one on an embedded LocalCluster of ``n_workers`` single-threaded
    worker processes (default: one per core) bound to 127.0.0.1.

    The dashboard's link is logged when snnflow connects (not for a Client you
    pass: you have its ``dashboard_link``). The embedded cluster
    is closed on exit, unless ``keep_cluster`` is True: then, after a run that
    did not fail, it stays up (dashboard included) until Enter or Ctrl-C is
    pressed (at once when standard input is closed, as under CI).

    A scheduler that does not answer within Dask's connect timeout
    (``distributed.comm.timeouts.connect``, 30 s unless configured) raises
    ConnectionError."""
    check_client(client, keep_cluster)
    if n_workers is not None and (isinstance(n_workers, bool) or not isinstance(n_workers, int)
                                  or n_workers < 1 or client is not None):
        raise ValueError(f"n_workers sizes the embedded cluster (client=None): an int >= 1 "
                         f"or None, got {n_workers!r} with client={client!r}")
    if isinstance(client, Client):
        yield client
    elif isinstance(client, str):
        with _client_of(client) as connected:
            logger.info(f"Dask dashboard: {connected.dashboard_link}")
            yield connected
    else:
        # Its workers listen on this machine: data is sent to them and fetched
        # from them directly, not through the scheduler, which runs in this
        # process and would receive and send every byte once more
        with local_cluster(n_workers) as cluster, \
                Client(cluster, direct_to_workers=True) as embedded:
            logger.info(f"Dask dashboard: {embedded.dashboard_link}")
            yield embedded
            if keep_cluster:
                wait_for_user(embedded.dashboard_link)


def _client_of(address) -> Client:
    timeout = dask.config.get("distributed.comm.timeouts.connect")
    try:
        return Client(address, timeout=timeout)
    except OSError as error:     # TimeoutError, refused or unknown host
        seconds = parse_timedelta(timeout)
        raise ConnectionError(
            f"no Dask scheduler answered at {address!r} within {seconds:g} s ({error}); "
            f"check the address, that 'dask scheduler' runs there and that this machine "
            f"can reach it (the wait is Dask's setting distributed.comm.timeouts.connect)"
        ) from None


def wait_for_user(dashboard_link):
    """Block until Enter or Ctrl-C (at once when standard input is closed)."""
    logger.info(f"The run is done; the cluster stays up for its dashboard at "
                f"{dashboard_link}. Press Enter or Ctrl-C to close it.")
    try:
        input()
    except (EOFError, KeyboardInterrupt):
        pass
