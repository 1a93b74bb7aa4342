"""Checkpoint: save the trained weights during training."""
from __future__ import annotations

from ..serialisers import get_serialiser
from .callback import Callback


class Checkpoint(Callback):
    """Saves the weights with ``compiled.save((epoch,), serialiser)`` at the end
    of every ``epoch_interval``-th epoch (epochs 0, interval, 2 interval, ...).
    The serialiser's location is checked when training starts, so an unwritable
    path fails before the first epoch."""

    def __init__(self, serialiser="numpy", epoch_interval=1):
        if isinstance(epoch_interval, bool) or not isinstance(epoch_interval, int) \
                or epoch_interval < 1:
            raise ValueError(f"Checkpoint epoch_interval must be an int >= 1, got "
                             f"{epoch_interval!r}")
        self.serialiser = get_serialiser(serialiser)
        self.epoch_interval = epoch_interval

    def set_params(self, compiled_network, **kwargs):
        if not hasattr(compiled_network, "save"):
            raise ValueError("Checkpoint needs a network compiled for training")
        self._compiled = compiled_network

    def on_train_begin(self):
        try:
            self.serialiser.check_writable()
        except OSError as error:
            raise OSError(f"Checkpoint cannot write to {self.serialiser!r}: {error}") from error

    def on_epoch_end(self, epoch, metrics):
        if epoch % self.epoch_interval == 0:
            self._compiled.save((epoch,), self.serialiser)
