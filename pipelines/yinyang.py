"""Evaluate a converted spiking network on a large Yin-Yang data set, sharded.

The pipeline trains a small bias-free ReLU network (4 -> 64 -> 3) on 10,000
Yin-Yang examples in plain NumPy, converts it into a network of non-leaky
integrate-and-fire neurons that reset by subtraction (data-based weight
normalisation, as in digits_convert.py) and evaluates it on a test set that the
Dask workers generate themselves (snnflow.pipeline.Dataset), 1,000,000 examples
by default, so the driver never holds it. It prints the accuracy, throughput, the timings of each
stage, the store and the dashboard link, and exits with status 1 if the SNN
scores below 90%.

    snnflow run yinyang [--examples 1000000] [--timesteps 50] [--batch-size 512]
        [--seed 0] [--store runs/yinyang.zarr] [--scheduler ADDRESS] [--workers N]
        [--keep-dashboard]
"""
from __future__ import annotations

import argparse
import sys

import _relu_conversion as relu_conversion
from _cluster_options import add_cluster_options, cluster, positive_int
from snnflow import InputLayer, Layer, SequentialNetwork
from snnflow.connectivity import Dense
from snnflow.neurons import LeakyIntegrateFire, LeakyIntegrateFireInput
from snnflow.pipeline import Dataset, Pipeline
from snnflow.utils.data import yin_yang_dataset

#: The SNN must reach this test accuracy for the pipeline to succeed
REQUIRED_ACCURACY = 0.90

TRAIN_EXAMPLES = 10_000
#: The training set's seed; the test set is drawn with --seed, a different stream
TRAIN_SEED = 12345
HIDDEN_UNITS = 64
#: A membrane time constant (ms) so long that float32 sees no leak: exp(-1e-9) == 1
NO_LEAK = 1e9
EPOCHS = 60
MINIBATCH = 64
LEARNING_RATE = 3e-3


def trained_weights():
    """The converted weights, and the ANN's accuracy on 10,000 held-out examples."""
    x, y = yin_yang_dataset(TRAIN_EXAMPLES, seed=TRAIN_SEED)
    # (x, y, 1 - x, 1 - y) carries a constant 1 in x + (1 - x): the first layer
    # needs no bias
    weights = relu_conversion.train(x, y, HIDDEN_UNITS, EPOCHS, MINIBATCH, LEARNING_RATE,
                                    seed=0)
    x_check, y_check = yin_yang_dataset(10_000, seed=TRAIN_SEED + 1)
    snn_weights, _ = relu_conversion.normalise_weights(x, weights)
    return snn_weights, relu_conversion.accuracy(x_check, y_check, weights)


def snn_builder(weights):
    """The network function a Pipeline takes: parameters -> (network, input layer,
    output layer), with hidden and output neurons of membrane time constant
    ``tau_mem`` (ms; the default leaks nothing) and threshold ``v_thresh``.

    Every neuron resets by subtracting the threshold, keeping what it integrated
    beyond it, so that one driven by a constant current c fires c spikes per step;
    a reset to 0 (IntegrateFire's) loses the remainder and with it the fine
    differences between inputs that the Yin-Yang's boundaries depend on."""
    def build(tau_mem=NO_LEAK, v_thresh=1.0):
        network = SequentialNetwork()
        with network:
            inputs = InputLayer(LeakyIntegrateFireInput(v_thresh=1.0, tau_mem=NO_LEAK), 4,
                                name="input")
            Layer(Dense(weights[0]), LeakyIntegrateFire(v_thresh=v_thresh, tau_mem=tau_mem),
                  HIDDEN_UNITS, name="hidden")
            # The most active output neuron over the run is the prediction
            outputs = Layer(Dense(weights[1]), LeakyIntegrateFire(
                v_thresh=v_thresh, tau_mem=tau_mem, readout="spike_count"), 3, name="output")
        return network, inputs, outputs
    return build


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=positive_int, default=1_000_000,
                        help="test examples, generated on the workers (default: 1000000)")
    parser.add_argument("--timesteps", type=positive_int, default=50,
                        help="timesteps (dt = 1 ms) each example is presented (default: 50)")
    parser.add_argument("--batch-size", type=positive_int, default=512,
                        help="examples simulated together (default: 512)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the generated test set (default: 0)")
    add_cluster_options(parser, "runs/yinyang.zarr")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    weights, ann_accuracy = trained_weights()
    print(f"ANN 4-{HIDDEN_UNITS}-3 (ReLU, no biases) trained on {TRAIN_EXAMPLES} examples: "
          f"held-out accuracy {ann_accuracy:.4f}")
    with cluster(args) as client:
        pipeline = Pipeline(snn_builder(weights),
                            Dataset("yin_yang", args.examples, seed=args.seed),
                            compiler={"evaluate_timesteps": args.timesteps,
                                      "batch_size": args.batch_size},
                            store=args.store, cluster=client, overwrite=True)
        result = pipeline.run()
        workers = len(client.scheduler_info(n_workers=-1)["workers"])
    accuracy = next(iter(result.metrics.values())).result
    seconds = result.timings["wall"]
    print(f"SNN accuracy on {args.examples} generated examples: {accuracy:.4f} "
          f"({args.timesteps} timesteps)")
    print(f"{workers} workers: {seconds:.1f} s, {args.examples / seconds:.0f} examples/s")
    print("worker seconds: " + ", ".join(f"{stage} {result.timings[stage]:.2f}"
                                         for stage in ("build", "simulate", "write"))
          + f"; driver merge {result.timings['merge']:.2f} s")
    print(f"store: {result.store} (snnflow inspect {args.store})")
    if accuracy < REQUIRED_ACCURACY:
        print(f"FAILED: SNN accuracy {accuracy:.4f} is below the required "
              f"{REQUIRED_ACCURACY:.2f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
