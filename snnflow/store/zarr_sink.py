"""ZarrSink: streams one recorder's batches into one part group of a zarr store.

Writes are buffered per array and stored a whole chunk at a time on a background
thread, so memory stays at about one chunk per array however many examples are
recorded and compression overlaps the simulation. The part's metadata (its arrays,
then the group itself) is written once, at close, when the arrays' lengths are known."""
from __future__ import annotations

import queue
import threading

import numcodecs
import numpy as np

from .keys import encode_key
from .layout import Layout
from .zarr_io import BLOSC_LZ4, array_metadata, put, with_checksum

#: Target bytes per chunk: large enough to keep file counts low, small enough
#: that one buffered chunk per array keeps memory flat.
CHUNK_BYTES = 2 << 20


def _chunk_length(row_bytes):
    """Rows per chunk: a power of two, so that a batch of a power-of-two size fills
    whole chunks (stored straight from the batch's buffer) or a chunk holds whole
    batches."""
    rows = max(1, CHUNK_BYTES // max(1, row_bytes))
    return 1 << (rows.bit_length() - 1)


class _Appender:
    """Appends along axis 0 of the array at ``path`` of ``store``.

    Every full chunk is encoded here, as zarr's codecs (little-endian bytes, then
    Blosc) would, and stored under its chunk key: zarr's own write path holds the
    interpreter lock for milliseconds per chunk (its asyncio machinery, a chunk of
    fill values, extra copies), which stalls the simulating thread, while Blosc and
    file I/O release it."""

    def __init__(self, store, path, row_shape, dtype, dims, dim):
        row_bytes = int(np.prod(row_shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        self.chunk = _chunk_length(row_bytes)
        self.metadata = array_metadata((0,) + tuple(row_shape), dtype,
                                       (self.chunk,) + tuple(row_shape), [dim] + list(dims))
        self.store = store
        self.path = path
        self.dtype = np.dtype(dtype).newbyteorder("<")
        self.encoder = numcodecs.Blosc(**BLOSC_LZ4, shuffle=numcodecs.Blosc.SHUFFLE,
                                       typesize=self.dtype.itemsize)
        self.pending = []
        self.buffered = 0
        self.stored = 0
        self.chunks = 0     # stored so far: the part's manifest

    def append(self, values):
        values = np.asarray(values, dtype=self.dtype)
        if len(values) == 0:
            return
        self.pending.append(values)
        self.buffered += len(values)
        while self.buffered >= self.chunk:
            self._store_chunk(self._take(self.chunk))

    def _take(self, count):
        """The first ``count`` buffered rows, as one contiguous array (a view when
        they lie in one buffer)."""
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
        # Atomic: a rerun of the shard (a lost worker) may store the same chunk again
        # while a reader reads it; it holds the same bytes, never half of them
        put(self.store, {f"{self.path}/{self.metadata.encode_chunk_key(coords)}":
                         with_checksum(self.encoder.encode(rows))}, atomic=True)
        self.stored += len(rows)
        self.chunks += 1

    def close(self):
        """Store the last, partial chunk; the array's metadata, at its final length."""
        length = self.stored + self.buffered
        if self.buffered:
            # Padded with the fill value (0) to a whole chunk, as zarr stores edge chunks
            rows = self._take(self.buffered)
            chunk = np.zeros((self.chunk,) + rows.shape[1:], dtype=self.dtype)
            chunk[:len(rows)] = rows
            self._store_chunk(chunk)
        return self.metadata.update_shape((length,) + self.metadata.shape[1:])


class _BackgroundWriter:
    """Runs writes on one thread, so compression and I/O overlap the simulation.

    A batch's writes are handed over together, at its end: every hand-over wakes
    the thread, which then competes with the simulation for the interpreter. At
    most ``depth`` batches wait; a failed write is raised at the next hand-over
    or at close, never lost, and the thread ends with it."""

    def __init__(self, depth=2):
        self.tasks = queue.Queue(maxsize=depth)
        self.batch = []
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

    def add(self, task):
        """A write of the current batch."""
        self.batch.append(task)

    def end_batch(self):
        """Hand the batch's writes to the thread."""
        if self.error is not None:
            self.close()        # the caller's run ends here: stop the thread, then raise
        self._hand_over()

    def _hand_over(self):
        if self.batch:
            tasks, self.batch = self.batch, []
            self.tasks.put(lambda: [task() for task in tasks])

    def close(self):
        self._hand_over()
        self.tasks.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def abort(self):
        """End the thread without raising: the run already failed for another reason."""
        self.error = self.error or RuntimeError("aborted")  # skip the queued writes
        self.batch = []
        self.tasks.put(None)
        self.thread.join()


class ZarrSink:
    """Writes one recorder's examples into one part group, which it alone owns.

    Nothing touches the store before the first batch, so a mistake found while
    setting up callbacks leaves the store as it was."""

    def __init__(self, key, layout: Layout):
        self.key = key
        self.layout = layout
        self.writer = None
        self.recorded = None

    def open(self, store, part_name, writer=None):
        """Start this sink's part; with a writer, its batches are stored on the
        writer's thread."""
        self.store = store
        self.writer = writer
        self.path = f"{encode_key(self.key)}/{part_name}"
        layout = self.layout
        self.appenders = {"examples": self._appender("examples", (), "int64", ())}
        for name, rows in layout.rows.items():
            self.appenders[name] = self._appender(name, rows.shape, rows.dtype, rows.dims)
        if layout.events:
            # One more offset than examples: its own dimension, so xarray can open it
            self.appenders["offsets"] = self._appender("offsets", (), "int64", (),
                                                       dim="example_boundary")
            self._run(lambda: self.appenders["offsets"].append([0]))
            for name, dtype in layout.events.items():
                self.appenders[name] = self._appender(name, (), dtype, (), dim="event")
        self.total_events = 0

    def _appender(self, name, shape, dtype, dims, dim="example"):
        return _Appender(self.store, f"{self.path}/{name}", shape, dtype, dims, dim)

    def _run(self, task):
        self.writer.add(task) if self.writer is not None else task()

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

    def close(self) -> dict:
        """Store the buffers' remainders: {path: metadata} of the part's arrays."""
        return {f"{self.path}/{name}": appender.close()
                for name, appender in self.appenders.items()}

    def manifest(self) -> dict:
        """{array name: chunks stored} (after close): what the part group lists."""
        return {name: appender.chunks for name, appender in self.appenders.items()}

    def data(self):
        """The recorded data, read lazily from the finished store."""
        return self.recorded
