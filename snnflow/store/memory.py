"""In-memory recording: mlGeNN's lists of per-example arrays."""
from __future__ import annotations

import numpy as np

from .layout import to_user_data


class ArrayPieces(list):
    """A list of arrays of one dtype and one shape after the first axis (each
    example's events, or its rows): a recording's per-example data. Pickled as
    one array holding them all and their lengths: Dask sends every array it
    pickles as a frame of its own, and a shard's recording holds thousands (the
    spikes of three populations for 512 examples took 66 ms to serialize and 39
    ms to deserialize piece by piece, 0.5 ms as one array each)."""

    def __reduce__(self):
        if not self or any(not isinstance(a, np.ndarray) or a.ndim == 0 for a in self) \
                or len({(a.dtype, a.shape[1:]) for a in self}) > 1:
            return ArrayPieces, (list(self),)   # nothing to join: piece by piece
        lengths = np.array([len(a) for a in self], dtype=np.int64)
        return _pieces_of, (np.concatenate(self), lengths)


def _pieces_of(whole, lengths):
    ends = np.cumsum(lengths)
    return ArrayPieces(whole[end - length:end] for end, length in zip(ends, lengths))


class MemorySink:
    """Keeps what it is given, which it takes over: the caller must not change the
    arrays afterwards. Recorders build fresh arrays for every batch, so copying
    them again would only cost time and memory. Per-example arrays are views of
    the batches' arrays."""

    def __init__(self, layout):
        self.layout = layout
        self.examples = []
        self._rows = {name: [] for name in layout.rows}
        self._batches = []          # (events, each example's bounds in them) per batch

    def write(self, examples, rows=None, events=None, event_counts=None):
        self.examples.extend(np.asarray(examples).tolist())
        for name, array in (rows or {}).items():
            self._rows[name].extend(array)     # iterating the first axis gives views
        if events:
            ends = np.cumsum(event_counts).tolist()
            self._batches.append((events, list(zip([0] + ends[:-1], ends))))

    def close(self):
        pass

    def rows(self, name):
        return ArrayPieces(self._rows[name])

    def events(self, name, transform=None):
        """Each example's events; ``transform`` is applied to a whole batch's at once."""
        per_example = ArrayPieces()
        for grouped, bounds in self._batches:
            flat = grouped[name] if transform is None else transform(grouped[name])
            per_example.extend(flat[start:stop] for start, stop in bounds)
        return per_example

    def data(self):
        return to_user_data(self.layout.kind, self, self.layout.attrs.get("dt", 1.0))


class MemoryRecording:
    """Recorders' sinks when no store is given."""

    def sink(self, key, layout):
        return MemorySink(layout)

    def start(self):
        pass

    def end_batch(self):
        pass

    def close(self, metrics=None, metric_names=None):
        pass

    def abort(self):
        pass
