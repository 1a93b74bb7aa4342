"""Distributed evaluation on Dask: shards on workers, one merged result."""
from .cluster import connect, local_cluster
from .driver import evaluate, predict
from .planning import plan_shards
from .worker import build_counts

__all__ = ["evaluate", "predict", "plan_shards", "build_counts", "connect", "local_cluster"]
