"""The per-step arithmetic of the NumPy step loop the compiled CPU engine replaced,
used only by bench/reference_engine.py (the reference the compiled engine is
checked and timed against).

The library's kernel classes (snnflow/backends/numpy/{neurons,readouts,synapses,
propagation}.py) resolve a model's values, inputs and weights; the classes here
add what the reference does with them each step, on batched (examples, neurons)
float32 arrays: the neuron update and reset, the readouts' accumulation, the
synapses' current and event-driven spike delivery."""
from __future__ import annotations

from collections import deque

import numpy as np
import scipy.sparse

from snnflow.backends.numpy import neurons as nk
from snnflow.backends.numpy import readouts as rk
from snnflow.backends.numpy.propagation import DelayedPropagator
from snnflow.backends.numpy.synapses import ExponentialKernel

F32 = np.float32

#: Up to this many examples, gathering rows with NumPy beats building a sparse
#: pattern (scipy's set-up costs ~100 us a call); both add rows in the same order.
SMALL_BATCH = 2


# ------------------------------------------------------------------------ neurons
#
# ``update(state, isyn, t)`` runs one step in place on the (examples, neurons)
# state, up to the threshold test, and returns (spikes bool (examples, neurons),
# flat indices of the spiking elements), or None for a non-spiking model; readouts
# see the state at this point. ``reset(state, spikes, spiking)`` then resets the
# neurons that spiked. Signed spike sources keep their negative spikes of the
# last step in ``negative``.

class Steps:
    """What every neuron kernel of the reference has: no negative spikes, and no
    reset unless the model defines one."""

    negative = None

    def reset(self, state, spikes, spiking):
        pass


class IntegrateFireSteps(Steps, nk.IntegrateFireKernel):
    """IntegrateFire, LeakyIntegrateFire and their Input variants."""

    def _integrate(self, v, isyn):
        """V <- alpha V + Isyn (input scaled by 1 - alpha with scale_i), in place."""
        if self.alpha is not None:
            v *= self.alpha
        if self.input_scale is not None:
            isyn = isyn * self.input_scale
        v += isyn

    def update(self, state, isyn, t):
        v = state["v"]
        self._show_frame(t)
        if self.input is not None:
            isyn = self.input
        if self.tau_refrac is None:
            self._integrate(v, isyn)
            spikes = v >= self.v_thresh
        else:
            refrac = self._integrate_refractory(state, v, isyn)
            spikes = (v >= self.v_thresh) & (refrac <= 0)
        return spikes, np.flatnonzero(spikes)

    def _integrate_refractory(self, state, v, isyn):
        """Integrate, holding V of refractory neurons unless integrate_during_refrac,
        and count their refractory time down; the refractory times."""
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
        return refrac

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


class AdaptiveLeakyIntegrateFireSteps(IntegrateFireSteps, nk.AdaptiveLeakyIntegrateFireKernel):
    """LeakyIntegrateFire's update and reset plus the adaptation A: decays by rho
    every step, raises the threshold to v_thresh + beta A, and grows by 1 at each
    spike."""

    def update(self, state, isyn, t):
        v, a = state["v"], state["a"]
        if self.tau_refrac is None:
            self._integrate(v, isyn)
            a *= self.rho
            spikes = v >= self.v_thresh + self.beta * a
        else:
            refrac = self._integrate_refractory(state, v, isyn)
            a *= self.rho
            spikes = (v >= self.v_thresh + self.beta * a) & (refrac <= 0)
        return spikes, np.flatnonzero(spikes)

    def reset(self, state, spikes, spiking):
        super().reset(state, spikes, spiking)
        if len(spiking):
            state["a"].reshape(-1)[spiking] += F32(1.0)


class LeakyIntegrateSteps(Steps, nk.LeakyIntegrateKernel):
    def update(self, state, isyn, t):
        v = state["v"]
        v *= self.alpha
        if self.input_scale is not None:
            isyn = isyn * self.input_scale
        v += isyn
        v += self.bias
        return None


class SpikeInputSteps(Steps, nk.SpikeInputKernel):
    """Replays each example's spike trains: one pending spike per neuron per step."""

    def update(self, state, isyn, t):
        pending = self.next < self.end
        spikes = pending & (self.times[self.next] <= t)
        self.next += spikes
        return spikes, np.flatnonzero(spikes)


class SignedSteps(Steps):
    """Value-driven spike sources; with ``signed_spikes`` the neurons with negative
    values emit negative spikes, kept in ``negative`` as (bool (examples, neurons),
    flat indices) each step, whose delivery subtracts the weights."""

    def _signed(self, fired):
        """Positive spikes of the neurons that ``fired``; their negative spikes kept."""
        if self.signed:
            negative = fired & self.below
            self.negative = (negative, np.flatnonzero(negative))
        return fired & self.above


class PoissonInputSteps(SignedSteps, nk.PoissonInputKernel):
    """Fires with probability 1 - exp(-|rate| dt) per step, from each example's
    stream (``streams``, one float32 draw per neuron per step)."""

    def _take_input(self, rates):
        super()._take_input(rates)
        self.silent = np.exp(-np.abs(rates) * self.dt).astype(F32)
        # As mlGeNN: a draw for every neuron, but only positive rates spike
        self.above = rates > 0
        self.below = rates < 0

    def update(self, state, isyn, t):
        self._show_frame(t)
        draws = np.stack([s.random(self.n, dtype=F32) for s in self.streams])
        spikes = self._signed(draws >= self.silent)
        return spikes, np.flatnonzero(spikes)


class BinarySpikeInputSteps(SignedSteps, nk.BinarySpikeInputKernel):
    def _take_input(self, values):
        super()._take_input(values)
        self.above = values > 0
        self.below = values < 0
        self.spikes = self._signed(values != 0)
        self.spiking = np.flatnonzero(self.spikes)

    def update(self, state, isyn, t):
        self._show_frame(t)
        return self.spikes, self.spiking


class FewSpikeReluInputSteps(Steps, nk.FewSpikeReluInputKernel):
    """Codes V, set to the example's value at the presentation's first step, as a
    binary number: in step i a spike if V >= h_i, then V <- V - h_i, with
    h_i = scale 2^(k-1-i) (signed input: even steps positive against h_(i/2), odd
    steps negative, V < -h_((i-1)/2), then V <- V + h)."""

    def update(self, state, isyn, t):
        step = nk._pipeline_step(t, self.dt)
        v = state["v"]
        if step == 0:
            v[...] = self.input
        if not self.signed:
            self.step_value = self.scale * F32(1 << (self.k - 1 - step))
            spikes = v >= self.step_value
        elif step % 2 == 0:
            self.step_value = self.scale * F32(1 << (self.k // 2 - 1 - step // 2))
            spikes = v >= self.step_value
        else:
            threshold = self.scale * F32(1 << (self.k // 2 - 1 - step // 2))
            spikes = v < -threshold
            self.step_value = -threshold
        return spikes, np.flatnonzero(spikes)

    def reset(self, state, spikes, spiking):
        if len(spiking):
            # V - (-h) is V + h exactly
            state["v"].reshape(-1)[spiking] -= self.step_value


class FewSpikeReluSteps(Steps, nk.FewSpikeReluKernel):
    """Fx gathers the spikes delivered during a presentation, each times the value
    its source's step stands for: d = src_scale 2^((k - i) mod k) in step i (the
    spike was sent in step i - 1); signed sources alternate the sign and halve the
    exponent. At the first step Fx becomes V (and restarts from 0), which is then
    coded as FewSpikeReluInput codes its value."""

    def update(self, state, isyn, t):
        step = nk._pipeline_step(t, self.dt)
        k = self.k
        self.step_value = self.scale * F32(1 << (k - 1 - step))
        if self.source_signed:
            sign = F32(-1.0) if step % 2 == 0 else F32(1.0)
            weight = sign * self.source_scale * F32(1 << (((k - step) % k) // 2))
        else:
            weight = self.source_scale * F32(1 << ((k - step) % k))
        v, fx = state["v"], state["fx"]
        fx += isyn * weight
        if step == 0:
            v[...] = fx
            fx[...] = 0.0
        spikes = v >= self.step_value
        return spikes, np.flatnonzero(spikes)

    def reset(self, state, spikes, spiking):
        if len(spiking):
            state["v"].reshape(-1)[spiking] -= self.step_value


#: the library's kernel class -> the reference's, which adds the step
NEURON_STEPS = {
    nk.IntegrateFireKernel: IntegrateFireSteps,
    nk.AdaptiveLeakyIntegrateFireKernel: AdaptiveLeakyIntegrateFireSteps,
    nk.LeakyIntegrateKernel: LeakyIntegrateSteps,
    nk.SpikeInputKernel: SpikeInputSteps,
    nk.PoissonInputKernel: PoissonInputSteps,
    nk.BinarySpikeInputKernel: BinarySpikeInputSteps,
    nk.FewSpikeReluKernel: FewSpikeReluSteps,
    nk.FewSpikeReluInputKernel: FewSpikeReluInputSteps,
}


def neuron_kernel(model, shape, rng, dt, seed_key):
    """The reference's kernel of a neuron model: the class the library's
    ``neuron_kernel`` picks, with its step; built from the same arguments, so it
    draws the same initial values."""
    for cls in type(model).__mro__:
        if cls in nk.KERNELS:
            kernel = NEURON_STEPS[nk.KERNELS[cls]]
            break
    else:
        raise TypeError(f"the reference engine has no kernel for neuron model "
                        f"{type(model).__name__}")
    if issubclass(kernel, nk.PoissonInputKernel):
        return kernel(model, shape, rng, dt, seed_key)
    return kernel(model, shape, rng, dt)


# ----------------------------------------------------------------------- readouts
#
# Readouts accumulate once per step, after the neuron update and the threshold
# test but before the reset (as mlGeNN's readouts, which run in the update code):
# ``reset(num_examples, num_neurons)`` starts a batch, ``update(v, spikes, t)``
# accumulates a step.

class AccumulatorSteps:
    """Readouts that accumulate from 0 over each batch."""

    def reset(self, num_examples, num_neurons):
        self.value = np.zeros((num_examples, num_neurons), dtype=F32)


class SpikeCountSteps(AccumulatorSteps, rk.SpikeCountKernel):
    def update(self, v, spikes, t):
        self.value += spikes


class VarSteps(rk.VarKernel):
    """``v`` at the end of the example: read then, not accumulated."""

    def reset(self, num_examples, num_neurons):
        pass

    def update(self, v, spikes, t):
        pass


class AvgVarSteps(AccumulatorSteps, rk.AvgVarKernel):
    def update(self, v, spikes, t):
        self.value += self.scale * v


class AvgVarExpWeightSteps(AccumulatorSteps, rk.AvgVarExpWeightKernel):
    """Adds exp(-t c) * float32(1/T) * v in the step at time t, c = float32(1 / (T dt)):
    the product t c in float32, the rest in double precision, rounded once when
    added."""

    time_scale = None

    def update(self, v, spikes, t):
        if t and self.time_scale is None:
            # Engines hand readouts the step's time, not dt; the first time that is
            # not 0 is step 1's, which is float32 dt exactly
            self.time_scale = rk.time_scale(t, self.timesteps)
        weight = 1.0 if not t else np.exp(-np.float64(F32(t) * self.time_scale))
        self.value[...] = self.value + weight * self.scale * v.astype(np.float64)


class SumVarSteps(AccumulatorSteps, rk.SumVarKernel):
    def update(self, v, spikes, t):
        self.value += v


class MaxVarSteps(AccumulatorSteps, rk.MaxVarKernel):
    """Starts from 0, as mlGeNN's: a neuron whose v stays negative reads 0."""

    def update(self, v, spikes, t):
        np.maximum(self.value, v, out=self.value)


class FirstSpikeTimeSteps(rk.FirstSpikeTimeKernel):
    def reset(self, num_examples, num_neurons):
        self.value = np.full((num_examples, num_neurons), rk.NO_SPIKE, dtype=F32)

    def update(self, v, spikes, t):
        self.value[...] = np.where(spikes & (self.value == rk.NO_SPIKE), t, self.value)


#: the library's readout kernel class -> the reference's, which adds the step
READOUT_STEPS = {
    rk.SpikeCountKernel: SpikeCountSteps, rk.VarKernel: VarSteps,
    rk.AvgVarKernel: AvgVarSteps, rk.AvgVarExpWeightKernel: AvgVarExpWeightSteps,
    rk.SumVarKernel: SumVarSteps, rk.MaxVarKernel: MaxVarSteps,
    rk.FirstSpikeTimeKernel: FirstSpikeTimeSteps,
}


def readout_kernel(readout, timesteps):
    try:
        return READOUT_STEPS[rk.KERNELS[type(readout)]](timesteps)
    except KeyError:
        raise TypeError(f"the reference engine has no kernel for readout "
                        f"{type(readout).__name__}") from None


# ----------------------------------------------------------------------- synapses

def synaptic_current(synapse, in_syn):
    """This step's current from a connection's inSyn (its synapse kernel from the
    library's ``synapse_kernel``), and inSyn's decay in place: a Delta synapse
    injects everything delivered this step and clears it; an Exponential one
    injects inSyn (times scale with scale_i) and decays it."""
    if isinstance(synapse, ExponentialKernel):
        current = in_syn * synapse.scale if synapse.scale is not None else in_syn.copy()
        in_syn *= synapse.decay
        return current
    current = in_syn.copy()
    in_syn.fill(0)
    return current


# --------------------------------------------------------------------- delivery

class Delivery:
    """Delivers a population's spikes through one connection's weights (its
    library ``Propagator``), event-driven: for each example, the weight rows of its
    spiking neurons are added in ascending neuron order, as GeNN's CPU backend does.

    Always event-driven, never a dense matrix product, on purpose: a BLAS product
    sums in an order that depends on the batch's shape, so an example's float32
    input would then depend on which examples share its batch."""

    def __init__(self, propagator):
        self.propagator = propagator

    def deliver(self, spikes: np.ndarray, spiking: np.ndarray, in_syn: np.ndarray):
        """in_syn += spikes @ matrix; ``spiking`` are the flat indices of the spikes."""
        if len(spiking) == 0:
            return
        num_examples, num_pre = spikes.shape
        rows, cols = np.divmod(spiking, num_pre)
        _add_rows(self.propagator.matrix, self.propagator.dense, rows, cols, num_examples,
                  in_syn)

    def forget(self):
        """Drop spikes in flight inside the connection (none without delays)."""


class DelayedDelivery(Delivery):
    """Delivery with synaptic delays (a ``DelayedPropagator``): a spike emitted in
    step t reaches in_syn through a synapse of delay d in step t + 1 + d.

    The connection keeps the spikes of the last ``max_delay + 1`` steps and, each
    step, pulls from them what arrives now: in one product, the spikes of age a
    (a steps before the last step) times the weights whose delay is a. The stacked
    matrix holds one block of rows per delay present, largest delay (oldest
    spikes) first, so each target's arrivals are added one by one from 0 in the
    order GeNN's dendritic delay buffer receives them: by emission step, then by
    ascending source neuron. The sum is independent of the batch, as without delays."""

    def __init__(self, propagator):
        super().__init__(propagator)
        self._history = deque(maxlen=int(propagator.ages.max()) + 1)

    def deliver(self, spikes, spiking, in_syn):
        self._history.appendleft(spiking)
        num_examples, num_pre = spikes.shape
        ages = self.propagator.ages
        rows, cols = [], []
        for block, age in enumerate(ages):
            if age < len(self._history) and len(self._history[age]):
                block_rows, block_cols = np.divmod(self._history[age], num_pre)
                rows.append(block_rows)
                cols.append(block_cols + block * num_pre)
        if not rows:
            return
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        if len(ages) > 1:
            # Blocks are in order and each block's spikes ascend: a stable sort by
            # example keeps both orders within every example
            order = np.argsort(rows, kind="stable")
            rows, cols = rows[order], cols[order]
        _add_rows(self.propagator.stacked, self.propagator.stacked_dense, rows, cols,
                  num_examples, in_syn)

    def forget(self):
        self._history.clear()


def delivery(propagator):
    """The delivery of a library propagator: delayed when it holds delays."""
    if isinstance(propagator, DelayedPropagator):
        return DelayedDelivery(propagator)
    return Delivery(propagator)


def _add_rows(matrix, dense, rows, cols, num_examples, in_syn):
    """in_syn[e] += the sum of matrix rows ``cols[rows == e]``, added one by one in
    the given order (ascending within each example)."""
    if dense and num_examples <= SMALL_BATCH:
        # cumsum adds the rows one after another, in order (a reduction may
        # sum pairwise, e.g. for a single target neuron)
        for row in np.unique(rows):
            in_syn[row] += np.cumsum(matrix[cols[rows == row]], axis=0)[-1]
        return
    row_ends = np.cumsum(np.bincount(rows, minlength=num_examples))
    pattern = scipy.sparse.csr_array(
        (np.ones(len(cols), dtype=F32), cols, np.concatenate([[0], row_ends])),
        shape=(num_examples, matrix.shape[0]))
    product = pattern @ matrix
    in_syn += product if dense else product.toarray()
