"""ZarrSink: streams one shard's batches of one recorder into the key's arrays.

Per-example rows (a VarRecorder's values, spike counts) go straight into the
shard's region of the key's one array, which the driver created with chunks
aligned to the shards' boundaries: every chunk has one writer. Spikes, whose
number is not known in advance, go into the shard's own part (``parts/pNNNNNN``:
its CSR offsets and, for every shard but the first, its events), which the
driver links into the key's event arrays when the run finishes (key_arrays.py).

Writes are buffered per array and stored a whole chunk at a time on a background
thread, so memory stays at about one chunk per array however many examples are
recorded and compression overlaps the simulation. The part's metadata (its arrays,
then the group itself) is written once, at close, when the arrays' lengths are known."""
from __future__ import annotations

import json
import queue
import threading

import numpy as np

from .keys import encode_key
from .layout import Layout
from .zarr_io import array_metadata, encode_chunk, get, make_folders, put

#: Target bytes per chunk: large enough to keep file counts low, small enough
#: that one buffered chunk per array keeps memory flat.
CHUNK_BYTES = 2 << 20


def _chunk_length(row_bytes):
    """Rows per chunk: a power of two, so that a batch of a power-of-two size fills
    whole chunks (stored straight from the batch's buffer) or a chunk holds whole
    batches."""
    rows = max_chunk_rows(row_bytes)
    return 1 << (rows.bit_length() - 1)


def max_chunk_rows(row_bytes):
    """The most rows of ``row_bytes`` bytes that fit in CHUNK_BYTES (at least 1)."""
    return max(1, CHUNK_BYTES // max(1, row_bytes))


class _Appender:
    """Appends along axis 0 of the array at ``path`` of ``store``.

    Every full chunk is encoded here, as zarr's codecs (little-endian bytes, then
    Blosc) would, and stored under its chunk key: zarr's own write path holds the
    interpreter lock for milliseconds per chunk (its asyncio machinery, a chunk of
    fill values, extra copies), which stalls the simulating thread, while Blosc and
    file I/O release it."""

    def __init__(self, store, path, row_shape, dtype, dims, dim, metadata=None, first_row=0,
                 length=None):
        """``metadata``: of an array the driver created, whose rows from ``first_row``
        on (a chunk boundary) this appender writes; else a new array's, of the
        default chunk length or ``length`` (the array's, where it is known) if
        shorter, that close() returns."""
        if metadata is None:
            row_bytes = int(np.prod(row_shape, dtype=np.int64)) * np.dtype(dtype).itemsize
            chunk = _chunk_length(row_bytes) if length is None else \
                max(1, min(_chunk_length(row_bytes), length))
            metadata = array_metadata((0,) + tuple(row_shape), dtype,
                                      (chunk,) + tuple(row_shape), [dim] + list(dims))
        self.metadata = metadata
        self.chunk = metadata.chunks[0]
        if first_row % self.chunk:
            raise RuntimeError(f"{path}: a shard's rows start at {first_row}, inside a chunk "
                               f"of {self.chunk} rows (the shards' chunks must be aligned)")
        self.first_chunk = first_row // self.chunk
        self.store = store
        self.path = path
        self.dtype = np.dtype(dtype).newbyteorder("<")
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
        coords = (self.first_chunk + self.stored // self.chunk,) + (0,) * (rows.ndim - 1)
        # Atomic: a rerun of the shard (a lost worker) may store the same chunk again
        # while a reader reads it; it holds the same bytes, never half of them
        put(self.store, {f"{self.path}/{self.metadata.encode_chunk_key(coords)}":
                         encode_chunk(rows)}, atomic=True)
        self.stored += len(rows)
        self.chunks += 1

    def close(self):
        """Store the last, partial chunk; the array's metadata, at its final length
        (for an array of its own)."""
        length = self.stored + self.buffered
        end = self.first_chunk * self.chunk + length
        if self.buffered and self.metadata.shape[0] and end != self.metadata.shape[0]:
            # Only the array's last chunk may be partial: any other is another shard's too
            raise RuntimeError(f"{self.path}: a shard's rows end at {end}, inside a chunk of "
                               f"{self.chunk} rows that is not the array's last")
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


PARTS = "parts"


def event_chunk_length(layout: Layout) -> int:
    """Events per chunk, one length for all of a key's event arrays, so that one
    index (``spans``) points into each of them."""
    return _chunk_length(max(np.dtype(dtype).itemsize for dtype in layout.events.values()))


def part_path(key_group: str, part: str) -> str:
    """Where shard ``part`` of a spike key keeps its offsets (and events)."""
    return f"{key_group}/{PARTS}/{part}"


def is_first_part(part: str) -> bool:
    """The first shard's events start at 0: it writes them into the key's arrays."""
    return part == "p000000"


class ZarrSink:
    """Writes one recorder's examples of one shard: its region of the key's row
    arrays and its spikes' part, which it alone owns.

    Nothing touches the store before the first batch, so a mistake found while
    setting up callbacks leaves the store as it was."""

    def __init__(self, key, layout: Layout):
        self.key = key
        self.layout = layout
        self.writer = None
        self.recorded = None

    def open(self, store, part_name, writer=None, examples=None):
        """Start this sink's part, of global examples ``examples`` (start, stop) where
        known; with a writer, its batches are stored on the writer's thread. The
        key's row arrays must exist (the driver made them)."""
        self.store = store
        self.writer = writer
        self.group = encode_key(self.key)
        self.part = part_name
        self.path = part_path(self.group, part_name)
        layout = self.layout
        # Read here, in the simulating thread, so a missing array fails the shard at once
        self.row_metadata = {name: self._metadata(name) for name in layout.rows}
        self.appenders = {}
        self.total_events = 0
        if layout.events:
            # One more offset than examples: its own dimension, so xarray can open it.
            # One chunk of that length, not a megabyte's (mostly padding), which the
            # shard compresses and the driver decompresses again to read the offsets
            length = None if examples is None else layout.recorded(*examples) + 1
            self.appenders["offsets"] = _Appender(store, f"{self.path}/offsets", (), "int64",
                                                  (), dim="part_boundary", length=length)
            self._run(lambda: self.appenders["offsets"].append([0]))
            chunk = event_chunk_length(layout)
            for name, dtype in layout.events.items():
                where = f"{self.group}/{name}" if is_first_part(part_name) else \
                    f"{self.path}/{name}"
                self.appenders[name] = _Appender(
                    store, where, (), dtype, (), "part_event",
                    array_metadata((0,), dtype, (chunk,), ["part_event"]))
            # On the writer's thread, beside the simulation: the shard's last chunks
            # and metadata, stored when it ends, then go into folders that exist
            folders = [appender.path for appender in self.appenders.values()]
            self._run(lambda: make_folders(store, folders))

    def _metadata(self, name):
        from zarr.core.metadata.v3 import ArrayV3Metadata
        raw = get(self.store, f"{self.group}/{name}/zarr.json")
        if raw is None:
            raise FileNotFoundError(f"the array {self.group}/{name} that the run's driver "
                                    f"creates is missing from the store")
        return ArrayV3Metadata.from_dict(json.loads(raw))

    def _run(self, task):
        self.writer.add(task) if self.writer is not None else task()

    def write(self, examples, rows=None, events=None, event_counts=None):
        """Queue one batch (the arrays must not be changed afterwards)."""
        self._run(lambda: self._write(examples, rows, events, event_counts))

    def _write(self, examples, rows, events, event_counts):
        for name, array in (rows or {}).items():
            if name not in self.appenders:
                # The shard's first recorded example says where its region begins
                first = int(examples[0]) if self.layout.examples is None else \
                    int(np.searchsorted(self.layout.examples, examples[0]))
                row = self.layout.rows[name]
                self.appenders[name] = _Appender(self.store, f"{self.group}/{name}", row.shape,
                                                 row.dtype, row.dims, "example",
                                                 self.row_metadata[name], first)
            self.appenders[name].append(array)
        if self.layout.events:
            ends = self.total_events + np.cumsum(event_counts, dtype=np.int64)
            self.appenders["offsets"].append(ends)
            self.total_events = int(ends[-1]) if len(ends) else self.total_events
            for name, flat in events.items():
                self.appenders[name].append(flat)

    def close(self) -> dict:
        """Store the buffers' remainders: {path: metadata} of the part's arrays
        (the key's arrays' metadata is the driver's)."""
        closed = {f"{appender.path}": appender.close()
                  for appender in self.appenders.values()}
        return {path: metadata for path, metadata in closed.items()
                if path.startswith(self.path + "/")}

    def part_group(self):
        """{path: attributes} of the part group that says this shard's spikes are
        complete (after close): the chunks of each array, and the number of events."""
        if not self.layout.events:
            return {}
        return {self.path: {"complete": True, "events": self.total_events,
                            "chunks": {name: appender.chunks
                                       for name, appender in self.appenders.items()
                                       if appender.path.startswith(self.path + "/")}}}

    def data(self):
        """The recorded data, read lazily from the finished store."""
        return self.recorded
