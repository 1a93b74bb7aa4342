import numpy as np

from ..metrics.mean_square_error import check_targets
from .loss import Loss


class MeanSquareError(Loss):
    """Mean over examples and neurons of (readout - target)^2."""

    def check(self, y_true, pop, what):
        check_targets(y_true, pop, what)

    def value_and_gradient(self, y_true, y_pred):
        prediction = np.asarray(y_pred, dtype=np.float64)
        error = prediction - np.asarray(y_true, dtype=np.float64).reshape(prediction.shape)
        return float(np.mean(error * error)), 2.0 * error / error.size
