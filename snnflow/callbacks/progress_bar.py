"""BatchProgressBar: a tqdm bar of batches, showing the current metrics."""
from __future__ import annotations

from tqdm.auto import tqdm

from ..utils.module import snake_case
from .callback import Callback


def format_metrics(metrics, prefix="") -> dict:
    """{"sparse_categorical_accuracy": "0.9712"}; names carry the population
    when there are several outputs, and ``prefix`` (``"val_"`` for validation)."""
    def label(output, metric):
        name = snake_case(type(metric).__name__)
        return prefix + (f"{output.name} {name}" if len(metrics) > 1 else name)
    return {label(k, m): f"{m.result:.4f}" for k, m in metrics.items() if m.result is not None}


class BatchProgressBar(Callback):
    """A bar of batches per evaluate or predict call and per training epoch, with
    the metrics so far. Each epoch's bar stays as one line ending with the epoch's
    metrics and, under ``train_validate``, its validation metrics (``val_...``)."""

    def __init__(self):
        self.bar = None
        #: how evaluate and predict bars are labelled, and whether they stay when
        #: done; train_validate makes its validation bars "validation", transient
        self.description = "evaluate"
        self.leave = True
        self.validation_metrics = None

    def set_params(self, num_batches, **kwargs):
        self.num_batches = num_batches

    def _open(self, description, leave=True):
        self.bar = tqdm(total=self.num_batches, desc=description, unit="batch", leave=leave)

    def on_test_begin(self):
        self._open(self.description, self.leave)

    def on_epoch_begin(self, epoch):
        self.validation_metrics = None
        self._open(f"epoch {epoch}")

    def on_batch_end(self, batch, metrics):
        self.bar.set_postfix(format_metrics(metrics), refresh=False)
        self.bar.update(1)

    def show_validation(self, metrics):
        """Put the validation ``metrics`` on this epoch's line (train_validate calls
        it after each epoch's validation)."""
        self.validation_metrics = metrics

    def _close(self, metrics):
        if self.bar is not None:
            postfix = format_metrics(metrics)
            if self.validation_metrics is not None:
                postfix.update(format_metrics(self.validation_metrics, "val_"))
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.close()
            self.bar = None

    def on_test_end(self, metrics):
        self._close(metrics)

    def on_epoch_end(self, epoch, metrics):
        self._close(metrics)

    def on_train_end(self, metrics):
        # Each epoch's bar closed at its end; one is open here only when an epoch
        # was cut short
        self._close(metrics)
