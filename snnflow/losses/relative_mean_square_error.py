import numpy as np

from ..metrics.sparse_categorical_accuracy import check_labels
from .loss import Loss


class RelativeMeanSquareError(Loss):
    """mlGeNN's loss for time-to-first-spike readouts (Yin-Yang): every wrong
    neuron's readout r_n should lie ``delta`` below the right one's r_y, so the
    loss of an example is 1/2 sum over n != y of (r_y - r_n - delta)^2, averaged
    over the batch. With first_spike_time (the negated spike time) the right
    neuron should fire ``delta`` ms before the others."""

    def __init__(self, delta: float):
        if isinstance(delta, bool) or not isinstance(delta, (int, float)):
            raise ValueError(f"RelativeMeanSquareError delta must be a number, got {delta!r}")
        self.delta = float(delta)

    def check(self, y_true, pop, what):
        check_labels(y_true, pop, what)

    def value_and_gradient(self, y_true, y_pred):
        readout = np.asarray(y_pred, dtype=np.float64)
        labels = np.asarray(y_true, dtype=np.int64)
        rows = np.arange(len(labels))
        gap = readout[rows, labels][:, None] - readout - self.delta
        gap[rows, labels] = 0.0
        gradient = -gap
        gradient[rows, labels] = gap.sum(axis=1)
        return (float(0.5 * np.sum(gap * gap) / len(labels)), gradient / len(labels))

    def __repr__(self):
        return f"RelativeMeanSquareError(delta={self.delta!r})"
