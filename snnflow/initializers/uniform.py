from .initializer import Initializer


class Uniform(Initializer):
    """Values drawn uniformly from [min, max)."""

    def __init__(self, min=0.0, max=1.0):
        if max < min:
            raise ValueError(f"Uniform: max ({max}) must be >= min ({min})")
        self.min = float(min)
        self.max = float(max)

    def sample(self, rng, shape):
        return rng.uniform(self.min, self.max, size=shape)

    def __repr__(self):
        return f"Uniform(min={self.min}, max={self.max})"
