"""Metrics with mergeable state (sums and counts)."""
import copy
from typing import Union

from .mean_square_error import MeanSquareError
from .metric import Metric
from .sparse_categorical_accuracy import SparseCategoricalAccuracy
from ..utils.module import get_module_classes, get_object

default_metrics = get_module_classes(globals(), Metric)

#: A metric, or the name of a default-constructable one
MetricType = Union[Metric, str]
#: One metric for every output, or a dict {output: metric}
MetricsType = Union[dict, MetricType]


def get_metric(metric):
    return get_object(metric, Metric, "metric", default_metrics)


def get_metrics(metrics, outputs) -> dict:
    """One fresh Metric per output: ``metrics`` is a name or Metric used for every
    output, or a dict {output: name or Metric}."""
    if isinstance(metrics, dict):
        missing = [o for o in outputs if o not in metrics]
        if missing:
            raise KeyError(f"metrics has no entry for output(s) {missing}")
        chosen = {o: metrics[o] for o in outputs}
    else:
        chosen = {o: metrics for o in outputs}
    result = {}
    for output, metric in chosen.items():
        metric = copy.deepcopy(get_metric(metric))
        metric.reset()
        result[output] = metric
    return result


__all__ = ["Metric", "MetricType", "MetricsType", "MeanSquareError",
           "SparseCategoricalAccuracy", "default_metrics", "get_metric", "get_metrics"]
