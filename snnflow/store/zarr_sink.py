"""ZarrSink: streams one recorder's batches into one part group of a zarr store.

Writes are buffered per array and flushed in whole chunks on a background thread,
so memory stays at about one chunk per array however many examples are recorded
and compression overlaps the simulation."""
from __future__ import annotations

import queue
import threading

import numpy as np
import zarr

from .keys import encode_key
from .layout import Layout
from .zarr_reader import ZarrReader

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

    def __init__(self, depth=2):
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

    #: write() queues the arrays themselves: the caller must not reuse them
    copies = False

    def __init__(self, key, layout: Layout):
        self.key = key
        self.layout = layout
        self.writer = None

    def open(self, root, part_name, writer=None):
        """Create this sink's part group (replacing any earlier attempt's) inside the
        key's group, which the run made."""
        self.writer = writer
        self.group = root[encode_key(self.key)]
        self.part = self.group.create_group(part_name, overwrite=True)
        layout = self.layout
        self.appenders = {"examples": self._array("examples", (), "int64", ())}
        for name, rows in layout.rows.items():
            self.appenders[name] = self._array(name, rows.shape, rows.dtype, rows.dims)
        if layout.events:
            # One more offset than examples: its own dimension, so xarray can open it
            offsets = self._array("offsets", (), "int64", (), dim="example_boundary")
            offsets.append([0])
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
            # Every chunk is written: skip zarr's check for chunks of fill values
            config={"write_empty_chunks": True}, overwrite=True)
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
        # A fresh handle: this one's attributes predate the run's final listing
        return ZarrReader(zarr.open_group(self.group.store, path=self.group.path,
                                          mode="r")).data()
