"""The readouts' kernels: what the CPU engine's compiled kernels need to accumulate
a readout (once per step, after the neuron update and the threshold test but
before the reset, as mlGeNN's readouts, which run in the update code), and the
readout's value at the end of a batch."""
from __future__ import annotations

import numpy as np

from ... import readouts

F32 = np.float32
NO_SPIKE = np.finfo(F32).max


class ReadoutKernel:
    def __init__(self, timesteps):
        self.timesteps = timesteps
        #: (examples, neurons) float32 accumulator: the engine's view of it, set
        #: when it allocates the batch's buffers (None for Var, which reads v)
        self.value = None

    def result(self, v):
        """The readout, given ``v`` as it is now (after the last step's reset)."""
        return self.value.copy()


class SpikeCountKernel(ReadoutKernel):
    pass


class VarKernel(ReadoutKernel):
    """``v`` at the end of the example: read then, not accumulated."""

    def result(self, v):
        return v.copy()


class AvgVarKernel(ReadoutKernel):
    def __init__(self, timesteps):
        super().__init__(timesteps)
        # mlGeNN multiplies by 1/T, computed in double and rounded
        self.scale = F32(1.0 / timesteps)


class AvgVarExpWeightKernel(ReadoutKernel):
    """Adds exp(-t c) * float32(1/T) * v in the step at time t, c = float32(1 / (T dt)):
    the product t c in float32, the rest in double precision, rounded once when
    added, as the C++ mlGeNN generates for GeNN's CPU backend computes it (there
    exp of a float is C's double exp)."""

    def __init__(self, timesteps):
        super().__init__(timesteps)
        self.scale = np.float64(F32(1.0 / timesteps))


def time_scale(dt, timesteps):
    """c = float32(1 / (T dt)) of AvgVarExpWeight, from float32 ``dt``."""
    return F32(1.0 / (float(F32(dt)) * timesteps))


class SumVarKernel(ReadoutKernel):
    pass


class MaxVarKernel(ReadoutKernel):
    """Starts from 0, as mlGeNN's: a neuron whose v stays negative reads 0."""


class FirstSpikeTimeKernel(ReadoutKernel):
    """The time of each neuron's first spike, NO_SPIKE until then; the readout is
    its negation."""

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
