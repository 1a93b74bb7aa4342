"""Metric: accumulates sums and counts over batches, so shards merge exactly."""
from __future__ import annotations

import copy


class Metric:
    """Subclasses keep their state as plain sums and counts in ``state``; the
    result is derived from the state, and merging adds states."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.state = {name: 0 for name in self.state_names}

    def check(self, y_true, pop, what: str):
        """Raise ValueError now if ``y_true`` cannot be scored against ``pop``."""

    def update(self, y_true, y_pred):
        raise NotImplementedError

    @property
    def result(self):
        raise NotImplementedError

    def merge(self, other: "Metric") -> "Metric":
        """A new metric holding both states, as if one had seen all the batches."""
        if type(other) is not type(self):
            raise TypeError(f"cannot merge {type(self).__name__} with {type(other).__name__}")
        merged = copy.copy(self)
        merged.state = {k: self.state[k] + other.state[k] for k in self.state}
        return merged

    def __repr__(self):
        return f"{type(self).__name__}(result={self.result})"
