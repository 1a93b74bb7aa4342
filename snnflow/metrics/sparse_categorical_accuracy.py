import numpy as np

from .metric import Metric


def check_labels(y_true, pop, what):
    """Raise ValueError unless ``y_true`` is a 1-D array of integer labels that
    index the neurons of ``pop`` (TypeError for labels that are not numbers)."""
    labels = np.asarray(y_true)
    if labels.dtype.kind not in "biuf":
        raise TypeError(f"{what} must hold integer labels, got dtype {labels.dtype}")
    if labels.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array of integer labels, got shape "
                         f"{labels.shape}")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise ValueError(f"{what} must hold integer labels, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= pop.num_neurons):
        bad = labels[(labels < 0) | (labels >= pop.num_neurons)][0]
        raise ValueError(f"{what} holds label {bad}, expected labels in "
                         f"[0, {pop.num_neurons}) for population {pop.name}")


class SparseCategoricalAccuracy(Metric):
    """Fraction of examples whose largest readout is at the label's index."""

    state_names = ("correct", "total")

    def check(self, y_true, pop, what):
        check_labels(y_true, pop, what)

    def update(self, y_true, y_pred):
        predicted = np.argmax(y_pred.reshape(len(y_pred), -1), axis=1)
        self.state["correct"] += int(np.sum(predicted == np.asarray(y_true)))
        self.state["total"] += len(y_pred)

    @property
    def result(self):
        return self.state["correct"] / self.state["total"] if self.state["total"] else None
