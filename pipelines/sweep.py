"""Sweep the membrane time constant and threshold of the Yin-Yang network.

The pipeline converts the network of yinyang.py (trained once, in this process)
and evaluates it at every point of a tau_mem x v_thresh grid with
snnflow.pipeline.Sweep: every point's shards run at once on one Dask cluster, on
a Yin-Yang test set the workers generate, each point recorded into its own group
of the sweep's store. It prints the accuracy summary (an xarray Dataset, also
saved in the store) and draws it as a heat-map with snnflow.plot.sweep. Running
it again with the same arguments reads the finished points instead of running
them; a sweep that was stopped resumes where it stopped.

    snnflow run sweep [--examples 20000] [--timesteps 50] [--batch-size 512]
        [--store runs/sweep.zarr] [--plot runs/sweep.png] [--scheduler ADDRESS]
        [--workers N] [--keep-dashboard]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import snnflow.plot
from snnflow.pipeline import Dataset, Pipeline, Sweep
from _cluster_options import add_cluster_options, cluster, positive_int
from yinyang import snn_builder, trained_weights

#: Membrane time constants (ms): from leaking most of a step's input away
#: between spikes to hardly leaking over the 50-step presentation
TAU_MEM = [2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
#: Thresholds around the conversion's 1.0, where the weights were normalised
V_THRESH = [0.25, 0.5, 1.0, 2.0, 4.0]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=positive_int, default=20_000,
                        help="generated test examples per point (default: 20000)")
    parser.add_argument("--timesteps", type=positive_int, default=50,
                        help="timesteps (dt = 1 ms) each example is presented (default: 50)")
    parser.add_argument("--batch-size", type=positive_int, default=512,
                        help="examples simulated together (default: 512)")
    add_cluster_options(parser, "runs/sweep.zarr",
                        "zarr store of the sweep; finished points in it are kept")
    parser.add_argument("--plot", default="runs/sweep.png",
                        help="where to write the heat-map (default: runs/sweep.png)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    weights, ann_accuracy = trained_weights()
    print(f"ANN trained: held-out accuracy {ann_accuracy:.4f}")
    with cluster(args) as client:
        pipeline = Pipeline(snn_builder(weights), Dataset("yin_yang", args.examples),
                            compiler={"evaluate_timesteps": args.timesteps,
                                      "batch_size": args.batch_size},
                            store=args.store, cluster=client)
        start = time.perf_counter()
        summary = Sweep(pipeline, {"tau_mem": TAU_MEM, "v_thresh": V_THRESH}).run()
        seconds = time.perf_counter() - start
    accuracy = summary["sparse_categorical_accuracy"]
    print(accuracy.to_pandas().to_string(float_format="{:.4f}".format))
    best = accuracy.where(accuracy == accuracy.max(), drop=True)
    print(f"best accuracy {float(accuracy.max()):.4f} at tau_mem="
          f"{float(best.tau_mem[0])} ms, v_thresh={float(best.v_thresh[0])}")
    print(f"{accuracy.size} points x {args.examples} examples in {seconds:.1f} s; summary in "
          f"{args.store}/summary (xarray.open_zarr({args.store!r}, group='summary'))")
    os.makedirs(os.path.dirname(os.path.abspath(args.plot)), exist_ok=True)
    snnflow.plot.sweep(summary, "sparse_categorical_accuracy").savefig(args.plot)
    print(f"heat-map: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
