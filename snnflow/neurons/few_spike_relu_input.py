import numbers

from .input import InputBase


def check_few_spike_params(model, k, alpha):
    """k: steps a value is coded over (the 1 << (k - 1) of GeNN's code is an int);
    alpha: the largest value coded, a positive number."""
    name = type(model).__name__
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= 31:
        raise ValueError(f"{name}: k must be an int from 1 to 31 (timesteps a value is "
                         f"coded over), got {k!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not alpha > 0:
        raise ValueError(f"{name}: alpha must be a number > 0 (the largest value "
                         f"coded), got {alpha!r}")
    return int(k), alpha


class FewSpikeReluInput(InputBase):
    """Few-spike coding of a ReLU network's input (Stöckl and Maass 2021), as
    mlGeNN's: each example's value per neuron is coded in binary over ``k``
    timesteps, the spike in step i of the ``k`` worth alpha 2^-(i+1) (with
    ``signed_input``, even steps code positive and odd steps negative values, over
    k/2 bits each). Runs in networks compiled by FewSpikeCompiler."""

    genn_state = {"V": "v"}

    def __init__(self, k=10, alpha=25, signed_input=False):
        super().__init__()
        self.k, self.alpha = check_few_spike_params(self, k, alpha)
        self.signed_input = bool(signed_input)
        if self.signed_input and self.k % 2:
            raise ValueError(f"FewSpikeReluInput: signed_input alternates positive and "
                             f"negative steps and needs an even k, got k={k!r}")

    @property
    def scale(self) -> float:
        """The value of the last (smallest) step's spike: alpha 2^-k, or alpha
        2^-(k/2) with signed input."""
        return self.alpha * 2.0 ** (-(self.k // 2) if self.signed_input else -self.k)

    def __repr__(self):
        return (f"FewSpikeReluInput(k={self.k}, alpha={self.alpha}, "
                f"signed_input={self.signed_input})")
