"""The lease: one run writes a store at a time.

A run takes the lease before it changes anything in the store and holds it, with a
heartbeat, until it has finished writing. The lease is a small JSON document at the
store's root, ``snnflow.lease.json``, holding its owner (a random id), host, process
id and the time of its last heartbeat. A lease whose heartbeat is older than
``STALE_AFTER`` seconds, or whose process is gone from this host, belongs to a dead
run and is taken over; a live one is refused with an error that names it. A released
lease keeps its owner: readers of a run's recordings compare it with the writer the
store names, so a store rewritten under them is noticed."""
from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid

from .zarr_io import get, put, put_if_absent

LEASE_KEY = "snnflow.lease.json"
#: Seconds between heartbeats, and after which a silent lease is a dead run's
HEARTBEAT = 5.0
STALE_AFTER = 30.0


class StoreInUseError(RuntimeError):
    """Another live run holds the store's lease."""


def read_lease(store):
    """The lease document of ``store`` (a zarr store), or None."""
    raw = get(store, LEASE_KEY)
    return None if raw is None else json.loads(raw)


def _alive(record) -> bool:
    if record.get("released"):
        return False
    if time.time() - record.get("heartbeat", 0) > STALE_AFTER:
        return False
    if record.get("host") == socket.gethostname():
        try:
            os.kill(record["pid"], 0)
        except ProcessLookupError:
            return False
        except (PermissionError, KeyError, TypeError):
            pass
    return True


def describe(record) -> str:
    age = time.time() - record.get("heartbeat", 0)
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.get("started", 0)))
    return (f"run {record.get('owner')} (host {record.get('host')}, process {record.get('pid')}, "
            f"started {started}, last heartbeat {age:.0f} s ago)")


class Lease:
    """This process's lease on ``store`` (a zarr store); ``name`` is for messages."""

    def __init__(self, store, name):
        self.store = store
        self.name = name
        self.owner = uuid.uuid4().hex
        self.record = None
        self.lost = None
        self._stop = threading.Event()
        self._thread = None

    def _document(self, released=False) -> bytes:
        self.record["heartbeat"] = time.time()
        self.record["released"] = released
        return json.dumps(self.record).encode()

    def acquire(self):
        if self.record is not None:
            return self
        self.record = {"owner": self.owner, "host": socket.gethostname(), "pid": os.getpid(),
                       "started": time.time()}
        for _ in range(3):
            current = read_lease(self.store)
            if current is None:
                if put_if_absent(self.store, LEASE_KEY, self._document()):
                    break
                continue
            if _alive(current) and current.get("owner") != self.owner:
                self.record = None
                raise StoreInUseError(
                    f"the store {self.name!r} is being written by {describe(current)}; wait "
                    f"for it to finish, or use another store (a dead run's lease is taken "
                    f"over {STALE_AFTER:.0f} s after its last heartbeat)")
            # Released, or a dead run's: take it, then make sure no one else did too
            put(self.store, {LEASE_KEY: self._document()}, atomic=True)
            time.sleep(0.05)
            if (read_lease(self.store) or {}).get("owner") == self.owner:
                break
        else:
            self.record = None
            raise StoreInUseError(f"could not take the lease of the store {self.name!r}: "
                                  f"another run took it at the same time")
        self._thread = threading.Thread(target=self._beat, name="snnflow-lease", daemon=True)
        self._thread.start()
        return self

    def _beat(self):
        while not self._stop.wait(HEARTBEAT):
            current = read_lease(self.store) or {}
            if current.get("owner") != self.owner:
                self.lost = current
                return
            put(self.store, {LEASE_KEY: self._document()}, atomic=True)

    def check(self):
        """StoreInUseError if another run took the store over."""
        current = read_lease(self.store) or {}
        if current.get("owner") != self.owner or self.lost:
            raise StoreInUseError(f"the store {self.name!r} was taken over by "
                                  f"{describe(current) if current else 'another run'} while "
                                  f"this run wrote it; this run's results are not in it")

    def release(self):
        """Stop the heartbeat and mark the lease released (if it is still ours)."""
        if self.record is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if (read_lease(self.store) or {}).get("owner") == self.owner:
            put(self.store, {LEASE_KEY: self._document(released=True)}, atomic=True)
        self.record = None


def check_writer(store, writer, name):
    """StoreInUseError unless the store's lease still names ``writer``: no run has
    taken the store since ``writer`` wrote it (what readers check)."""
    current = read_lease(store) or {}
    if current.get("owner") != writer:
        raise StoreInUseError(f"the store {name!r} was rewritten by another run "
                              f"({describe(current) if current else 'its lease is gone'}) "
                              f"after this recording was made; open it again to read what "
                              f"it holds now")
