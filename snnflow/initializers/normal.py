from .initializer import Initializer


class Normal(Initializer):
    """Values drawn from a normal distribution."""

    def __init__(self, mean=0.0, sd=1.0):
        if sd < 0:
            raise ValueError(f"Normal: sd must be >= 0, got {sd}")
        self.mean = float(mean)
        self.sd = float(sd)

    def sample(self, rng, shape):
        return rng.normal(self.mean, self.sd, size=shape)

    def __repr__(self):
        return f"Normal(mean={self.mean}, sd={self.sd})"
