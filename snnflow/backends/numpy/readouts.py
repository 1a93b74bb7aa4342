"""NumPy kernels of the readouts, accumulated after each timestep's update."""
from __future__ import annotations

import numpy as np

from ... import readouts

F32 = np.float32
NO_SPIKE = np.finfo(F32).max


class ReadoutKernel:
    """Accumulates once per step, after the neuron update and the threshold test
    but before the reset (as mlGeNN's readouts, which run in the update code)."""

    def __init__(self, timesteps):
        self.timesteps = timesteps

    def reset(self, num_examples, num_neurons):
        self.value = np.zeros((num_examples, num_neurons), dtype=F32)

    def update(self, v, spikes, t):
        raise NotImplementedError

    def result(self, v):
        """The readout, given ``v`` as it is now (after the last step's reset)."""
        return self.value.copy()


class SpikeCountKernel(ReadoutKernel):
    def update(self, v, spikes, t):
        self.value += spikes


class VarKernel(ReadoutKernel):
    """``v`` at the end of the example: read then, not accumulated."""

    def reset(self, num_examples, num_neurons):
        pass

    def update(self, v, spikes, t):
        pass

    def result(self, v):
        return v.copy()


class AvgVarKernel(ReadoutKernel):
    def __init__(self, timesteps):
        super().__init__(timesteps)
        # mlGeNN multiplies by 1/T, computed in double and rounded
        self.scale = F32(1.0 / timesteps)

    def update(self, v, spikes, t):
        self.value += self.scale * v


class AvgVarExpWeightKernel(ReadoutKernel):
    """Adds exp(-t c) * float32(1/T) * v in the step at time t, c = float32(1 / (T dt)):
    the product t c in float32, the rest in double precision, rounded once when
    added, as the C++ mlGeNN generates for GeNN's CPU backend computes it (there
    exp of a float is C's double exp)."""

    def __init__(self, timesteps):
        super().__init__(timesteps)
        self.scale = np.float64(F32(1.0 / timesteps))
        self.time_scale = None

    def update(self, v, spikes, t):
        if t and self.time_scale is None:
            # Engines hand readouts the step's time, not dt; the first time that is
            # not 0 is step 1's, which is float32 dt exactly
            self.time_scale = time_scale(t, self.timesteps)
        weight = 1.0 if not t else np.exp(-np.float64(F32(t) * self.time_scale))
        self.value[...] = self.value + weight * self.scale * v.astype(np.float64)


def time_scale(dt, timesteps):
    """c = float32(1 / (T dt)) of AvgVarExpWeight, from float32 ``dt``."""
    return F32(1.0 / (float(F32(dt)) * timesteps))


class SumVarKernel(ReadoutKernel):
    def update(self, v, spikes, t):
        self.value += v


class MaxVarKernel(ReadoutKernel):
    """Starts from 0, as mlGeNN's: a neuron whose v stays negative reads 0."""

    def update(self, v, spikes, t):
        np.maximum(self.value, v, out=self.value)


class FirstSpikeTimeKernel(ReadoutKernel):
    def reset(self, num_examples, num_neurons):
        self.value = np.full((num_examples, num_neurons), NO_SPIKE, dtype=F32)

    def update(self, v, spikes, t):
        self.value[...] = np.where(spikes & (self.value == NO_SPIKE), t, self.value)

    def result(self, v):
        return -self.value


KERNELS = {readouts.SpikeCount: SpikeCountKernel, readouts.Var: VarKernel,
           readouts.AvgVar: AvgVarKernel, readouts.AvgVarExpWeight: AvgVarExpWeightKernel,
           readouts.SumVar: SumVarKernel,
           readouts.MaxVar: MaxVarKernel, readouts.FirstSpikeTime: FirstSpikeTimeKernel}


def readout_kernel(readout, timesteps):
    try:
        return KERNELS[type(readout)](timesteps)
    except KeyError:
        raise TypeError(f"the numpy engine has no kernel for readout "
                        f"{type(readout).__name__}") from None
