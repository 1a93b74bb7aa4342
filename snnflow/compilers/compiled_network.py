"""CompiledNetwork: a network built on an engine, run batch by batch with callbacks."""
from __future__ import annotations

import numpy as np

from ..callbacks import CallbackList
from .dataset import batch_slice


class CompiledNetwork:
    """Owns the engine. A context manager, as in mlGeNN (``with compiled:``).

    While a batch runs, ``batch_examples`` holds the global indices of its examples
    (recorders use it to apply example filters)."""

    def __init__(self, network, engine, compiler, name=None):
        self.network = network
        self.engine = engine
        self.compiler = compiler
        self.name = name or "snnflow_model"
        self.batch_examples = np.zeros(0, dtype=np.int64)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def _callback_list(self, callbacks, num_batches, **params):
        return CallbackList(callbacks, compiled_network=self, num_batches=num_batches,
                            **params)

    def _run_batch(self, inputs, start, stop, callback_list, timesteps, first_example=0):
        """Simulate examples [start, stop) of ``inputs`` for ``timesteps`` steps."""
        self.batch_examples = np.arange(start, stop, dtype=np.int64) + first_example
        batch_inputs = {pop: batch_slice(data, start, stop, pop) for pop, data in inputs.items()}
        self.engine.start_batch(batch_inputs, self.batch_examples)
        begin = callback_list.hooks["on_timestep_begin"]
        end = callback_list.hooks["on_timestep_end"]
        for _ in range(timesteps):
            timestep = self.engine.timestep
            for hook in begin:
                hook(timestep)
            self.engine.step()
            for hook in end:
                hook(timestep)
