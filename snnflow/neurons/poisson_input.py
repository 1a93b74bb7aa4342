from .input import Input


class PoissonInput(Input):
    """Poisson spike source: the example's value per neuron is a rate (spikes/ms);
    a neuron with a positive rate spikes in a step with probability
    1 - exp(-rate dt). Draws are reproducible from the compiler's rng_seed and the
    global example index."""
