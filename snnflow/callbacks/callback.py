"""Callback: base class of objects run at points of training and inference."""


class Callback:
    """Derive from this and define any of the hooks (``on_test_begin``,
    ``on_test_end(metrics)``, ``on_train_begin``, ``on_train_end(metrics)``,
    ``on_epoch_begin(epoch)``, ``on_epoch_end(epoch, metrics)``,
    ``on_batch_begin(batch)``, ``on_batch_end(batch, metrics)``,
    ``on_timestep_begin(timestep)``, ``on_timestep_end(timestep)``), plus
    optionally ``set_params(**kwargs)`` and ``get_data()``.

    The base class defines none of the hooks on purpose: they are found by
    inspecting each object, so a hook a callback lacks costs nothing."""
