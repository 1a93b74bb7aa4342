from .few_spike_relu_input import FewSpikeReluInput, check_few_spike_params
from .neuron import Neuron


class FewSpikeRelu(Neuron):
    """A few-spike neuron coding a ReLU activation (Stöckl and Maass 2021), as
    mlGeNN's. Over one presentation of ``k`` timesteps it accumulates its input
    spikes, each weighted by the value its source's spike step stands for, in
    ``Fx``; at the next presentation's first step that sum becomes ``V``, which it
    codes in binary over ``k`` steps (a spike in step i subtracts alpha 2^-(i+1)),
    so a negative sum never spikes. Runs in networks compiled by FewSpikeCompiler,
    which pipelines the layers; the ``var`` readout reads ``Fx``."""

    genn_state = {"V": "v", "Fx": "fx"}

    def __init__(self, k=10, alpha=25, readout=None):
        super().__init__(readout)
        self.k, self.alpha = check_few_spike_params(self, k, alpha)

    @property
    def scale(self) -> float:
        """The value of the last (smallest) step's spike: alpha 2^-k."""
        return self.alpha * 2.0 ** -self.k

    def upstream(self, pop):
        """(alpha, signed input) of the few-spike populations feeding ``pop``, whose
        spikes it decodes; its own alpha and unsigned when nothing feeds it."""
        alphas, signs = set(), set()
        for conn in pop.incoming_connections:
            source = conn.source.neuron
            if not isinstance(source, (FewSpikeRelu, FewSpikeReluInput)):
                raise TypeError(f"population {pop.name}: FewSpikeRelu takes input from "
                                f"few-spike populations only, but {conn.source.name} is "
                                f"{type(source).__name__}")
            if source.k != self.k:
                raise ValueError(f"population {pop.name}: k={self.k}, but its source "
                                 f"{conn.source.name} has k={source.k}; k must be the "
                                 f"same across the network")
            alphas.add(source.alpha)
            signs.add(getattr(source, "signed_input", False))
        if len(alphas) > 1:
            raise ValueError(f"population {pop.name}: its sources have different alphas "
                             f"{sorted(alphas)}; they must share one")
        if len(signs) > 1:
            raise ValueError(f"population {pop.name}: its sources mix signed and unsigned "
                             f"input")
        if not alphas:
            return self.alpha, False
        return alphas.pop(), signs.pop()

    def __repr__(self):
        return f"FewSpikeRelu(k={self.k}, alpha={self.alpha}, readout={self.readout!r})"
