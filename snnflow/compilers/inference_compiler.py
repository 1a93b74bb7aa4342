"""InferenceCompiler: builds a network on an engine for evaluation and prediction."""
from __future__ import annotations

from .compiled_inference_network import CompiledInferenceNetwork
from .compiler import Compiler
from .validation import check_positive_int


class InferenceCompiler(Compiler):
    """Compile networks for inference, as mlGeNN's InferenceCompiler.

    Examples never influence each other: with ``reset_vars_between_batches`` (the
    default) every batch starts from the initial state with no synaptic input or
    spikes in flight. ``prefer_in_memory_connect`` chooses, in mlGeNN, between
    GeNN's stored and procedural connectivity; it changes memory and speed, never
    results, and snnflow's engines choose their own representation, so it is
    accepted and has no effect. See Compiler for the other arguments."""

    def __init__(self, evaluate_timesteps, dt=1.0, batch_size=1, rng_seed=0,
                 kernel_profiling=False, prefer_in_memory_connect=True,
                 reset_time_between_batches=True, reset_vars_between_batches=True,
                 reset_in_syn_between_batches=False, backend="numpy"):
        super().__init__(dt, batch_size, rng_seed, kernel_profiling, backend)
        self.evaluate_timesteps = check_positive_int(evaluate_timesteps, "evaluate_timesteps")
        self.prefer_in_memory_connect = bool(prefer_in_memory_connect)
        self.reset_time_between_batches = bool(reset_time_between_batches)
        self.reset_vars_between_batches = bool(reset_vars_between_batches)
        self.reset_in_syn_between_batches = bool(reset_in_syn_between_batches)

    def check_network(self, network):
        super().check_network(network)
        for pop in network.populations:
            frames = getattr(pop.neuron, "input_frames", 1)
            if frames > 1 and (frames - 1) * pop.neuron.input_frame_timesteps >= \
                    self.evaluate_timesteps:
                raise ValueError(
                    f"population {pop.name}: {frames} input frames of "
                    f"{pop.neuron.input_frame_timesteps} timesteps need more than "
                    f"{(frames - 1) * pop.neuron.input_frame_timesteps} timesteps, but "
                    f"evaluate_timesteps={self.evaluate_timesteps}: the last frames would "
                    f"never be shown")

    def options(self) -> dict:
        return {"dt": self.dt, "batch_size": self.batch_size,
                "evaluate_timesteps": self.evaluate_timesteps, "rng_seed": self.rng_seed,
                "reset_time_between_batches": self.reset_time_between_batches,
                "reset_vars_between_batches": self.reset_vars_between_batches,
                "reset_in_syn_between_batches": self.reset_in_syn_between_batches}

    def create_compiled_network(self, network, engine, name) -> CompiledInferenceNetwork:
        return CompiledInferenceNetwork(network, engine, self, name)
