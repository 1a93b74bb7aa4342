"""OptimiserParamSchedule: change an optimiser parameter from epoch to epoch."""
from __future__ import annotations

from .callback import Callback


class OptimiserParamSchedule(Callback):
    """At the start of every epoch sets the optimiser's ``param_name`` to
    ``func(epoch, value)``, where ``value`` is its current value: a learning-rate
    schedule is ``OptimiserParamSchedule("alpha", lambda epoch, alpha: ...)``."""

    def __init__(self, param_name, func):
        if not callable(func):
            raise TypeError(f"OptimiserParamSchedule func must be callable as "
                            f"func(epoch, value), got {func!r}")
        self.param_name = param_name
        self.func = func

    def set_params(self, compiled_network, **kwargs):
        optimiser = getattr(compiled_network, "optimiser", None)
        if optimiser is None:
            raise ValueError("OptimiserParamSchedule needs a network compiled for training")
        if self.param_name not in optimiser.params:
            raise ValueError(f"OptimiserParamSchedule: {type(optimiser).__name__} has no "
                             f"parameter {self.param_name!r}; it has {list(optimiser.params)}")
        self._optimiser = optimiser

    def on_epoch_begin(self, epoch):
        value = getattr(self._optimiser, self.param_name)
        setattr(self._optimiser, self.param_name, self.func(epoch, value))
