"""Cutting a test set into shards: contiguous ranges of global example indices."""
from __future__ import annotations

import math

import numpy as np

from ..compilers.dataset import batches_of

#: Shards per worker by default: enough to balance uneven workers and to make a
#: lost worker or a resumed run cheap, few enough that per-task overhead is small.
SHARDS_PER_WORKER = 4

#: How many Dask tasks per worker a run's shards are cut into when there are more
#: shards than that: each task costs the driver's process (Dask's client and
#: scheduler) 5-10 ms of CPU, which on a machine whose cores all simulate is
#: taken from the workers.
TASKS_PER_WORKER = 4


def plan_shards(num_examples: int, batch_size: int, shard_size=None, num_workers=1):
    """[(start, stop), ...] covering [0, num_examples) in order.

    By default each shard is a whole number of batches, about SHARDS_PER_WORKER per
    worker. A ``shard_size`` that is not a multiple of batch_size is allowed: a
    shard then ends mid-batch, which changes nothing in the results because every
    example is simulated independently. An empty test set is one empty shard, so
    that its callbacks return what they return in process for no examples."""
    check_shard_size(shard_size)
    if num_examples == 0:
        return [(0, 0)]
    if shard_size is None:
        num_batches = math.ceil(num_examples / batch_size)
        shards = max(1, min(num_batches, SHARDS_PER_WORKER * max(1, num_workers)))
        shard_size = math.ceil(num_batches / shards) * batch_size
    return [(start, min(start + shard_size, num_examples))
            for start in range(0, num_examples, shard_size)]


def check_shard_size(shard_size):
    if shard_size is not None and (isinstance(shard_size, bool) or
                                   not isinstance(shard_size, int) or shard_size < 1):
        raise ValueError(f"shard_size must be an int >= 1, got {shard_size!r}")


def batch_ranges(shards, batch_size):
    """The (start, stop) of every batch the shards will run, in order."""
    return [(start + begin, start + end) for start, stop in shards
            for begin, end in batches_of(stop - start, batch_size)]


def plan_tasks(shards, num_workers=1):
    """The Dask tasks that run ``shards`` (indices, ascending): tuples of
    consecutive shards, run one after the other by one task. A shard stays the
    unit of the store, of resuming and of results; a task is Dask's unit of
    scheduling, and costs the driver's CPU. With more than TASKS_PER_WORKER
    shards per worker, they are cut into that many tasks per worker, of sizes
    that differ by one at most (and never across a gap: a resumed run's)."""
    count = min(len(shards), TASKS_PER_WORKER * max(1, num_workers))
    tasks = []
    for part in np.array_split(np.asarray(shards, dtype=np.int64), max(1, count)):
        for run in np.split(part, np.flatnonzero(np.diff(part) != 1) + 1):
            if len(run):
                tasks.append(tuple(run.tolist()))
    return tasks
