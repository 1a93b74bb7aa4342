"""CallbackList: resolves callbacks, finds their hooks and calls them in order."""
from __future__ import annotations

import warnings

from ..callbacks.callback import Callback
from .module import get_object

HOOKS = ("on_test_begin", "on_test_end", "on_train_begin", "on_train_end",
         "on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end",
         "on_timestep_begin", "on_timestep_end")


def get_callback(callback):
    """A Callback object, or a fresh default-constructed one for a name."""
    from ..callbacks import default_callbacks
    if isinstance(callback, str):
        return get_object(callback, Callback, "callback", default_callbacks)
    return callback


def resolve_callbacks(callbacks) -> list:
    """Callback objects for a list of objects and names, each with a key where it
    has a ``key`` attribute: one of None becomes the callback's index in the list
    (with a warning, since an index changes when the list changes). Two callbacks
    with the same key raise KeyError."""
    if isinstance(callbacks, (str, Callback)) or not hasattr(callbacks, "__iter__"):
        raise TypeError(f"callbacks must be a list of callbacks or names, got {callbacks!r}")
    resolved = [get_callback(c) for c in callbacks]
    seen = set()
    for index, callback in enumerate(resolved):
        if not hasattr(callback, "key"):
            continue
        if callback.key is None:
            warnings.warn(f"{type(callback).__name__} at index {index} has no key; its data "
                          f"is stored under key {index}", stacklevel=4)
            callback.key = index
        if callback.key in seen:
            raise KeyError(f"two callbacks have the key {callback.key!r}; keys must be unique")
        seen.add(callback.key)
    return resolved


class CallbackList:
    """The callbacks of one evaluate, predict or train call (see resolve_callbacks
    for names and keys)."""

    def __init__(self, callbacks, **params):
        self.callbacks = resolve_callbacks(callbacks)
        self.recording = params.get("recording")
        self.data = {}
        for callback in self.callbacks:
            if hasattr(callback, "set_params"):
                callback.set_params(data=self.data, **params)
        # Bound hook methods, found once; absent hooks (or hooks set to None, as
        # SpikeRecorder's on_timestep_end) cost nothing per call, and a batch whose
        # callbacks have no timestep hook runs its steps in one engine call
        self.hooks = {hook: [getattr(c, hook) for c in self.callbacks
                             if getattr(c, hook, None) is not None] for hook in HOOKS}

    def call(self, hook, *args):
        for method in self.hooks[hook]:
            method(*args)

    # mlGeNN's CallbackList calls the hooks through methods of the same names
    def on_test_begin(self):
        self.call("on_test_begin")

    def on_test_end(self, metrics):
        self.call("on_test_end", metrics)

    def on_train_begin(self):
        self.call("on_train_begin")

    def on_train_end(self, metrics):
        self.call("on_train_end", metrics)

    def on_epoch_begin(self, epoch):
        self.call("on_epoch_begin", epoch)

    def on_epoch_end(self, epoch, metrics):
        self.call("on_epoch_end", epoch, metrics)

    def on_batch_begin(self, batch):
        self.call("on_batch_begin", batch)

    def on_batch_end(self, batch, metrics):
        self.end_batch(batch, metrics)

    def on_timestep_begin(self, timestep):
        self.call("on_timestep_begin", timestep)

    def on_timestep_end(self, timestep):
        self.call("on_timestep_end", timestep)

    def end_batch(self, batch, metrics):
        """on_batch_end; then the recording takes what recorders wrote in it, the
        batch's data all at once."""
        self.call("on_batch_end", batch, metrics)
        if self.recording is not None:
            self.recording.end_batch()

    def get_data(self) -> dict:
        """{key: data} from every callback that provides ``get_data``."""
        data = {}
        for index, callback in enumerate(self.callbacks):
            if hasattr(callback, "get_data"):
                key, value = callback.get_data()
                if key is None:
                    warnings.warn(f"{type(callback).__name__} at index {index} returned "
                                  f"its data without a key; it is stored under key {index}",
                                  stacklevel=2)
                    key = index
                if key in data:
                    raise KeyError(f"two callbacks returned data under the key {key!r}")
                data[key] = value
        return data
