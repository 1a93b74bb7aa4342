"""NumPy kernels of the synapse models: inSyn -> current, per connection."""
from __future__ import annotations

import numpy as np

from ... import synapses

F32 = np.float32


class DeltaKernel:
    def current(self, in_syn):
        """Inject everything delivered this step, then clear it."""
        current = in_syn.copy()
        in_syn.fill(0)
        return current


class ExponentialKernel:
    def __init__(self, model, dt):
        self.decay = F32(np.exp(-dt / model.tau))
        self.scale = F32(model.tau / dt * (1.0 - np.exp(-dt / model.tau))) if model.scale_i \
            else None

    def current(self, in_syn):
        current = in_syn * self.scale if self.scale is not None else in_syn.copy()
        in_syn *= self.decay
        return current


def synapse_kernel(model, dt):
    if type(model) is synapses.Delta:
        return DeltaKernel()
    if type(model) is synapses.Exponential:
        return ExponentialKernel(model, dt)
    raise TypeError(f"the numpy engine has no kernel for synapse model {type(model).__name__}")
