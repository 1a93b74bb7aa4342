"""Loss: what training minimises, as a function of an output's readout."""
from __future__ import annotations


class Loss:
    """A loss on one output population's readout, averaged over the batch.

    ``value_and_gradient`` returns the batch-mean loss and its gradient with
    respect to every readout value: training starts its adjoint pass from it."""

    def check(self, y_true, pop, what: str):
        """Raise ValueError now if ``y_true`` cannot be scored against ``pop``."""

    def value_and_gradient(self, y_true, y_pred):
        """(float, float64 array shaped like ``y_pred`` (examples, neurons))."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"
