"""CompiledNetwork: a network built on an engine, run batch by batch with callbacks."""
from __future__ import annotations

import numpy as np

from ..utils.callback_list import CallbackList
from ..callbacks.recorder import Recorder
from ..store import open_recording
from ..utils.fingerprint import data_fingerprint, fingerprint
from ..utils.network import get_underlying_pop
from .dataset import batch_slice, check_input, check_spike_budget


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

    # mlGeNN's step-by-step interface: set_input, step_time, get_readout, ...

    def set_input(self, inputs: dict):
        """Load one batch of inputs ({input population or layer: data of at most
        batch_size examples}) without touching the state, as mlGeNN's set_input.
        The engine's state is sized per batch: a batch of another size than the one
        running starts from the initial state (as a "Reset" custom update would)."""
        checked = {get_underlying_pop(k): check_input(k, v, self.network) for k, v in
                   inputs.items()}
        sizes = {len(v) if isinstance(v, list) else np.shape(v)[0] for v in checked.values()}
        if len(sizes) != 1:
            raise ValueError(f"set_input: the inputs hold different numbers of examples "
                             f"{sorted(sizes)}")
        size = sizes.pop()
        if not 0 < size <= self.compiler.batch_size:
            raise ValueError(f"set_input: a batch holds 1 to batch_size="
                             f"{self.compiler.batch_size} examples, got {size}")
        check_spike_budget(checked, [(0, size)])
        batch = {pop: batch_slice(data, 0, size, pop) for pop, data in checked.items()}
        if size != len(self.batch_examples):
            self.batch_examples = np.arange(size, dtype=np.int64)
            self.engine.start_batch(batch, self.batch_examples)
        else:
            self.engine.load_inputs(batch, self.batch_examples)

    def step_time(self, callback_list=None):
        """Simulate one timestep, calling ``callback_list``'s timestep hooks around it."""
        timestep = self.engine.timestep
        if callback_list is not None:
            callback_list.on_timestep_begin(timestep)
        self.engine.step()
        if callback_list is not None:
            callback_list.on_timestep_end(timestep)

    def reset_time(self):
        """Set the engine's timestep (and time) back to 0."""
        self.engine.reset_time()

    def get_readout(self, outputs):
        """The readout of each of ``outputs`` (a list gives a list) for the examples
        of the current batch: float32 (examples, *population shape)."""
        if isinstance(outputs, (list, tuple)):
            return [self.get_readout(o) for o in outputs]
        pop = get_underlying_pop(outputs)
        if pop.neuron.readout is None:
            raise ValueError(f"get_readout: population {pop.name} has no readout")
        return self.engine.readout(pop)

    def custom_update(self, name: str):
        """Run the engine's custom update ``name`` ("Reset", "ResetVars", ...:
        docs/callbacks.md lists them)."""
        self.engine.custom_update(name)

    def save_connectivity(self, keys=(), serialiser="numpy"):
        """Save the synapses of every connection that does not connect all pairs
        (``{connection name}-pre_ind``/``-post_ind`` arrays, under ``keys +
        ("connectivity",)``), as mlGeNN saves sparse connectivity."""
        from ..serialisers import get_serialiser
        keys = keys if isinstance(keys, tuple) else (keys,)
        arrays = {}
        for conn in self.network.connections:
            synapses = self.engine.connectivity(conn)
            if synapses is not None:
                arrays[f"{conn.name}-pre_ind"], arrays[f"{conn.name}-post_ind"] = synapses
        get_serialiser(serialiser).serialise(keys + ("connectivity",), arrays)

    def _open_recording(self, callbacks, inputs, num_examples, store, overwrite,
                        storage_options=None):
        """Where recorders write: memory, or the zarr store (refusing another run's).
        ``callbacks`` are resolved (keys assigned), so the run's fingerprint is stable."""
        if store is None:
            if storage_options:
                raise ValueError(f"storage_options are for a store given as a URL; no store "
                                 f"was given (storage_options={storage_options!r})")
            return open_recording()
        recorders = [c for c in callbacks if isinstance(c, Recorder)]
        run = fingerprint(self.network, self.compiler.options(), recorders,
                          {pop.name: data_fingerprint(data) for pop, data in inputs.items()})
        return open_recording(store, run, overwrite, {"dt": self.compiler.dt,
                                                      "num_examples": num_examples,
                                                      "timesteps": self.example_timesteps},
                              storage_options)

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
        ``after_step()`` straight after each engine step). With no hook to call
        (the recorders that read the engine once per batch have none), the engine
        runs all of them in one call."""
        begin = _per_step(callback_list.hooks["on_timestep_begin"])
        end = _per_step(callback_list.hooks["on_timestep_end"])
        if not begin and not end and after_step is None:
            self.engine.run(timesteps)
            return
        for timestep in range(timesteps):
            for hook in begin:
                hook(timestep)
            self.engine.step()
            if after_step is not None:
                after_step()
            for hook in end:
                hook(timestep)


def _per_step(hooks):
    """The hooks that need a call every timestep: not those of callbacks that take
    the whole batch from the engine at its end (``records_per_batch``)."""
    return [hook for hook in hooks
            if not getattr(getattr(hook, "__self__", None), "records_per_batch", False)]
