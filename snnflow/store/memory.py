"""In-memory recording: mlGeNN's lists of per-example arrays."""
from __future__ import annotations

import numpy as np

from .layout import to_user_data


class MemorySink:
    """Keeps what it is given as per-example views of the written arrays, which it
    takes over: the caller must not change them afterwards. Recorders build fresh
    arrays for every batch, so copying them again would only cost time and memory."""

    def __init__(self, layout):
        self.layout = layout
        self.examples = []
        self._rows = {name: [] for name in layout.rows}
        self._events = {name: [] for name in layout.events}

    def write(self, examples, rows=None, events=None, event_counts=None):
        self.examples.extend(np.asarray(examples).tolist())
        for name, array in (rows or {}).items():
            self._rows[name].extend(array)     # iterating the first axis gives views
        if events:
            ends = np.cumsum(event_counts).tolist()
            bounds = list(zip([0] + ends[:-1], ends))
            for name, flat in events.items():
                self._events[name].extend(flat[start:stop] for start, stop in bounds)

    def close(self):
        pass

    def rows(self, name):
        return self._rows[name]

    def events(self, name):
        return self._events[name]

    def data(self):
        return to_user_data(self.layout.kind, self, self.layout.attrs.get("dt", 1.0))


class MemoryRecording:
    """Recorders' sinks when no store is given."""

    def sink(self, key, layout):
        return MemorySink(layout)

    def start(self):
        pass

    def close(self, metrics=None):
        pass

    def abort(self):
        pass
