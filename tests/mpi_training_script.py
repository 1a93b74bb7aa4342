"""Run by tests/test_mpi_training.py under mpiexec: trains the network of
``build`` data-parallel with communicators.MPI and saves each rank's final weights
and metric state to OUT/rank<r>.npz. With ``mismatch``, rank 1 builds a different
network and every rank must refuse it."""
import sys

import numpy as np

from snnflow import Connection, Network, Population
from snnflow.communicators import MPI
from snnflow.compilers import EventPropCompiler
from snnflow.compilers.event_prop_compiler import default_params
from snnflow.connectivity import Dense
from snnflow.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from snnflow.optimisers import Adam
from snnflow.synapses import Exponential
from snnflow.utils.data import preprocess_spikes

NUM_EXAMPLES, BATCH_SIZE, TIMESTEPS, EPOCHS = 20, 4, 25, 2


def data():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, NUM_EXAMPLES)
    trains = [preprocess_spikes(np.concatenate([rng.uniform(0, 3, 4), rng.uniform(8, 12, 4)]),
                                np.concatenate([np.arange(4) + 4 * y, np.arange(4) + 4 * (1 - y)]),
                                8) for y in labels]
    return trains, labels


def build(num_hidden=16):
    rng = np.random.default_rng(1)
    net = Network(default_params)
    with net:
        inp = Population(SpikeInput(max_spikes=1000), 8, name="inp")
        hid = Population(LeakyIntegrateFire(tau_mem=20.0, tau_refrac=None), num_hidden,
                         name="hid")
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var"), 2, name="out")
        Connection(inp, hid, Dense(rng.normal(1.0, 0.5, (8, num_hidden))), Exponential(5.0),
                   name="in_hid")
        Connection(hid, out, Dense(rng.normal(0.0, 0.5, (num_hidden, 2))), Exponential(5.0),
                   name="hid_out")
        Connection(hid, hid, Dense(rng.normal(0.0, 0.1, (num_hidden, num_hidden))),
                   Exponential(5.0), name="hid_hid")
    return net, inp, out


def rank_share(values, rank, num_ranks):
    """This rank's part of every batch: batch k is x[k B:(k + 1) B], rank r takes
    its r-th slice of B / num_ranks examples."""
    local = BATCH_SIZE // num_ranks
    return [values[start + rank * local + i] for start in range(0, len(values), BATCH_SIZE)
            for i in range(local) if start + rank * local + i < len(values)]


def train(communicator=None, num_hidden=16):
    trains, labels = data()
    if communicator is not None:
        trains = rank_share(trains, communicator.rank, communicator.num_ranks)
        labels = np.array(rank_share(labels, communicator.rank, communicator.num_ranks))
    net, inp, out = build(num_hidden)
    compiled = EventPropCompiler(TIMESTEPS, "sparse_categorical_crossentropy",
                                 optimiser=Adam(0.01), batch_size=BATCH_SIZE,
                                 reg_lambda_upper=1e-3, reg_lambda_lower=1e-3, reg_nu_upper=2,
                                 communicator=communicator).compile(net)
    metrics, _ = compiled.train({inp: trains}, {out: labels}, num_epochs=EPOCHS,
                                shuffle=False, callbacks=[])
    weights = {conn.name: w.copy() for conn, w in compiled.event_prop.weights().items()}
    return weights, metrics[out].state


if __name__ == "__main__":
    out_folder, mode = sys.argv[1], sys.argv[2]
    communicator = MPI()
    if mode == "mismatch":
        try:
            train(communicator, 16 if communicator.rank == 0 else 17)
        except ValueError as error:
            print(f"rank {communicator.rank} refused: {error}")
        sys.exit(0)
    weights, state = train(communicator)
    np.savez(f"{out_folder}/rank{communicator.rank}.npz", **weights,
             **{f"metric_{k}": v for k, v in state.items()})
