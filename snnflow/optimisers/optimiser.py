"""Optimiser: turns gradients into parameter updates."""
from __future__ import annotations


class Optimiser:
    """Hyper-parameters are plain attributes named in ``params``; callbacks such as
    OptimiserParamSchedule may change them between epochs. Per-parameter state
    (moments, step counts) lives in the object ``state`` returns, one per trained
    array."""

    params: tuple = ()

    def state(self, shape):
        raise NotImplementedError

    def step(self, value, gradient, state):
        """Update ``value`` (float32 array) in place from ``gradient``."""
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.params)
        return f"{type(self).__name__}({args})"
