"""ZarrSink: streams one recorder's batches into one part group of a zarr store.

Writes are buffered per array and stored a whole chunk at a time on a background
thread, so memory stays at about one chunk per array however many examples are
recorded and compression overlaps the simulation."""
from __future__ import annotations

import queue
import threading

import numcodecs
import numpy as np
import zarr
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import LocalStore

from .keys import encode_key
from .layout import Layout
from .zarr_reader import ZarrReader

#: Target bytes per chunk: large enough to keep file counts low, small enough
#: that one buffered chunk per array keeps memory flat.
CHUNK_BYTES = 4 << 20

#: Fast compression (about a GB/s per core): recording must not slow simulation
BLOSC_LZ4 = {"cname": "lz4", "clevel": 5}
COMPRESSORS = (zarr.codecs.BloscCodec(**BLOSC_LZ4, shuffle="shuffle"),)


def _chunk_length(row_bytes):
    return max(1, CHUNK_BYTES // max(1, row_bytes))


class _Appender:
    """Appends along axis 0 of a zarr array.

    Every full chunk is encoded here, as zarr's codecs (little-endian bytes, then
    COMPRESSORS) would, and stored under its chunk key. zarr's own write path holds
    the interpreter lock for milliseconds per chunk (its asyncio machinery, a chunk
    of fill values, extra copies), which stalls the simulating thread; Blosc and the
    store's I/O release it. The array's shape is set once, at close."""

    def __init__(self, array):
        self.array = array
        self.dtype = array.dtype.newbyteorder("<")
        self.chunk = array.chunks[0]
        self.encoder = numcodecs.Blosc(**BLOSC_LZ4, shuffle=numcodecs.Blosc.SHUFFLE,
                                       typesize=self.dtype.itemsize)
        self.pending = []
        self.buffered = 0
        self.stored = 0

    def append(self, values):
        values = np.asarray(values, dtype=self.dtype)
        if len(values) == 0:
            return
        self.pending.append(values)
        self.buffered += len(values)
        while self.buffered >= self.chunk:
            self._store_chunk(self._take(self.chunk))

    def _take(self, count):
        """The first ``count`` buffered rows, as one contiguous array."""
        pieces = []
        while count:
            piece = self.pending[0]
            pieces.append(piece[:count])
            if len(piece) > count:
                self.pending[0] = piece[count:]
            else:
                self.pending.pop(0)
            count -= len(pieces[-1])
            self.buffered -= len(pieces[-1])
        return np.concatenate(pieces) if len(pieces) > 1 else np.ascontiguousarray(pieces[0])

    def _store_chunk(self, rows):
        coords = (self.stored // self.chunk,) + (0,) * (rows.ndim - 1)
        key = self.array.metadata.encode_chunk_key(coords)
        encoded = self.encoder.encode(rows)
        store_path = self.array.store_path
        if isinstance(store_path.store, LocalStore):
            # A plain file write: going through zarr's event loop costs more
            # interpreter time than the write itself. No need for an atomic write:
            # readers only trust a part once it is marked complete.
            path = store_path.store.root / store_path.path / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(encoded)
        else:
            sync((store_path / key).set(default_buffer_prototype().buffer.from_bytes(encoded)))
        self.stored += len(rows)

    def close(self):
        length = self.stored + self.buffered
        if self.buffered:
            # Padded with the fill value (0) to a whole chunk, as zarr stores edge chunks
            rows = self._take(self.buffered)
            chunk = np.zeros((self.chunk,) + rows.shape[1:], dtype=self.dtype)
            chunk[:len(rows)] = rows
            self._store_chunk(chunk)
        self.array.resize((length,) + self.array.shape[1:])


class _BackgroundWriter:
    """Runs writes on one thread, so compression and I/O overlap the simulation.

    At most ``depth`` batches wait; a failed write is raised at the next submit
    or at close, never lost, and the thread ends with it."""

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

    def submit(self, task):
        if self.error is not None:
            self.close()        # the caller's run ends here: stop the thread, then raise
        self.tasks.put(task)

    def close(self):
        self.tasks.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def abort(self):
        """End the thread without raising: the run already failed for another reason."""
        self.error = self.error or RuntimeError("aborted")  # skip the queued writes
        self.tasks.put(None)
        self.thread.join()


class ZarrSink:
    """Writes one recorder's examples into one part group, which it alone owns.

    Nothing touches the store until ``open`` (called once every callback has been
    set up), so a mistake found while setting up callbacks leaves the store as it was."""

    def __init__(self, key, layout: Layout):
        self.key = key
        self.layout = layout
        self.writer = None

    def open(self, root, part_name, writer=None):
        """Create this sink's part group (replacing any earlier attempt's) inside the
        key's group, which the run made. With a writer this happens on its thread,
        while the first batch is simulated."""
        self.writer = writer
        self._run(lambda: self._create(root, part_name))

    def _run(self, task):
        self.writer.submit(task) if self.writer is not None else task()

    def _create(self, root, part_name):
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
            overwrite=True)
        return _Appender(array)

    def write(self, examples, rows=None, events=None, event_counts=None):
        """Queue one batch (the arrays must not be changed afterwards)."""
        self._run(lambda: self._write(examples, rows, events, event_counts))

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
