"""The main job: train a spiking network on scikit-learn's digits with EventProp,
then evaluate it sharded over a Dask cluster with every spike recorded into zarr.

Training is pipelines/digits_train.py's (64 -> 128 LeakyIntegrateFire -> 10
LeakyIntegrate, the best epoch on validation restored from its checkpoint).
The restored network's test set is then evaluated with snnflow.distributed on an
embedded LocalCluster (or --scheduler), recording the spikes of every population
and the hidden layer's voltage for the first ten digits into --store. The
pipeline checks the distributed result equals the in-process one, prints
accuracy, throughput, the store and the dashboard link, draws a raster and a
voltage plot from the store, and exits with status 1 if the test accuracy is
below 95%.

    snnflow run digits [--epochs 50] [--seed 0] [--store runs/digits.zarr]
        [--scheduler ADDRESS] [--workers N] [--keep-dashboard]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import snnflow.distributed
import snnflow.store
from _cluster_options import add_cluster_options, cluster, positive_int
from digits_train import DT, TIMESTEPS, check, train
from snnflow.callbacks import SpikeRecorder, VarRecorder
from snnflow.compilers import InferenceCompiler
from snnflow.plot import raster, traces


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=positive_int, default=50,
                        help="training epochs (default: 50)")
    parser.add_argument("--seed", type=int, default=0, help="training seed (default: 0)")
    add_cluster_options(parser, "runs/digits.zarr",
                        "zarr store for the recordings, replaced each run")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    store = Path(args.store)
    network, inputs, outputs, data, summary = train(args.seed, args.epochs,
                                                    store.with_suffix(".checkpoints"))
    x_test, y_test = data[2]
    hidden = next(pop for pop in network.populations if pop.name == "hidden")
    compiler = InferenceCompiler(TIMESTEPS, dt=DT, batch_size=64)
    in_process, _ = compiler.compile(network).evaluate({inputs: x_test}, {outputs: y_test},
                                                       callbacks=[])
    recorders = ["batch_progress_bar",
                 SpikeRecorder(inputs, key="input_spikes"),
                 SpikeRecorder(hidden, key="hidden_spikes"),
                 VarRecorder(hidden, "v", key="hidden_v", example_filter=list(range(10))),
                 VarRecorder(outputs, "v", key="output_v", example_filter=list(range(10)))]
    with cluster(args) as client:
        start = time.perf_counter()
        metrics, _ = snnflow.distributed.evaluate(
            network, compiler, {inputs: x_test}, {outputs: y_test}, callbacks=recorders,
            client=client, store=store, overwrite=True)
        seconds = time.perf_counter() - start
        workers = len(client.scheduler_info(n_workers=-1)["workers"])
    if metrics[outputs].state != in_process[outputs].state:
        print("FAILED: the distributed result differs from the in-process one",
              file=sys.stderr)
        return 1
    print(f"test accuracy {metrics[outputs].result:.4f}, identical in process and "
          f"distributed; {len(y_test)} digits on {workers} workers with recording in "
          f"{seconds:.2f} s ({len(y_test) / seconds:.0f} examples/s)")
    recorded = snnflow.store.open(store)
    for name, figure in (("raster", raster(str(store), "hidden_spikes")),
                         ("voltage", traces(str(store), "output_v"))):
        figure.savefig(store.with_name(f"{store.stem}_{name}.png"))
    print(f"recordings in {store} ({', '.join(sorted(map(str, recorded)))}); plots "
          f"{store.stem}_raster.png and {store.stem}_voltage.png beside it; "
          f"`snnflow inspect {store}` lists it")
    return check(summary)


if __name__ == "__main__":
    sys.exit(main())
