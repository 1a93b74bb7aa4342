import numpy as np

from .connectivity import Connectivity, delays_for, num, sparse_synapses, weights_for


class OneToOne(Connectivity):
    """Source neuron i connects to target neuron i; ``weight`` and ``delay`` are
    scalars or (n,) arrays."""

    def __init__(self, weight, delay=0):
        super().__init__(weight, delay)

    def target_shape(self, source_shape, target_shape):
        return source_shape if target_shape is None else target_shape

    def validate(self, source_shape, target_shape, name):
        if num(source_shape) != num(target_shape):
            raise ValueError(f"OneToOne connection {name} needs populations of equal size, "
                             f"got {num(source_shape)} and {num(target_shape)} neurons")
        self._check_layout((num(source_shape),), name)

    def synapses(self, source_shape, target_shape, rng, self_connection=False):
        n = num(source_shape)
        index = np.arange(n)
        weight = weights_for(self.weight, (n,), rng, "OneToOne weight")
        delay = delays_for(self.delay, (n,), rng, "OneToOne delay")
        return sparse_synapses(index, index, weight, delay, n, n)
