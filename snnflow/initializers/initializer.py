"""Initializer: draws values for parameters, variables and weights at build time."""


class Initializer:
    def sample(self, rng, shape):
        """Return a float64 array of ``shape`` drawn from ``rng`` (a numpy Generator)."""
        raise NotImplementedError
