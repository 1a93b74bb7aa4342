"""BatchProgressBar: a tqdm bar of batches, showing the current metrics."""
from __future__ import annotations

from tqdm.auto import tqdm

from ..utils.module import snake_case
from .callback import Callback


def format_metrics(metrics) -> dict:
    """{"sparse_categorical_accuracy": "0.9712"}; names carry the population
    when there are several outputs."""
    def label(output, metric):
        name = snake_case(type(metric).__name__)
        return f"{output.name} {name}" if len(metrics) > 1 else name
    return {label(k, m): f"{m.result:.4f}" for k, m in metrics.items() if m.result is not None}


class BatchProgressBar(Callback):
    """One bar per evaluate/predict call and per training run, reset each epoch."""

    def set_params(self, num_batches, **kwargs):
        self.num_batches = num_batches
        self.bar = None

    def _open(self, description):
        self.bar = tqdm(total=self.num_batches, desc=description, unit="batch")

    def on_test_begin(self):
        self._open("evaluate")

    def on_train_begin(self):
        self._open("train")

    def on_epoch_begin(self, epoch):
        self.bar.reset(total=self.num_batches)
        self.bar.set_description(f"epoch {epoch}")

    def on_batch_end(self, batch, metrics):
        self.bar.set_postfix(format_metrics(metrics), refresh=False)
        self.bar.update(1)

    def _close(self, metrics):
        if self.bar is not None:
            self.bar.set_postfix(format_metrics(metrics), refresh=False)
            self.bar.close()

    def on_test_end(self, metrics):
        self._close(metrics)

    def on_train_end(self, metrics):
        self._close(metrics)
