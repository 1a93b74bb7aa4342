"""The synapse models' kernels: the constants with which the CPU engine turns a
connection's inSyn into current each step."""
from __future__ import annotations

import numpy as np

from ... import synapses

F32 = np.float32


class DeltaKernel:
    """Injects everything delivered in a step, in that step; nothing to derive."""


class ExponentialKernel:
    """Injects inSyn (times ``scale`` with scale_i) and then decays it by ``decay``."""

    def __init__(self, model, dt):
        self.decay = F32(np.exp(-dt / model.tau))
        self.scale = F32(model.tau / dt * (1.0 - np.exp(-dt / model.tau))) if model.scale_i \
            else None


def synapse_kernel(model, dt):
    if type(model) is synapses.Delta:
        return DeltaKernel()
    if type(model) is synapses.Exponential:
        return ExponentialKernel(model, dt)
    raise TypeError(f"the numpy engine has no kernel for synapse model {type(model).__name__}")
