"""Merging shard results on the driver, in example order."""
from __future__ import annotations

import copy

import numpy as np


def merge_metric_states(templates: dict, shard_states: list) -> dict:
    """{output: Metric} holding the summed states of every shard."""
    fresh = {}
    for output, template in templates.items():
        fresh[output] = copy.deepcopy(template)
        fresh[output].reset()
    return add_metric_states(fresh, shard_states)


def add_metric_states(metrics: dict, shard_states: list) -> dict:
    """{output: Metric}: ``metrics`` (left unchanged) with the shards' states added."""
    merged = {}
    for output, metric in metrics.items():
        for states in shard_states:
            part = copy.copy(metric)
            part.state = states[output.name]
            metric = metric.merge(part)
        merged[output] = metric
    return merged


def merge_callback_data(template, parts: list):
    """One callback's data from its per-shard parts (in example order): by the
    callback's own ``merge(parts)`` if it has one, else lists and arrays concatenate
    (arrays along their first axis) and tuples of them element by element."""
    if hasattr(template, "merge"):
        return template.merge(parts)
    if parts and all(isinstance(p, np.ndarray) and p.ndim > 0 for p in parts):
        return np.concatenate(parts)
    if all(isinstance(p, list) for p in parts):
        merged = [item for part in parts for item in part]
        # A recording's ArrayPieces stay ArrayPieces, as the in-process run returns them
        kinds = {type(p) for p in parts}
        return kinds.pop()(merged) if len(kinds) == 1 else merged
    if parts and all(isinstance(p, tuple) and len(p) == len(parts[0]) for p in parts):
        return tuple(merge_callback_data(None, [p[i] for p in parts])
                     for i in range(len(parts[0])))
    raise TypeError(f"cannot merge the data of {type(template).__name__} across shards: "
                    f"return a list or an array (or a tuple of them) from get_data, or give the "
                    f"callback a merge(parts) method")
