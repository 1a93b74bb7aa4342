"""CompiledNetwork: a network built on an engine, run batch by batch with callbacks."""
from __future__ import annotations

import numpy as np

from ..utils.callback_list import CallbackList
from ..callbacks.recorder import Recorder
from ..store import open_recording
from ..utils.fingerprint import data_fingerprint, fingerprint
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

    @property
    def example_timesteps(self) -> int:
        """Timesteps simulated per example."""
        return self.compiler.evaluate_timesteps

    def _open_recording(self, callbacks, inputs, num_examples, store, overwrite):
        """Where recorders write: memory, or the zarr store (refusing another run's).
        ``callbacks`` are resolved (keys assigned), so the run's fingerprint is stable."""
        if store is None:
            return open_recording()
        recorders = [c for c in callbacks if isinstance(c, Recorder)]
        run = fingerprint(self.network, self.compiler.options(), recorders,
                          {pop.name: data_fingerprint(data) for pop, data in inputs.items()})
        return open_recording(store, run, overwrite, {"dt": self.compiler.dt,
                                                      "num_examples": num_examples})

    def _callback_list(self, callbacks, num_batches, num_examples, recording):
        return CallbackList(callbacks, compiled_network=self, num_batches=num_batches,
                            num_examples=num_examples, recording=recording)

    def _start_batch(self, inputs, start, stop, first_example=0):
        """Reset the engine for examples [start, stop) of ``inputs``."""
        self.batch_examples = np.arange(start, stop, dtype=np.int64) + first_example
        batch_inputs = {pop: batch_slice(data, start, stop, pop) for pop, data in inputs.items()}
        self.engine.start_batch(batch_inputs, self.batch_examples)

    def _simulate(self, callback_list, timesteps, after_step=None):
        """Run the batch's timesteps, calling the timestep hooks around each (and
        ``after_step()`` straight after each engine step)."""
        begin = callback_list.hooks["on_timestep_begin"]
        end = callback_list.hooks["on_timestep_end"]
        for timestep in range(timesteps):
            for hook in begin:
                hook(timestep)
            self.engine.step()
            if after_step is not None:
                after_step()
            for hook in end:
                hook(timestep)
