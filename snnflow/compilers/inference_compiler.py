"""InferenceCompiler: builds a network on an engine for evaluation and prediction."""
from __future__ import annotations

from ..backends import get_engine_class
from .compiled_inference_network import CompiledInferenceNetwork
from .validation import check_network, check_positive_int


class InferenceCompiler:
    """Compile networks for inference, as mlGeNN's InferenceCompiler.

    Examples never influence each other: with ``reset_vars_between_batches`` (the
    default) every batch starts from the initial state with no synaptic input or
    spikes in flight. ``backend`` picks the engine: "numpy" (default) or "genn"."""

    def __init__(self, evaluate_timesteps, dt=1.0, batch_size=1, rng_seed=0,
                 reset_time_between_batches=True, reset_vars_between_batches=True,
                 reset_in_syn_between_batches=False, backend="numpy"):
        self.evaluate_timesteps = check_positive_int(evaluate_timesteps, "evaluate_timesteps")
        self.batch_size = check_positive_int(batch_size, "batch_size")
        if not (isinstance(dt, (int, float)) and dt > 0):
            raise ValueError(f"dt must be a positive number of ms, got {dt!r}")
        self.dt = float(dt)
        if isinstance(rng_seed, bool) or not isinstance(rng_seed, int) or rng_seed < 0:
            raise ValueError(f"rng_seed must be an int >= 0, got {rng_seed!r}")
        self.rng_seed = rng_seed
        self.reset_time_between_batches = bool(reset_time_between_batches)
        self.reset_vars_between_batches = bool(reset_vars_between_batches)
        self.reset_in_syn_between_batches = bool(reset_in_syn_between_batches)
        self.engine_class = get_engine_class(backend)
        self.backend = backend

    def options(self) -> dict:
        """Everything that decides the simulation (engines take it as keywords)."""
        return {"dt": self.dt, "batch_size": self.batch_size,
                "evaluate_timesteps": self.evaluate_timesteps, "rng_seed": self.rng_seed,
                "reset_time_between_batches": self.reset_time_between_batches,
                "reset_vars_between_batches": self.reset_vars_between_batches,
                "reset_in_syn_between_batches": self.reset_in_syn_between_batches}

    def compile(self, network, name=None) -> CompiledInferenceNetwork:
        check_network(network)
        limit = self.engine_class.max_batch_size
        if limit is not None and self.batch_size > limit:
            raise ValueError(f"batch_size={self.batch_size} is more than backend="
                             f"{self.backend!r} supports on {self.engine_class.device} "
                             f"backend: at most {limit}")
        engine = self.engine_class(network, **self.options())
        return CompiledInferenceNetwork(network, engine, self, name)
