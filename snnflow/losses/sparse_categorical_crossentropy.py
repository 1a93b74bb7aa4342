import numpy as np

from ..metrics.sparse_categorical_accuracy import check_labels
from .loss import Loss


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy of the softmax of the readout against integer labels."""

    def check(self, y_true, pop, what):
        check_labels(y_true, pop, what)

    def value_and_gradient(self, y_true, y_pred):
        logits = np.asarray(y_pred, dtype=np.float64)
        labels = np.asarray(y_true, dtype=np.int64)
        # Shifting by the maximum keeps exp() finite without changing the softmax
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        rows = np.arange(len(labels))
        gradient = np.exp(log_softmax)
        gradient[rows, labels] -= 1.0
        return float(-log_softmax[rows, labels].mean()), gradient / len(labels)
