"""In-memory recording: mlGeNN's lists of per-example arrays."""
from __future__ import annotations

import numpy as np

from .layout import to_user_data


class MemorySink:
    """Keeps per-example copies of what it is given (``copies``: the caller may
    reuse its arrays as soon as write returns)."""

    copies = True

    def __init__(self, layout):
        self.layout = layout
        self.examples = []
        self._rows = {name: [] for name in layout.rows}
        self._events = {name: [] for name in layout.events}

    def write(self, examples, rows=None, events=None, event_counts=None):
        self.examples.extend(int(e) for e in examples)
        for name, array in (rows or {}).items():
            self._rows[name].extend(np.array(array[i]) for i in range(len(examples)))
        if events:
            bounds = np.cumsum(event_counts)[:-1]
            for name, flat in events.items():
                self._events[name].extend(np.split(np.array(flat), bounds))

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
