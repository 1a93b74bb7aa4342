import numpy as np

from .connectivity import Connectivity, Synapses, delays_for, num, uniform_delays, weights_for


class Dense(Connectivity):
    """Every source neuron connects to every target; ``weight`` and an array
    ``delay`` are (n_pre, n_post)."""

    def __init__(self, weight, delay=0):
        super().__init__(weight, delay)

    def target_shape(self, source_shape, target_shape):
        # An array weight implies the target's size
        if target_shape is None and np.ndim(self.weight) == 2:
            return (np.shape(self.weight)[1],)
        return super().target_shape(source_shape, target_shape)

    def validate(self, source_shape, target_shape, name):
        self._check_layout((num(source_shape), num(target_shape)), name)

    def synapses(self, source_shape, target_shape, rng, self_connection=False):
        shape = (num(source_shape), num(target_shape))
        weight = np.array(weights_for(self.weight, shape, rng, "Dense weight"), dtype=np.float32)
        delays = delays_for(self.delay, shape, rng, "Dense delay")
        return Synapses(weight, uniform_delays(delays))
