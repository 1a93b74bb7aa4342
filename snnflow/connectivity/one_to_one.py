import numpy as np

from .connectivity import Connectivity, check_weight_shape, num, sparse_matrix, weights_for


class OneToOne(Connectivity):
    """Source neuron i connects to target neuron i; weight is a scalar or (n,)."""

    def __init__(self, weight):
        super().__init__(weight)

    def target_shape(self, source_shape, target_shape):
        return source_shape if target_shape is None else target_shape

    def validate(self, source_shape, target_shape, name):
        if num(source_shape) != num(target_shape):
            raise ValueError(f"OneToOne connection {name} needs populations of equal size, "
                             f"got {num(source_shape)} and {num(target_shape)} neurons")
        check_weight_shape(self.weight, (num(source_shape),), name, "OneToOne weight")

    def synapse_matrix(self, source_shape, target_shape, rng):
        n = num(source_shape)
        index = np.arange(n)
        return sparse_matrix(index, index, weights_for(self.weight, (n,), rng,
                                                       "OneToOne weight"), n, n)
