"""The small interface every simulation engine implements.

The compiled network drives an engine batch by batch: ``start_batch`` (reset to
the examples' initial state, load their inputs), ``step`` once per timestep, and
reads spikes, variables and readouts in between. Engines know nothing about
metrics, callbacks or storage."""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Engine(ABC):
    """One network built for simulation on one device."""

    #: how many examples one batch may hold on this engine (None: no limit)
    max_batch_size: int | None = None
    #: what simulates, as messages name it
    device: str = "NumPy"

    def __init__(self, network, *, dt, batch_size, evaluate_timesteps, rng_seed,
                 reset_time_between_batches, reset_vars_between_batches,
                 reset_in_syn_between_batches, kernel_profiling=False):
        self.network = network
        self.dt = dt
        self.batch_size = batch_size
        self.evaluate_timesteps = evaluate_timesteps
        self.rng_seed = rng_seed
        self.reset_time_between_batches = reset_time_between_batches
        self.reset_vars_between_batches = reset_vars_between_batches
        self.reset_in_syn_between_batches = reset_in_syn_between_batches
        self.kernel_profiling = kernel_profiling

    @abstractmethod
    def start_batch(self, inputs: dict, example_indices: np.ndarray):
        """Begin a batch of ``len(example_indices)`` examples (global indices, at most
        batch_size): reset state as the compiler's flags say and load ``inputs``
        ({population: per-example values or spike trains of this batch})."""

    @abstractmethod
    def load_inputs(self, inputs: dict, example_indices: np.ndarray):
        """Replace the running batch's inputs (same examples count), state untouched."""

    #: the custom updates every engine runs: {name: what it resets}. "Reset" is
    #: mlGeNN's name for the reset between batches of its InferenceCompiler
    CUSTOM_UPDATES = {"Reset": ("vars", "in_syn", "readouts"), "ResetVars": ("vars",),
                      "ResetInSyn": ("in_syn",), "ResetReadouts": ("readouts",)}

    def check_custom_update(self, name: str):
        """KeyError, naming the custom updates there are, for one this engine lacks."""
        if name not in self.CUSTOM_UPDATES:
            raise KeyError(f"the {self.device} engine has no custom update {name!r}; it has "
                           f"{sorted(self.CUSTOM_UPDATES)}")

    @abstractmethod
    def custom_update(self, name: str):
        """Run custom update ``name``: reset state variables to their initial values
        (forgetting the last step's spikes, so none is in flight), synaptic input to
        0, or readouts to their start."""

    @abstractmethod
    def reset_time(self):
        """Set the timestep back to 0."""

    @abstractmethod
    def connectivity(self, conn):
        """(pre indices, post indices) of the synapses of ``conn``, or None where
        it connects every pair (a dense matrix)."""

    @abstractmethod
    def step(self):
        """Advance one timestep: deliver last step's spikes, update, spike, read out."""

    def run(self, timesteps: int):
        """Advance ``timesteps`` steps with no callback in between (an engine may
        run them without returning to Python)."""
        for _ in range(timesteps):
            self.step()

    #: whether ``record_var`` keeps variables inside the engine
    records_vars = False

    def record_var(self, pop, name: str, neurons: np.ndarray, timesteps: np.ndarray):
        """Keep state variable ``name`` of ``neurons`` (sorted indices) of ``pop``
        after each of the batch's steps that the boolean mask ``timesteps`` (by
        step number within the batch) selects; called before the batch's first
        step. Returns a handle for ``batch_var``. Only where ``records_vars``."""
        raise NotImplementedError

    def batch_var(self, handle) -> np.ndarray:
        """float32 (examples, selected steps, selected neurons) of a ``record_var``
        recording, a fresh array each batch."""
        raise NotImplementedError

    @property
    @abstractmethod
    def timestep(self) -> int:
        """The number of the step ``step`` will run next."""

    @abstractmethod
    def spikes(self, pop) -> np.ndarray:
        """Boolean (examples, neurons): who spiked in the step just run."""

    @abstractmethod
    def record_spikes(self, pop):
        """Keep ``pop``'s spikes of every step of each batch from now on, for
        ``batch_spikes``; called before a batch's first step."""

    @abstractmethod
    def batch_spikes(self, pop) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The spikes of a population passed to ``record_spikes``, in every step
        this batch has run: (int32 timestep of each spike, int32 neuron of each
        spike, int64 number of spikes of each example of the batch), example by
        example, each example's in time order with neurons ascending within a
        step (the order recorders keep them in). Read once per batch, so an
        engine on a device transfers the batch at once."""

    @abstractmethod
    def get_var(self, pop, name: str) -> np.ndarray:
        """float32 (examples, neurons) values of state variable ``name`` now."""

    @abstractmethod
    def get_value(self, pop, name: str) -> np.ndarray:
        """float32 (examples, neurons) of a model value that is not a state variable
        (``v_thresh``, ``tau_refrac``: per neuron, the same for every example) or,
        for "input", the batch's input values."""

    @abstractmethod
    def set_var(self, pop, name: str, values):
        """Overwrite state variable ``name`` (broadcast to (examples, neurons))."""

    @abstractmethod
    def readout(self, pop) -> np.ndarray:
        """float32 (examples, *pop.shape) of the population's readout so far."""

    @abstractmethod
    def get_conn_var(self, conn, name: str) -> np.ndarray:
        """float32 (n_pre, n_post) values of connection variable ``name`` (0 where
        two neurons are not connected); shared by every example of the batch."""
