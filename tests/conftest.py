"""Shared helpers for the model tests: stepping the engine by hand and building
spike trains. References live in the tests themselves, written from DESIGN.md."""
import numpy as np
import pytest

from snnflow.compilers import InferenceCompiler
from snnflow.compilers.dataset import batch_slice
from snnflow.utils.data import preprocess_spikes

F32 = np.float32


class Sim:
    """Small drivers around the public compiler and engine interface."""

    @staticmethod
    def compile(net, timesteps, dt=1.0, batch_size=1, rng_seed=0):
        return InferenceCompiler(evaluate_timesteps=timesteps, dt=dt, batch_size=batch_size,
                                 rng_seed=rng_seed).compile(net)

    @staticmethod
    def trains(per_example, num_neurons):
        """PreprocessedSpikes per example from [{neuron: [times]}, ...]."""
        result = []
        for spikes in per_example:
            times = [t for n in sorted(spikes) for t in spikes[n]]
            ids = [n for n in sorted(spikes) for _ in spikes[n]]
            result.append(preprocess_spikes(np.array(times, dtype=np.float64),
                                            np.array(ids, dtype=np.int64), num_neurons))
        return result

    @staticmethod
    def trace(compiled, inputs, pops, steps, example_indices=None, var_names=("v",)):
        """Step one batch by hand. Returns {pop: {"spikes": (steps, ex, n) bool,
        var: (steps, ex, n) float32}} read after every step."""
        engine = compiled.engine
        size = len(next(iter(inputs.values())))
        batch = {p: batch_slice(d, 0, size, p) for p, d in inputs.items()}
        indices = np.arange(size) if example_indices is None else np.asarray(example_indices)
        engine.start_batch(batch, indices)
        out = {p: {"spikes": []} for p in pops}
        for _ in range(steps):
            engine.step()
            for p in pops:
                out[p]["spikes"].append(engine.spikes(p).copy())
                for name in var_names:
                    if name in p.neuron.var_names():
                        out[p].setdefault(name, []).append(engine.get_var(p, name).copy())
        return {p: {k: np.stack(v) for k, v in d.items()} for p, d in out.items()}

    @staticmethod
    def raster(per_example, num_neurons, steps, dt=1.0):
        """Reference SpikeInput raster (steps, examples, neurons) from DESIGN.md:
        each neuron emits its next pending spike in the first step t with
        time <= t*dt, at most one per step."""
        out = np.zeros((steps, len(per_example), num_neurons), dtype=bool)
        for e, spikes in enumerate(per_example):
            for n, times in spikes.items():
                pending = sorted(F32(t) for t in times)
                for t in range(steps):
                    if pending and pending[0] <= F32(t) * F32(dt):
                        out[t, e, n] = True
                        pending.pop(0)
        return out


@pytest.fixture(scope="session")
def sim():
    return Sim
