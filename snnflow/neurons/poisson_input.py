from .input import SignedSpikeSource


class PoissonInput(SignedSpikeSource):
    """Poisson spike source: the example's value per neuron is a rate (spikes/ms);
    in every step a neuron spikes with probability 1 - exp(-|rate| dt) if its rate
    is positive (with ``signed_spikes``, a negative rate emits negative spikes at
    the same probability). Draws are reproducible from the compiler's rng_seed and
    the global example index."""
