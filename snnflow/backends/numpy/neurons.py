"""The neuron models' kernels: one population's values as the CPU engine runs them
(float32, initializers drawn, derived constants rounded as GeNN rounds them), its
initial state and its batch's input. The compiled kernels (kernels.py) run the
steps from these values; EventProp and the GeNN engine read the same ones."""
from __future__ import annotations

import numpy as np

from ... import neurons
from ...utils.value import resolve_value

F32 = np.float32


class NeuronKernel:
    """One population's values of one neuron model.

    ``initial_state`` gives each state variable's value per neuron, ``params`` the
    model's values as resolved for the population, ``input`` the batch's input."""

    def __init__(self, model, shape, rng, dt):
        self.model = model
        self.shape = shape
        self.n = int(np.prod(shape))
        self.dt = F32(dt)
        self.dt_double = float(dt)
        self._initial = {}
        #: the model's values as resolved for this population (initializers drawn)
        self.params = {}
        #: input models: the batch's values (examples, neurons), for frame inputs
        #: those of the frame shown now
        self.input = None
        self.frames = getattr(model, "input_frames", 1)
        # As GeNN's code: t / (input_frame_timesteps * dt), in float32
        self._frame_span = F32(getattr(model, "input_frame_timesteps", 1)) * self.dt
        self._frame = None

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
        """Take the batch's input (input models only): (examples, neurons), or
        (examples, frames, neurons) for a model with input frames."""
        if self.frames == 1:
            self._take_input(values)
        else:
            self._frame_values = values
            self._frame = None

    def _take_input(self, values):
        """Use ``values`` (examples, neurons) as the input from this step on."""
        self.input = values

    def _show_frame(self, t):
        """Frame inputs: switch to the frame of the step at time ``t``, which is
        min(floor(t / (input_frame_timesteps dt)), input_frames - 1) (mlGeNN's rule)."""
        if self.frames == 1:
            return
        frame = min(int(F32(t) / self._frame_span), self.frames - 1)
        if frame != self._frame:
            self._frame = frame
            self._take_input(np.ascontiguousarray(self._frame_values[:, frame]))

    def parameter(self, name, num_examples):
        """(examples, neurons) float32 of model value ``name`` or the batch's input."""
        if name == "input" and self.input is not None:
            return np.asarray(self.input, dtype=F32).reshape(num_examples, self.n)
        if name not in self.params:
            raise KeyError(name)
        return np.broadcast_to(np.asarray(self.params[name], dtype=F32),
                               (num_examples, self.n))


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
            if getattr(model, "scale_i", False):
                self.input_scale = F32(1.0) - self.alpha
        self.tau_refrac = None
        if model.tau_refrac is not None:
            self.tau_refrac = self.value(model, "tau_refrac", rng)
            self._initial["refrac_time"] = F32(0.0)
        self.reset_step = self.v_thresh - self.v_reset
        self.integrate_during_refrac = model.integrate_during_refrac
        self.relative_reset = model.relative_reset


class LeakyIntegrateKernel(NeuronKernel):
    def __init__(self, model, shape, rng, dt):
        super().__init__(model, shape, rng, dt)
        self.alpha = self.leak_factor(model, rng)
        self.input_scale = (F32(1.0) - self.alpha) if model.scale_i else None
        self.bias = self.value(model, "bias", rng)
        self._initial["v"] = self.value(model, "v", rng)


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


class SignedInputKernel(NeuronKernel):
    """Value-driven spike sources; with ``signed_spikes`` the neurons with negative
    values emit negative spikes, whose delivery subtracts the weights."""

    def __init__(self, model, shape, rng, dt):
        super().__init__(model, shape, rng, dt)
        self.signed = model.signed_spikes


class PoissonInputKernel(SignedInputKernel):
    """Fires with probability 1 - exp(-|rate| dt) per step; each example draws from
    its own stream seeded by (rng_seed, population, global example index), so
    results do not depend on batching or on which worker runs the example."""

    def __init__(self, model, shape, rng, dt, seed_key=()):
        super().__init__(model, shape, rng, dt)
        self.seed_key = seed_key

    def load_input(self, rates, example_indices):
        super().load_input(rates, example_indices)
        self.streams = [np.random.default_rng(list(self.seed_key) + [int(i)])
                        for i in example_indices]


class BinarySpikeInputKernel(SignedInputKernel):
    """Spikes every step where the value is not 0."""


class AdaptiveLeakyIntegrateFireKernel(IntegrateFireKernel):
    """LeakyIntegrateFire plus the adaptation A: decays by rho every step, raises
    the threshold to v_thresh + beta A, and grows by 1 at each spike."""

    def __init__(self, model, shape, rng, dt):
        super().__init__(model, shape, rng, dt)
        self._initial["a"] = self.value(model, "a", rng)
        self.beta = self.value(model, "beta", rng)
        tau_adapt = self.value(model, "tau_adapt", rng, np.float64)
        if np.any(tau_adapt <= 0):
            raise ValueError(f"{type(model).__name__}.tau_adapt must be > 0 ms everywhere")
        rho = np.exp(-self.dt_double / tau_adapt)
        self.rho = F32(rho) if np.ndim(rho) == 0 else rho.astype(F32)


def _pipeline_step(t, dt):
    """The step within a few-spike presentation: (int)(t / dt), as GeNN's code."""
    return int(F32(t) / dt)


def _check_few_spike_build(model):
    if not hasattr(model, "_upstream"):
        raise TypeError(f"{type(model).__name__} runs in networks compiled by "
                        f"FewSpikeCompiler, which pipelines its k timesteps")


class FewSpikeReluInputKernel(NeuronKernel):
    """Codes V, set to the example's value at the presentation's first step, as a
    binary number: in step i a spike if V >= h_i, then V <- V - h_i, with
    h_i = scale 2^(k-1-i) (signed input: even steps positive against h_(i/2), odd
    steps negative, V < -h_((i-1)/2), then V <- V + h)."""

    def __init__(self, model, shape, rng, dt):
        super().__init__(model, shape, rng, dt)
        _check_few_spike_build(model)
        self.k = model.k
        self.signed = model.signed_input
        self.scale = F32(model.scale)
        self._initial["v"] = F32(0.0)


class FewSpikeReluKernel(NeuronKernel):
    """Fx gathers the spikes delivered during a presentation, each times the value
    its source's step stands for: d = src_scale 2^((k - i) mod k) in step i (the
    spike was sent in step i - 1); signed sources alternate the sign and halve the
    exponent. At the first step Fx becomes V (and restarts from 0), which is then
    coded as FewSpikeReluInput codes its value."""

    def __init__(self, model, shape, rng, dt):
        super().__init__(model, shape, rng, dt)
        _check_few_spike_build(model)
        self.k = model.k
        self.scale = F32(model.scale)
        source_alpha, self.source_signed = model._upstream
        exponent = -(self.k // 2) if self.source_signed else -self.k
        self.source_scale = F32(source_alpha * 2.0 ** exponent)
        self._initial["v"] = F32(0.0)
        self._initial["fx"] = F32(0.0)


KERNELS = {
    neurons.IntegrateFire: IntegrateFireKernel,
    neurons.IntegrateFireInput: IntegrateFireKernel,
    neurons.LeakyIntegrateFire: IntegrateFireKernel,
    neurons.LeakyIntegrateFireInput: IntegrateFireKernel,
    neurons.AdaptiveLeakyIntegrateFire: AdaptiveLeakyIntegrateFireKernel,
    neurons.LeakyIntegrate: LeakyIntegrateKernel,
    neurons.SpikeInput: SpikeInputKernel,
    neurons.PoissonInput: PoissonInputKernel,
    neurons.BinarySpikeInput: BinarySpikeInputKernel,
    neurons.FewSpikeRelu: FewSpikeReluKernel,
    neurons.FewSpikeReluInput: FewSpikeReluInputKernel,
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
