"""What every pipeline shares: the command-line options that say where to run and
store, and the Dask client they give. (A helper, not a pipeline: names starting
with "_" are left out of `snnflow pipelines`.)"""
from __future__ import annotations

import argparse

import snnflow.distributed


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive int, got {text}")
    return value


def add_cluster_options(parser, store, store_help="zarr store of the run, replaced each run"):
    """--store (default ``store``), --scheduler, --workers and --keep-dashboard."""
    parser.add_argument("--store", default=store, help=f"{store_help} (default: {store})")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running Dask scheduler (default: start a "
                             "LocalCluster on 127.0.0.1)")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="workers of the embedded LocalCluster (default: one per core)")
    parser.add_argument("--keep-dashboard", action="store_true",
                        help="keep the embedded LocalCluster and its dashboard up after the "
                             "run, until Enter or Ctrl-C")


def cluster(args):
    """A client of the given scheduler, or of an embedded LocalCluster whose
    dashboard link is printed (closed on exit, or kept with --keep-dashboard)."""
    if args.scheduler and (args.workers or args.keep_dashboard):
        raise SystemExit("--workers and --keep-dashboard are for the embedded cluster; "
                         "leave them out with --scheduler")
    return snnflow.distributed.connect(args.scheduler, n_workers=args.workers,
                                       keep_cluster=args.keep_dashboard)
