"""Convert a ReLU network trained on scikit-learn's digits into a spiking network.

The pipeline trains a small bias-free ReLU network (64 -> 128 -> 10) in plain
NumPy, converts it into a network of non-leaky integrate-and-fire neurons with
data-based weight normalisation (Diehl et al. 2015, with the robust percentile of
Rueckauer et al. 2017), and evaluates the spiking network on the test set twice:
in this process, and sharded over a Dask cluster (an embedded LocalCluster unless
--scheduler is given) with every population's spikes and the hidden layer's
voltage recorded into a zarr store. It checks that both give the same result,
prints accuracy, throughput, the store and the dashboard link, and exits with
status 1 if the SNN scores below 90%.

    snnflow run digits_convert [--timesteps 100] [--batch-size 128] [--seed 0]
        [--store runs/digits_convert.zarr] [--scheduler ADDRESS] [--workers N]
        [--keep-dashboard]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import snnflow.distributed
import _relu_conversion as relu_conversion
from _cluster_options import add_cluster_options, cluster, positive_int
from snnflow import InputLayer, Layer, SequentialNetwork
from snnflow.callbacks import SpikeRecorder, VarRecorder
from snnflow.compilers import InferenceCompiler
from snnflow.connectivity import Dense
from snnflow.neurons import IntegrateFire, IntegrateFireInput

#: The SNN must reach this test accuracy for the pipeline to succeed
REQUIRED_ACCURACY = 0.90

HIDDEN_UNITS = 128
EPOCHS = 40
MINIBATCH = 32
LEARNING_RATE = 1e-3


def load_data():
    """Digits as float32 pixels in [0, 1] and int64 labels, split 70/30 by class."""
    digits = load_digits()
    # The digits' pixels are 4-bit intensities, 0..16
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    # The split is fixed (random_state=0) so that accuracies are comparable across
    # seeds; --seed only changes the ANN's training
    return train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)


def build_snn(weights):
    """The converted network, described with snnflow's mlGeNN-style API."""
    network = SequentialNetwork()
    with network:
        # Each pixel is a constant input current: the input neuron fires at a rate
        # of (about) its pixel value spikes per step
        inputs = InputLayer(IntegrateFireInput(v_thresh=1.0), weights[0].shape[0],
                            record_spikes=True, name="input")
        hidden = Layer(Dense(weights[0]), IntegrateFire(v_thresh=1.0), weights[0].shape[1],
                       record_spikes=True, name="hidden")
        # The most active output neuron over the run is the prediction
        outputs = Layer(Dense(weights[1]), IntegrateFire(v_thresh=1.0, readout="spike_count"),
                        weights[1].shape[1], record_spikes=True, name="output")
    return network, inputs, hidden, outputs


def recorders(inputs, hidden, outputs):
    """Spikes of every population for every example; the hidden layer's voltage
    for the first ten examples (a trace per neuron per step adds up quickly)."""
    return ["batch_progress_bar",
            SpikeRecorder(inputs, key="input_spikes"),
            SpikeRecorder(hidden, key="hidden_spikes"),
            SpikeRecorder(outputs, key="output_spikes"),
            VarRecorder(hidden, "v", key="hidden_v", example_filter=list(range(10)))]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timesteps", type=positive_int, default=100,
                        help="timesteps (dt = 1 ms) each test example is presented "
                             "(default: 100)")
    parser.add_argument("--batch-size", type=positive_int, default=128,
                        help="test examples simulated together (default: 128)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the ANN's initial weights and minibatch order "
                             "(default: 0)")
    add_cluster_options(parser, "runs/digits_convert.zarr",
                        "zarr store for the recordings, replaced each run")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    x_train, x_test, y_train, y_test = load_data()

    start = time.perf_counter()
    weights = relu_conversion.train(x_train, y_train, HIDDEN_UNITS, EPOCHS, MINIBATCH,
                                    LEARNING_RATE, args.seed)
    train_seconds = time.perf_counter() - start
    ann_test_accuracy = relu_conversion.accuracy(x_test, y_test, weights)
    print(f"ANN 64-{HIDDEN_UNITS}-10 (ReLU, no biases) trained in {train_seconds:.1f} s")

    snn_weights, maxima = relu_conversion.normalise_weights(x_train, weights)
    print(f"weight normalisation: layer maxima ({relu_conversion.NORMALISATION_PERCENTILE}th "
          f"percentile of positive training activations) "
          + ", ".join(f"{m:.3f}" for m in maxima))

    network, inputs, hidden, outputs = build_snn(snn_weights)
    compiler = InferenceCompiler(evaluate_timesteps=args.timesteps, batch_size=args.batch_size)
    with compiler.compile(network) as compiled:
        start = time.perf_counter()
        metrics, _ = compiled.evaluate({inputs: x_test}, {outputs: y_test}, callbacks=[])
        in_process_seconds = time.perf_counter() - start

    with cluster(args) as client:
        start = time.perf_counter()
        distributed_metrics, cb_data = snnflow.distributed.evaluate(
            network, compiler, {inputs: x_test}, {outputs: y_test},
            callbacks=recorders(inputs, hidden, outputs), client=client, store=args.store,
            overwrite=True)
        distributed_seconds = time.perf_counter() - start
        workers = len(client.scheduler_info(n_workers=-1)["workers"])
    snn_test_accuracy = distributed_metrics[outputs].result
    if distributed_metrics[outputs].state != metrics[outputs].state:
        print("FAILED: the distributed result differs from the in-process one",
              file=sys.stderr)
        return 1

    print(f"ANN test accuracy: {ann_test_accuracy:.4f}")
    print(f"SNN test accuracy: {snn_test_accuracy:.4f} "
          f"({args.timesteps} timesteps, batch size {args.batch_size}), identical in "
          f"process and distributed")
    print(f"in process: {len(x_test)} examples in {in_process_seconds:.2f} s, "
          f"{len(x_test) / in_process_seconds:.0f} examples/s")
    print(f"distributed with recording, {workers} workers: {distributed_seconds:.2f} s, "
          f"{len(x_test) / distributed_seconds:.0f} examples/s (cluster start-up excluded)")
    spikes = sum(len(ids) for ids in cb_data["hidden_spikes"][1])
    print(f"recordings in {args.store}: {len(cb_data['input_spikes'][0])} examples of spikes "
          f"from every population ({spikes} hidden-layer spikes), hidden voltage of "
          f"{len(cb_data['hidden_v'])} examples; read them back with "
          f"snnflow.store.open({args.store!r})")
    if snn_test_accuracy < REQUIRED_ACCURACY:
        print(f"FAILED: SNN test accuracy {snn_test_accuracy:.4f} is below the required "
              f"{REQUIRED_ACCURACY:.2f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
