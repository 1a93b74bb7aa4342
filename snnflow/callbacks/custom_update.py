"""Callbacks that run one of the engine's custom updates at a hook, as mlGeNN's."""
from __future__ import annotations

from .callback import Callback


class CustomUpdate(Callback):
    """Runs custom update ``name`` (``compiled.custom_update(name)``) at the hook
    its subclass names, when ``filter_fn(number)`` (the batch, epoch or timestep
    number) is true or there is no filter. The update is checked when the
    callback list is set up, before anything is simulated."""

    def __init__(self, name: str, filter_fn=None):
        if not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: name must be a custom update's name, "
                            f"got {name!r}")
        if filter_fn is not None and not callable(filter_fn):
            raise TypeError(f"{type(self).__name__}: filter_fn must be callable, "
                            f"got {filter_fn!r}")
        self.name = name
        self.filter_fn = filter_fn

    def set_params(self, compiled_network, **kwargs):
        compiled_network.engine.check_custom_update(self.name)
        self._compiled_network = compiled_network

    def _custom_update(self, number):
        if self.filter_fn is None or self.filter_fn(number):
            self._compiled_network.custom_update(self.name)


class CustomUpdateOnBatchBegin(CustomUpdate):
    """The custom update at the start of every (filtered) batch."""

    def on_batch_begin(self, batch):
        self._custom_update(batch)


class CustomUpdateOnBatchEnd(CustomUpdate):
    """The custom update at the end of every (filtered) batch."""

    def on_batch_end(self, batch, metrics):
        self._custom_update(batch)


class CustomUpdateOnEpochBegin(CustomUpdate):
    """The custom update at the start of every (filtered) training epoch."""

    def on_epoch_begin(self, epoch):
        self._custom_update(epoch)


class CustomUpdateOnEpochEnd(CustomUpdate):
    """The custom update at the end of every (filtered) training epoch."""

    def on_epoch_end(self, epoch, metrics):
        self._custom_update(epoch)


class CustomUpdateOnTimestepBegin(CustomUpdate):
    """The custom update at the start of every (filtered) timestep."""

    def on_timestep_begin(self, timestep):
        self._custom_update(timestep)


class CustomUpdateOnTimestepEnd(CustomUpdate):
    """The custom update at the end of every (filtered) timestep."""

    def on_timestep_end(self, timestep):
        self._custom_update(timestep)
