"""The GeNN engine on a GPU against mlGeNN on the same GPU, in one process.

  mnist        784-128-10 IntegrateFire (bench/mnist.py's network and inputs), 100
               steps, per batch size: examples/s of snnflow (backend="genn") and of
               mlGeNN, each with no callbacks and with every population's spikes and
               the hidden layer's v recorded; the recording overhead
  layer_size   PoissonInput(N) -> Dense -> LeakyIntegrateFire(N) (bench/layer_size.py),
               batch 32, 500 steps, snnflow and mlGeNN: seconds per batch
  distributed  snnflow.distributed.evaluate(backend="genn") on 1 and 2 workers
               sharing the GPU, recording into a zarr store; identical to the
               in-process GPU run; examples/s

python bench/gpu/gpu_bench.py MODE --out FILE.json [--batches 128 512 2048]
   [--sizes 1000 4000 16000] [--examples N] [--no-mlgenn]
On GeNN's CPU backend (a rehearsal) give --batches 1 and small sizes."""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mnist import make_problem, network  # noqa: E402


def mnist_network(lib, w1, w2, batch_size, record):
    """bench/mnist.py's network on GeNN: snnflow's GeNN engine, or mlGeNN."""
    return network(lib, w1, w2, batch_size, record,
                   **({"backend": "genn"} if lib == "snnflow" else {}))


def recorders(lib, inp, hid, out):
    callbacks = importlib.import_module(f"{lib}.callbacks")
    return [callbacks.SpikeRecorder(inp, key="in"), callbacks.SpikeRecorder(hid, key="hid"),
            callbacks.SpikeRecorder(out, key="out"), callbacks.VarRecorder(hid, "v", key="v")]


def time_evaluate(lib, w1, w2, x, y, batch_size, record, repeats=3):
    net, compiler, inp, hid, out = mnist_network(lib, w1, w2, batch_size, record)
    start = time.perf_counter()
    compiled = compiler.compile(net, name=f"{lib}_mnist_{batch_size}_{int(record)}") \
        if lib == "ml_genn" else compiler.compile(net)
    build = time.perf_counter() - start
    with compiled:
        # One warm-up batch: the first transfers and launches cost extra
        compiled.evaluate({inp: x[:batch_size]}, {out: y[:batch_size]},
                          callbacks=recorders(lib, inp, hid, out) if record else [])
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            metrics, data = compiled.evaluate(
                {inp: x}, {out: y}, callbacks=recorders(lib, inp, hid, out) if record else [])
            times.append(time.perf_counter() - start)
        accuracy = float(metrics[out].result)
        spikes = sum(len(t) for t in data["hid"][0]) if record else None
    return {"library": lib, "batch_size": batch_size, "record": record,
            "examples": len(x), "build_s": build, "all_s": times,
            "examples_per_s": len(x) / min(times), "accuracy": accuracy,
            "hidden_spikes": spikes}


def run_mnist(args):
    rows = []
    for batch_size in args.batches:
        examples = args.examples or max(4 * batch_size, 2048)
        w1, w2, x, y = make_problem(examples)
        for lib in ["snnflow"] + ([] if args.no_mlgenn else ["ml_genn"]):
            for record in (False, True):
                row = time_evaluate(lib, w1, w2, x, y, batch_size, record)
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def layer_network(lib, n, batch_size, rate_hz=20.0):
    top = importlib.import_module(lib)
    compilers = importlib.import_module(f"{lib}.compilers")
    connectivity = importlib.import_module(f"{lib}.connectivity")
    neurons = importlib.import_module(f"{lib}.neurons")
    rng = np.random.default_rng(3)
    # Weights scaled with N (bench/layer_size.py): the layer fires a few % per step
    w = rng.normal(0.0, 1.0, (n, n)).astype(np.float32) * np.float32(3.0 / np.sqrt(n))
    net = top.Network()
    with net:
        inp = top.Population(neurons.PoissonInput(), n)
        lif = top.Population(neurons.LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0,
                                                        readout="spike_count"), n)
        top.Connection(inp, lif, connectivity.Dense(w))
    options = {"backend": "genn"} if lib == "snnflow" else {}
    compiler = compilers.InferenceCompiler(evaluate_timesteps=500, dt=1.0,
                                           batch_size=batch_size, **options)
    rates = np.full((batch_size, n), rate_hz / 1000.0, dtype=np.float32)
    return net, compiler, inp, lif, rates


def run_layer_size(args):
    rows = []
    batch_size = args.batches[0] if args.batches == [1] else 32
    for n in args.sizes:
        for lib in ["snnflow"] + ([] if args.no_mlgenn else ["ml_genn"]):
            net, compiler, inp, lif, rates = layer_network(lib, n, batch_size)
            start = time.perf_counter()
            compiled = compiler.compile(net, name=f"{lib}_layer_{n}") \
                if lib == "ml_genn" else compiler.compile(net)
            build = time.perf_counter() - start
            with compiled:
                compiled.predict({inp: rates}, [lif], callbacks=[])
                times = []
                for _ in range(3):
                    start = time.perf_counter()
                    counts = compiled.predict({inp: rates}, [lif], callbacks=[])
                    times.append(time.perf_counter() - start)
            counts = counts[0] if isinstance(counts, tuple) else counts
            counts = counts[lif] if isinstance(counts, dict) else counts[0]
            row = {"library": lib, "n": n, "batch_size": batch_size, "steps": 500,
                   "build_s": build, "all_s": times, "s_per_batch": min(times),
                   "ns_per_neuron_step": min(times) / (batch_size * 500 * n) * 1e9,
                   "spikes_per_neuron_step": float(np.sum(counts)) / (batch_size * 500 * n)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def run_distributed(args):
    from distributed import Client, LocalCluster

    import snnflow.distributed as sd
    batch_size = args.batches[0]
    examples = args.examples or 16 * batch_size
    w1, w2, x, y = make_problem(examples)
    net, compiler, inp, hid, out = mnist_network("snnflow", w1, w2, batch_size, True)
    start = time.perf_counter()
    expected = compiler.compile(net).evaluate({inp: x}, {out: y},
                                              callbacks=recorders("snnflow", inp, hid, out))
    rows = [{"workers": 0, "examples": examples, "batch_size": batch_size,
             "seconds": time.perf_counter() - start}]
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster, \
                Client(cluster) as client, tempfile.TemporaryDirectory() as directory:
            shard = examples // (2 * workers) // batch_size * batch_size or batch_size
            # Once to build each worker's model, then timed into a fresh store
            sd.evaluate(net, compiler, {inp: x[:shard * workers]}, {out: y[:shard * workers]},
                        callbacks=recorders("snnflow", inp, hid, out), client=client,
                        shard_size=shard)
            start = time.perf_counter()
            got = sd.evaluate(net, compiler, {inp: x}, {out: y},
                              callbacks=recorders("snnflow", inp, hid, out), client=client,
                              shard_size=shard, store=os.path.join(directory, "run.zarr"))
            seconds = time.perf_counter() - start
            identical = got[0][out].state == expected[0][out].state and all(
                _same(got[1][k], expected[1][k]) for k in expected[1])
            row = {"workers": workers, "examples": examples, "batch_size": batch_size,
                   "shard_size": shard, "seconds": seconds,
                   "examples_per_s": examples / seconds, "identical_to_in_process": identical}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _plain(value):
    """Recorded data as nested lists of arrays (a store's is read lazily)."""
    if isinstance(value, np.ndarray) or np.isscalar(value):
        return np.asarray(value)
    if isinstance(value, (list, tuple)) or hasattr(value, "__getitem__"):
        return [_plain(value[i]) for i in range(len(value))]
    return np.asarray(value)


def _same(a, b):
    try:
        np.testing.assert_equal(_plain(a), _plain(b))
        return True
    except AssertionError:
        return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["mnist", "layer_size", "distributed"])
    parser.add_argument("--out", required=True)
    parser.add_argument("--batches", type=int, nargs="+", default=[128, 512, 2048])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 16000])
    parser.add_argument("--examples", type=int)
    parser.add_argument("--no-mlgenn", action="store_true")
    args = parser.parse_args()
    import pygenn
    from snnflow.backends.genn.engine import BACKEND
    info = {"pygenn": pygenn.__version__, "genn_backend": BACKEND, "python": sys.version}
    # mlGeNN and GeNN build into the working directory: keep them out of the checkout
    os.chdir(tempfile.mkdtemp(prefix="snnflow-gpu-bench-"))
    rows = {"mnist": run_mnist, "layer_size": run_layer_size,
            "distributed": run_distributed}[args.mode](args)
    Path(args.out).write_text(json.dumps({"info": info, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
