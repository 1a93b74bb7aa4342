"""What every pipeline shares: the command-line options that say where to run and
store, and the Dask client they give."""
from __future__ import annotations

import argparse
import contextlib

from distributed import Client

import snnflow.distributed


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive int, got {text}")
    return value


def add_cluster_options(parser, store, store_help="zarr store of the run, replaced each run"):
    """--store (default ``store``), --scheduler and --workers."""
    parser.add_argument("--store", default=store, help=f"{store_help} (default: {store})")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running Dask scheduler (default: start a "
                             "LocalCluster on 127.0.0.1)")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="workers of the embedded LocalCluster (default: one per core)")


@contextlib.contextmanager
def cluster(args):
    """A client of the given scheduler, or of an embedded LocalCluster (closed on exit)."""
    if args.scheduler:
        with Client(args.scheduler) as client:
            yield client
        return
    with snnflow.distributed.local_cluster(args.workers) as local, Client(local) as client:
        yield client
