"""NumPy kernels of the readouts, accumulated after each timestep's update."""
from __future__ import annotations

import numpy as np

from ... import readouts

F32 = np.float32
NO_SPIKE = np.finfo(F32).max


class ReadoutKernel:
    def __init__(self, timesteps):
        self.timesteps = F32(timesteps)

    def reset(self, num_examples, num_neurons):
        self.value = np.zeros((num_examples, num_neurons), dtype=F32)

    def update(self, v, spikes, t):
        raise NotImplementedError

    def result(self):
        return self.value.copy()


class SpikeCountKernel(ReadoutKernel):
    def update(self, v, spikes, t):
        self.value += spikes


class VarKernel(ReadoutKernel):
    def update(self, v, spikes, t):
        np.copyto(self.value, v)


class AvgVarKernel(ReadoutKernel):
    def update(self, v, spikes, t):
        self.value += v / self.timesteps


class SumVarKernel(ReadoutKernel):
    def update(self, v, spikes, t):
        self.value += v


class MaxVarKernel(ReadoutKernel):
    def reset(self, num_examples, num_neurons):
        self.value = np.full((num_examples, num_neurons), -np.inf, dtype=F32)

    def update(self, v, spikes, t):
        np.maximum(self.value, v, out=self.value)


class FirstSpikeTimeKernel(ReadoutKernel):
    def reset(self, num_examples, num_neurons):
        self.value = np.full((num_examples, num_neurons), NO_SPIKE, dtype=F32)

    def update(self, v, spikes, t):
        self.value[...] = np.where(spikes & (self.value == NO_SPIKE), t, self.value)

    def result(self):
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
