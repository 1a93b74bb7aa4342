"""The zarr recording: each callback key a group, each writer's examples a part.

Layout (docs/storage.md has the full table)::

    /                      attrs snnflow: {version, fingerprint, ...}
    /<encoded key>/        attrs key, kind, dt, population, filters, parts
    /<encoded key>/p000000 one writer's examples: examples, rows arrays, and for
                           events offsets + flat arrays; attrs complete=True last

Writes are buffered per array and flushed in whole chunks, so memory stays at
about one chunk per array however many examples are recorded."""
from __future__ import annotations

import os
import queue
import threading
import warnings

import numpy as np
import zarr

from .. import __version__
from .keys import check_keys, decode_key, encode_key
from .layout import Layout, Rows, to_user_data
from .sequence import RecordedSequence

#: Target bytes per chunk: large enough to keep file counts low, small enough
#: that one buffered chunk per array keeps memory flat.
CHUNK_BYTES = 4 << 20


#: Fast compression (about a GB/s per core): recording must not slow simulation
COMPRESSORS = (zarr.codecs.BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),)


def _chunk_length(row_bytes):
    return max(1, CHUNK_BYTES // max(1, row_bytes))


class _Appender:
    """Appends along axis 0 of a zarr array, writing only whole chunks until close."""

    def __init__(self, array):
        self.array = array
        self.chunk = array.chunks[0]
        self.buffer = []
        self.buffered = 0

    def append(self, values):
        values = np.asarray(values, dtype=self.array.dtype)
        if len(values) == 0:
            return
        self.buffer.append(values)
        self.buffered += len(values)
        if self.buffered >= self.chunk:
            self._write(self.buffered - self.buffered % self.chunk)

    def _write(self, count):
        data = np.concatenate(self.buffer) if len(self.buffer) > 1 else self.buffer[0]
        start = self.array.shape[0]
        self.array.resize((start + count,) + self.array.shape[1:])
        self.array[start:start + count] = data[:count]
        rest = data[count:]
        self.buffer = [rest] if len(rest) else []
        self.buffered = len(rest)

    def close(self):
        if self.buffered:
            self._write(self.buffered)


class _BackgroundWriter:
    """Runs writes on one thread, so compression and I/O overlap the simulation.

    At most ``depth`` batches wait; a failed write is raised at the next submit
    or at close, never lost."""

    def __init__(self, depth=4):
        self.tasks = queue.Queue(maxsize=depth)
        self.error = None
        self.thread = threading.Thread(target=self._drain, name="snnflow-zarr-writer",
                                       daemon=True)
        self.thread.start()

    def _drain(self):
        while (task := self.tasks.get()) is not None:
            if self.error is None:
                try:
                    task()
                except BaseException as error:  # re-raised in the simulating thread
                    self.error = error

    def _raise(self):
        if self.error is not None:
            raise self.error

    def submit(self, task):
        self._raise()
        self.tasks.put(task)

    def close(self):
        self.tasks.put(None)
        self.thread.join()
        self._raise()


class ZarrSink:
    """Writes one recorder's examples into one part group, which it alone owns.

    Nothing touches the store until ``open`` (called once every callback has been
    set up), so a mistake found while setting up callbacks leaves the store as it was."""

    def __init__(self, key, layout: Layout):
        self.key = key
        self.layout = layout
        self.writer = None

    def open(self, root, writer=None):
        self.writer = writer
        self.group = root.create_group(encode_key(self.key), overwrite=True)
        self.group.attrs.update({"key": repr(self.key), "kind": self.layout.kind,
                                 "parts": ["p000000"], **self.layout.attrs})
        self.part = self.group.create_group("p000000")
        layout = self.layout
        self.appenders = {"examples": self._array("examples", (), "int64", ())}
        for name, rows in layout.rows.items():
            self.appenders[name] = self._array(name, rows.shape, rows.dtype, rows.dims)
        if layout.events:
            offsets = self._array("offsets", (), "int64", ())
            offsets.array.resize((1,))
            offsets.array[0] = 0
            self.appenders["offsets"] = offsets
            for name, dtype in layout.events.items():
                self.appenders[name] = self._array(name, (), dtype, (), dim="event")
        self.total_events = 0

    def _array(self, name, shape, dtype, dims, dim="example"):
        row_bytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        array = self.part.create_array(
            name, shape=(0,) + tuple(shape), dtype=dtype,
            chunks=(_chunk_length(row_bytes),) + tuple(shape),
            dimension_names=[dim] + list(dims), fill_value=0, compressors=COMPRESSORS,
            overwrite=True)
        return _Appender(array)

    def write(self, examples, rows=None, events=None, event_counts=None):
        """Queue one batch (the arrays must not be changed afterwards)."""
        task = lambda: self._write(examples, rows, events, event_counts)  # noqa: E731
        self.writer.submit(task) if self.writer is not None else task()

    def _write(self, examples, rows, events, event_counts):
        self.appenders["examples"].append(examples)
        for name, array in (rows or {}).items():
            self.appenders[name].append(array)
        if self.layout.events:
            ends = self.total_events + np.cumsum(event_counts, dtype=np.int64)
            self.appenders["offsets"].append(ends)
            self.total_events = int(ends[-1]) if len(ends) else self.total_events
            for name, flat in events.items():
                self.appenders[name].append(flat)

    def close(self):
        for appender in self.appenders.values():
            appender.close()
        # Written last: readers only trust parts that say they are complete
        self.part.attrs["complete"] = True

    def data(self):
        """The recorded data, read lazily from the store (after close)."""
        return ZarrReader(self.group).data()


class ZarrReader:
    """Reads one key's complete parts, in order, as one sequence of examples."""

    def __init__(self, group):
        self.group = group
        self.attrs = group.attrs.asdict()
        self.parts = [group[name] for name in self.attrs.get("parts", [])
                      if group[name].attrs.get("complete")]
        self.examples = np.concatenate([p["examples"][:] for p in self.parts]) \
            if self.parts else np.zeros(0, np.int64)
        self.starts = np.cumsum([0] + [p["examples"].shape[0] for p in self.parts])
        self._offsets = {}

    def _locate(self, index):
        part = int(np.searchsorted(self.starts, index, side="right")) - 1
        return self.parts[part], index - int(self.starts[part])

    def rows(self, name):
        def fetch(index):
            part, local = self._locate(index)
            return part[name][local]
        return RecordedSequence(len(self.examples), fetch)

    def events(self, name):
        def fetch(index):
            part, local = self._locate(index)
            if part.path not in self._offsets:
                self._offsets[part.path] = part["offsets"][:]
            offsets = self._offsets[part.path]
            return part[name][offsets[local]:offsets[local + 1]]
        return RecordedSequence(len(self.examples), fetch)

    def data(self):
        return to_user_data(self.attrs["kind"], self, self.attrs.get("dt", 1.0))


def _open_root(store, mode):
    if isinstance(store, (str, os.PathLike)):
        store = os.fspath(store)
    return zarr.open_group(store, mode=mode)


class ZarrRecording:
    """Recorders' sinks when ``store`` is given: a path or a zarr store.

    A store that already holds another run (a different fingerprint, or data that
    snnflow did not write) is refused unless ``overwrite=True``; then it is cleared."""

    def __init__(self, store, fingerprint, overwrite=False, attrs=None):
        root = _open_root(store, "a")
        existing = root.attrs.asdict().get("snnflow")
        holds_data = existing is not None or any(True for _ in root.keys())
        if holds_data and not overwrite and (existing or {}).get("fingerprint") != fingerprint:
            raise FileExistsError(f"the store {store!r} already holds a different run; "
                                  f"pass overwrite=True to replace it, or use another store")
        self.store = store
        self.attrs = {"version": __version__, "fingerprint": fingerprint, "complete": False,
                      **(attrs or {})}
        self.sinks = {}

    def sink(self, key, layout: Layout):
        check_keys(list(self.sinks) + [key])
        sink = ZarrSink(key, layout)
        self.sinks[key] = sink
        return sink

    def start(self):
        """Clear the store and lay out every sink's groups: the run begins."""
        self.root = _open_root(self.store, "w")
        self.root.attrs["snnflow"] = self.attrs
        self.writer = _BackgroundWriter()
        for sink in self.sinks.values():
            sink.open(self.root, self.writer)

    def close(self, metrics=None):
        self.writer.close()
        for sink in self.sinks.values():
            sink.close()
        info = self.root.attrs["snnflow"]
        info.update(complete=True, metrics=metrics or {})
        self.root.attrs["snnflow"] = info
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # consolidated metadata is not in the v3 spec yet
            zarr.consolidate_metadata(self.root.store)


def open_store(store) -> dict:
    """{callback key: recorded data} from a finished store, with lazy sequences in
    place of lists (the same arrays the in-memory run returns)."""
    root = _open_root(store, "r")
    if "snnflow" not in root.attrs:
        raise ValueError(f"{store!r} is not an snnflow store (no 'snnflow' attribute)")
    return {decode_key(name): ZarrReader(group).data() for name, group in root.groups()}


__all__ = ["ZarrRecording", "ZarrReader", "ZarrSink", "open_store", "Rows"]
