"""Train a spiking network on scikit-learn's digits with EventProp.

64 latency-coded inputs -> 128 LeakyIntegrateFire -> 10 LeakyIntegrate (avg_var
readout), trained with EventPropCompiler and Adam on the 70% training split
(train_test_split(test_size=0.3, random_state=0, stratify=y)). A tenth of the
training split is held out for validation after every epoch; a Checkpoint saves
the weights every epoch. The best epoch on validation is restored into the
network description (network.load) and evaluated with an InferenceCompiler: its
validation accuracy must equal the one reported during training, and its test
accuracy is the result. Writes a learning-curve PNG and exits with status 1 if
the test accuracy is below 95%.

    snnflow run digits_train [--epochs 50] [--seed 0]
        [--checkpoints runs/digits_train] [--plot runs/digits_train.png]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from snnflow import Connection, Network, Population
from snnflow.callbacks import Callback, Checkpoint, OptimiserParamSchedule
from snnflow.compilers import EventPropCompiler, InferenceCompiler
from snnflow.connectivity import Dense
from snnflow.initializers import Normal
from snnflow.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from snnflow.optimisers import Adam
from snnflow.serialisers import Numpy
from snnflow.synapses import Exponential
from snnflow.utils.data import linear_latency_encode_data

REQUIRED_ACCURACY = 0.95

DT = 1.0                # ms
TIMESTEPS = 30
ENCODING_WINDOW = 20.0  # ms: the brightest pixel fires at 0, the faintest at 20
BATCH_SIZE = 16
LEARNING_RATE = 0.005
LEARNING_RATE_DECAY = 0.95  # per epoch
TAU_MEM, TAU_SYN = 20.0, 5.0
W_HIDDEN, W_OUTPUT = (0.078, 0.045), (0.0, 0.1)  # initial (mean, sd)


def load_data(seed):
    """Latency-coded train, validation and test sets with int64 labels."""
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data, digits.target, test_size=0.3, random_state=0, stratify=digits.target)
    x_train, x_val, y_train, y_val = train_test_split(
        x_train, y_train, test_size=0.1, random_state=seed, stratify=y_train)

    def encode(pixels):
        # Pixels are 4-bit (0..16), scaled to [0, 1] and then to the encoder's 8 bits;
        # black pixels (0) do not fire
        return linear_latency_encode_data((pixels / 16.0 * 255.0).astype(np.float32),
                                          ENCODING_WINDOW, 0.0, 1)
    return [(encode(x), y.astype(np.int64)) for x, y in
            ((x_train, y_train), (x_val, y_val), (x_test, y_test))]


def build_network():
    network = Network()
    with network:
        inputs = Population(SpikeInput(), 64, name="input", record_spikes=True)
        hidden = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=TAU_MEM,
                                               relative_reset=False), 128, name="hidden",
                            record_spikes=True)
        outputs = Population(LeakyIntegrate(tau_mem=TAU_MEM, readout="avg_var"), 10,
                             name="output")
        Connection(inputs, hidden, Dense(Normal(*W_HIDDEN)), Exponential(TAU_SYN),
                   name="input_hidden")
        Connection(hidden, outputs, Dense(Normal(*W_OUTPUT)), Exponential(TAU_SYN),
                   name="hidden_output")
    return network, inputs, outputs


class History(Callback):
    """Each epoch's accuracy (as a training callback) or each validation's (as a
    validation callback)."""

    def __init__(self, output):
        self.output = output
        self.accuracy = []
        self.seconds = []

    def on_epoch_begin(self, epoch):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, metrics):
        self.accuracy.append(metrics[self.output].result)
        self.seconds.append(time.perf_counter() - self.start)

    def on_test_end(self, metrics):
        self.accuracy.append(metrics[self.output].result)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=50, help="epochs (default: 50)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the initial weights, the shuffles and the validation "
                             "split (default: 0)")
    parser.add_argument("--checkpoints", default="runs/digits_train",
                        help="directory for the per-epoch checkpoints "
                             "(default: runs/digits_train)")
    parser.add_argument("--plot", default="runs/digits_train.png",
                        help="learning-curve PNG (default: runs/digits_train.png)")
    return parser.parse_args(argv)


def train(seed, epochs, checkpoints):
    """Train, restore the best epoch on validation into the description and
    evaluate it. Returns (network, inputs, outputs, data, summary)."""
    data = load_data(seed)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = data
    network, inputs, outputs = build_network()
    compiler = EventPropCompiler(TIMESTEPS, "sparse_categorical_crossentropy", dt=DT,
                                 optimiser=Adam(LEARNING_RATE), batch_size=BATCH_SIZE,
                                 rng_seed=seed)
    serialiser = Numpy(checkpoints)
    training, validation = History(outputs), History(outputs)
    start = time.perf_counter()
    with compiler.compile(network) as compiled:
        compiled.train_validate(
            {inputs: x_train}, {outputs: y_train}, {inputs: x_val}, {outputs: y_val},
            num_epochs=epochs,
            callbacks=["batch_progress_bar", training, Checkpoint(serialiser),
                       OptimiserParamSchedule("alpha", lambda epoch, alpha:
                                              alpha * LEARNING_RATE_DECAY if epoch else alpha)],
            validation_callbacks=[validation])
    train_seconds = time.perf_counter() - start
    best = int(np.argmax(validation.accuracy))
    print(f"trained {epochs} epochs on {len(y_train)} digits in {train_seconds:.0f} s "
          f"({np.median(training.seconds):.2f} s per epoch, median); best validation "
          f"accuracy {validation.accuracy[best]:.4f} at epoch {best}")

    network.load((best,), serialiser)
    evaluator = InferenceCompiler(TIMESTEPS, dt=DT, batch_size=128).compile(network)
    val_metrics, _ = evaluator.evaluate({inputs: x_val}, {outputs: y_val}, callbacks=[])
    test_metrics, _ = evaluator.evaluate({inputs: x_test}, {outputs: y_test}, callbacks=[])
    summary = {"training": training.accuracy, "validation": validation.accuracy,
               "best_epoch": best, "restored_validation": val_metrics[outputs].result,
               "test": test_metrics[outputs].result}
    print(f"restored checkpoint {best}: validation accuracy {summary['restored_validation']:.4f}"
          f", test accuracy {summary['test']:.4f} ({len(y_test)} digits)")
    return network, inputs, outputs, data, summary


def check(summary):
    """0 if the restored checkpoint reproduces training and meets the bar, else 1."""
    if summary["restored_validation"] != summary["validation"][summary["best_epoch"]]:
        print("FAILED: the restored checkpoint scores differently from training",
              file=sys.stderr)
        return 1
    if summary["test"] < REQUIRED_ACCURACY:
        print(f"FAILED: test accuracy {summary['test']:.4f} is below the required "
              f"{REQUIRED_ACCURACY:.2f}", file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    args = parse_args(argv)
    *_, summary = train(args.seed, args.epochs, args.checkpoints)
    from snnflow.plot import learning_curve
    figure = learning_curve({"training": summary["training"],
                             "validation": summary["validation"]})
    Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.plot)
    print(f"learning curve: {args.plot}")
    return check(summary)


if __name__ == "__main__":
    sys.exit(main())
