import numpy as np

from .connectivity import Connectivity, check_weight_shape, num, weights_for


class Dense(Connectivity):
    """Every source neuron connects to every target; weight is (n_pre, n_post)."""

    def __init__(self, weight):
        super().__init__(weight)

    def target_shape(self, source_shape, target_shape):
        # An array weight implies the target's size
        if target_shape is None and np.ndim(self.weight) == 2:
            return (np.shape(self.weight)[1],)
        return super().target_shape(source_shape, target_shape)

    def validate(self, source_shape, target_shape, name):
        check_weight_shape(self.weight, (num(source_shape), num(target_shape)), name,
                           "Dense weight")

    def synapse_matrix(self, source_shape, target_shape, rng):
        shape = (num(source_shape), num(target_shape))
        return np.array(weights_for(self.weight, shape, rng, "Dense weight"), dtype=np.float32)
