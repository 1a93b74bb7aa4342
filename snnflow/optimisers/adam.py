import numpy as np

from .optimiser import Optimiser


class AdamState:
    def __init__(self, shape):
        self.m = np.zeros(shape)
        self.v = np.zeros(shape)
        self.steps = 0


class Adam(Optimiser):
    """Adam (Kingma and Ba 2015) with bias-corrected moments; moments in float64."""

    params = ("alpha", "beta1", "beta2", "epsilon")

    def __init__(self, alpha=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
        for name, value in (("alpha", alpha), ("epsilon", epsilon)):
            if not value > 0:
                raise ValueError(f"Adam {name} must be > 0, got {value!r}")
        for name, value in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= value < 1:
                raise ValueError(f"Adam {name} must be in [0, 1), got {value!r}")
        self.alpha = alpha
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def state(self, shape):
        return AdamState(shape)

    def step(self, value, gradient, state):
        state.steps += 1
        state.m *= self.beta1
        state.m += (1.0 - self.beta1) * gradient
        state.v *= self.beta2
        state.v += (1.0 - self.beta2) * gradient * gradient
        m_hat = state.m / (1.0 - self.beta1 ** state.steps)
        v_hat = state.v / (1.0 - self.beta2 ** state.steps)
        value -= (self.alpha * m_hat / (np.sqrt(v_hat) + self.epsilon)).astype(value.dtype)
