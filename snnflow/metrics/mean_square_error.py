import numpy as np

from .metric import Metric


def check_targets(y_true, pop, what):
    """Raise ValueError unless ``y_true`` holds one target per neuron of ``pop``."""
    shape = np.shape(y_true)
    if shape[1:] not in (pop.shape, (pop.num_neurons,)):
        raise ValueError(f"{what} has shape {shape}, expected (examples, *{pop.shape}) "
                         f"for population {pop.name}")


class MeanSquareError(Metric):
    """Mean over examples and neurons of (readout - target)^2, summed in float64."""

    state_names = ("sum_squared_error", "count")

    def check(self, y_true, pop, what):
        check_targets(y_true, pop, what)

    def update(self, y_true, y_pred):
        error = (np.asarray(y_pred, dtype=np.float64).reshape(len(y_pred), -1)
                 - np.asarray(y_true, dtype=np.float64).reshape(len(y_pred), -1))
        self.state["sum_squared_error"] += float(np.sum(error * error))
        self.state["count"] += error.size

    @property
    def result(self):
        s = self.state
        return s["sum_squared_error"] / s["count"] if s["count"] else None
