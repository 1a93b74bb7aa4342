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
           readouts.AvgVar: AvgVarKernel, readouts.SumVar: SumVarKernel,
           readouts.MaxVar: MaxVarKernel, readouts.FirstSpikeTime: FirstSpikeTimeKernel}


def readout_kernel(readout, timesteps):
    try:
        return KERNELS[type(readout)](timesteps)
    except KeyError:
        raise TypeError(f"the numpy engine has no kernel for readout "
                        f"{type(readout).__name__}") from None
