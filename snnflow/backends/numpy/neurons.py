"""NumPy kernels of the neuron models: float32, batched (examples, neurons)."""
from __future__ import annotations

import numpy as np

from ... import neurons
from ...utils.value import resolve_value

F32 = np.float32


class NeuronKernel:
    """Per-population arithmetic of one neuron model.

    ``initial_state`` gives each state variable's value per neuron; ``update`` runs
    one timestep in place on the (examples, neurons) state and returns who spiked."""

    spiking = True

    def __init__(self, model, shape, rng, dt):
        self.model = model
        self.shape = shape
        self.n = int(np.prod(shape))
        self.dt = F32(dt)
        self.dt_double = float(dt)
        self._initial = {}
        #: the model's values as resolved for this population (initializers drawn)
        self.params = {}

    def value(self, model, name, rng, dtype=F32):
        """A scalar, or a flat (neurons,) array for per-neuron values."""
        value = resolve_value(getattr(model, name), self.shape, rng,
                              f"{type(model).__name__}.{name}", dtype)
        value = value if np.ndim(value) == 0 else value.reshape(-1)
        self.params[name] = value
        return value

    def leak_factor(self, model, rng):
        """exp(-dt / tau_mem), computed in double precision and then rounded, as
        GeNN does for derived parameters."""
        tau_mem = self.value(model, "tau_mem", rng, np.float64)
        if np.any(tau_mem <= 0):
            raise ValueError(f"{type(model).__name__}.tau_mem must be > 0 ms everywhere")
        alpha = np.exp(-self.dt_double / tau_mem)
        return F32(alpha) if np.ndim(alpha) == 0 else alpha.astype(F32)

    def initial_state(self) -> dict:
        return self._initial

    def load_input(self, values, example_indices):
        """Take the batch's input (input models only)."""
        self.input = values

    def parameter(self, name, num_examples):
        """(examples, neurons) float32 of model value ``name`` or the batch's input."""
        if name == "input" and getattr(self, "input", None) is not None:
            return np.asarray(self.input, dtype=F32).reshape(num_examples, self.n)
        if name not in self.params:
            raise KeyError(name)
        return np.broadcast_to(np.asarray(self.params[name], dtype=F32),
                               (num_examples, self.n))

    def update(self, state, isyn, t):
        """Run one step's update in place, up to the threshold test; return (spikes
        bool (examples, neurons), flat indices of the spiking elements), or None
        for a non-spiking model. Readouts see the state at this point."""
        raise NotImplementedError

    def reset(self, state, spikes, spiking):
        """Reset the neurons that spiked (after the readouts have seen them)."""


class IntegrateFireKernel(NeuronKernel):
    """IntegrateFire, LeakyIntegrateFire and their Input variants."""

    def __init__(self, model, shape, rng, dt):
        super().__init__(model, shape, rng, dt)
        self.v_thresh = self.value(model, "v_thresh", rng)
        self.v_reset = self.value(model, "v_reset", rng)
        self._initial["v"] = self.value(model, "v", rng)
        self.alpha = None
        self.input_scale = None
        if "tau_mem" in model.values:
            self.alpha = self.leak_factor(model, rng)
            if model.scale_i:
                self.input_scale = F32(1.0) - self.alpha
        self.tau_refrac = None
        if model.tau_refrac is not None:
            self.tau_refrac = self.value(model, "tau_refrac", rng)
            self._initial["refrac_time"] = F32(0.0)
        self.reset_step = self.v_thresh - self.v_reset
        self.integrate_during_refrac = model.integrate_during_refrac
        self.relative_reset = model.relative_reset
        self.input = None

    def _integrate(self, v, isyn):
        """V <- alpha V + Isyn (input scaled by 1 - alpha with scale_i), in place."""
        if self.alpha is not None:
            v *= self.alpha
        if self.input_scale is not None:
            isyn = isyn * self.input_scale
        v += isyn

    def update(self, state, isyn, t):
        v = state["v"]
        if self.input is not None:
            isyn = self.input
        if self.tau_refrac is None:
            self._integrate(v, isyn)
            spikes = v >= self.v_thresh
        else:
            refrac = state["refrac_time"]
            refractory = refrac > 0
            if self.integrate_during_refrac:
                self._integrate(v, isyn)
            else:
                held = v.copy()
                self._integrate(v, isyn)
                v[...] = np.where(refractory, held, v)
            # x - 0 == x exactly, so this only changes refractory neurons
            refrac -= refractory * self.dt
            spikes = (v >= self.v_thresh) & (refrac <= 0)
        return spikes, np.flatnonzero(spikes)

    def reset(self, state, spikes, spiking):
        v = state["v"]
        if self.tau_refrac is not None:
            refrac = state["refrac_time"]
            refrac[...] = np.where(spikes, self.tau_refrac, refrac)
        if len(spiking):
            # Reset through the flat indices: spikes are sparse, so this touches
            # few elements (masked ufuncs are an order of magnitude slower)
            flat_v = v.reshape(-1)
            neuron = spiking % self.n
            if self.relative_reset:
                flat_v[spiking] -= _at(self.reset_step, neuron)
            else:
                flat_v[spiking] = _at(self.v_reset, neuron)


def _at(value, neuron):
    """A per-neuron value (scalar or (n,) array) at the given neurons."""
    return value if np.ndim(value) == 0 else value[neuron]


class LeakyIntegrateKernel(NeuronKernel):
    def __init__(self, model, shape, rng, dt):
        super().__init__(model, shape, rng, dt)
        self.alpha = self.leak_factor(model, rng)
        self.input_scale = (F32(1.0) - self.alpha) if model.scale_i else None
        self.bias = self.value(model, "bias", rng)
        self._initial["v"] = self.value(model, "v", rng)

    def update(self, state, isyn, t):
        v = state["v"]
        v *= self.alpha
        if self.input_scale is not None:
            isyn = isyn * self.input_scale
        v += isyn
        v += self.bias
        return None


class SpikeInputKernel(NeuronKernel):
    """Replays each example's spike trains: one pending spike per neuron per step."""

    def load_input(self, trains, example_indices):
        counts = np.array([len(train.spike_times) for train in trains], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)])
        ends = np.stack([np.asarray(train.end_spikes, dtype=np.int64) for train in trains])
        ends += offsets[:-1, None]
        self.next = np.concatenate([offsets[:-1, None], ends[:, :-1]], axis=1)
        self.end = ends
        # A sentinel after the last spike keeps the gather in bounds
        self.times = np.concatenate([np.asarray(train.spike_times, dtype=F32)
                                     for train in trains] + [np.array([np.inf], F32)])

    def update(self, state, isyn, t):
        pending = self.next < self.end
        spikes = pending & (self.times[self.next] <= t)
        self.next += spikes
        return spikes, np.flatnonzero(spikes)


class PoissonInputKernel(NeuronKernel):
    """Spikes with probability 1 - exp(-|rate| dt) per step; each example draws from
    its own stream seeded by (rng_seed, population, global example index), so
    results do not depend on batching or on which worker runs the example."""

    def __init__(self, model, shape, rng, dt, seed_key=()):
        super().__init__(model, shape, rng, dt)
        self.seed_key = seed_key

    def load_input(self, rates, example_indices):
        self.input = rates
        self.silent = np.exp(-np.abs(rates) * self.dt).astype(F32)
        # As mlGeNN: a draw for every neuron, but only positive rates spike
        self.positive = rates > 0
        self.streams = [np.random.default_rng(list(self.seed_key) + [int(i)])
                        for i in example_indices]

    def update(self, state, isyn, t):
        draws = np.stack([s.random(self.n, dtype=F32) for s in self.streams])
        spikes = (draws >= self.silent) & self.positive
        return spikes, np.flatnonzero(spikes)


class BinarySpikeInputKernel(NeuronKernel):
    def load_input(self, values, example_indices):
        self.input = values
        self.active = values > 0
        self.active_index = np.flatnonzero(self.active)

    def update(self, state, isyn, t):
        return self.active, self.active_index


KERNELS = {
    neurons.IntegrateFire: IntegrateFireKernel,
    neurons.IntegrateFireInput: IntegrateFireKernel,
    neurons.LeakyIntegrateFire: IntegrateFireKernel,
    neurons.LeakyIntegrateFireInput: IntegrateFireKernel,
    neurons.LeakyIntegrate: LeakyIntegrateKernel,
    neurons.SpikeInput: SpikeInputKernel,
    neurons.PoissonInput: PoissonInputKernel,
    neurons.BinarySpikeInput: BinarySpikeInputKernel,
}


def neuron_kernel(model, shape, rng, dt, seed_key):
    for cls in type(model).__mro__:
        if cls in KERNELS:
            kernel = KERNELS[cls]
            break
    else:
        raise TypeError(f"the numpy engine has no kernel for neuron model "
                        f"{type(model).__name__}")
    if kernel is PoissonInputKernel:
        return kernel(model, shape, rng, dt, seed_key)
    return kernel(model, shape, rng, dt)
