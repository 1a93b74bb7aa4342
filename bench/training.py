"""Seconds per training epoch: snnflow's EventProp against mlGeNN's (GeNN's CPU
backend, batch size 1) and against surrogate-gradient BPTT in PyTorch (what a
snnTorch user runs), on the same networks in one run.

Two configurations:

* digits: 64 latency-coded inputs -> 128 LIF -> 10 LI (avg_var), 30 steps of 1 ms,
  Adam(0.005), the 1,257 examples of pipelines/digits_train.py's training split;
  one epoch each at snnflow batch 16 and 1, mlGeNN batch 1, PyTorch batch 16.
* SHD-shaped: 700 inputs -> 256 recurrent LIF -> 20 LI (avg_var), 1,000 steps,
  batch 32, synthetic spikes (5,000 per example, uniform over channels and time);
  a few batches each (mlGeNN: a few examples at batch 1), scaled to SHD's 8,156
  training examples per epoch.

mlGeNN runs where ``import ml_genn`` works (pygenn and mlGeNN built from source,
DEVELOPERS.md), PyTorch where ``import torch`` works (bench/requirements.txt);
each is skipped otherwise. Every model uses the same initial weights.

    python bench/training.py [--shd-batches N] [--out results/training.json]
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

DIGITS_STEPS, SHD_STEPS = 30, 1000
SHD_EXAMPLES_PER_EPOCH = 8156


def library(name):
    """The names a training script imports, from snnflow or mlGeNN."""
    lib = types.SimpleNamespace(name=name)
    for module, attrs in [("", ["Connection", "Network", "Population"]),
                          (".compilers", ["EventPropCompiler"]),
                          (".connectivity", ["Dense"]),
                          (".neurons", ["LeakyIntegrate", "LeakyIntegrateFire", "SpikeInput"]),
                          (".optimisers", ["Adam"]),
                          (".synapses", ["Exponential"]),
                          (".utils.data", ["preprocess_spikes", "linear_latency_encode_data"])]:
        imported = importlib.import_module(name + module)
        for attr in attrs:
            setattr(lib, attr, getattr(imported, attr))
    return lib


def digits_data():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    x, _, y, _ = train_test_split(digits.data, digits.target, test_size=0.3, random_state=0,
                                  stratify=digits.target)
    return (x / 16.0 * 255.0).astype(np.float32), y.astype(np.int64)


def shd_data(num_examples, rng):
    examples = []
    for _ in range(num_examples):
        times = np.sort(rng.uniform(0.0, SHD_STEPS - 1.0, 5000))
        examples.append((times, rng.integers(0, 700, 5000)))
    return examples, rng.integers(0, 20, num_examples)


def weights(sizes, recurrent, rng):
    n_in, n_hid, n_out = sizes
    w = {"in": rng.normal(0.078 if n_in == 64 else 0.03, 0.045 if n_in == 64 else 0.01,
                          (n_in, n_hid)),
         "out": rng.normal(0.0, 0.1 if n_in == 64 else 0.03, (n_hid, n_out))}
    if recurrent:
        w["rec"] = rng.normal(0.0, 0.02, (n_hid, n_hid))
    return {k: v.astype(np.float32) for k, v in w.items()}


def build(lib, w, max_spikes):
    n_in, n_hid = w["in"].shape
    net = lib.Network()
    with net:
        inp = lib.Population(lib.SpikeInput(max_spikes=max_spikes), n_in)
        hid = lib.Population(lib.LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0, tau_refrac=None,
                                                    relative_reset=False), n_hid)
        out = lib.Population(lib.LeakyIntegrate(tau_mem=20.0, readout="avg_var"),
                             w["out"].shape[1])
        lib.Connection(inp, hid, lib.Dense(w["in"]), lib.Exponential(5.0))
        lib.Connection(hid, out, lib.Dense(w["out"]), lib.Exponential(5.0))
        if "rec" in w:
            lib.Connection(hid, hid, lib.Dense(w["rec"]), lib.Exponential(5.0))
    return net, inp, out


def eventprop_seconds(lib, w, trains, labels, steps, batch_size, max_spikes):
    """Seconds for one pass of train() over ``trains`` (compile excluded)."""
    net, inp, out = build(lib, w, max_spikes)
    compiler = lib.EventPropCompiler(steps, "sparse_categorical_crossentropy",
                                     optimiser=lib.Adam(0.005), batch_size=batch_size,
                                     max_spikes=max(1500, steps))
    compiled = (compiler.compile(net, name=f"bench{len(w)}{batch_size}")
                if lib.name == "ml_genn" else compiler.compile(net))
    with compiled:
        start = time.perf_counter()
        metrics, _ = compiled.train({inp: trains}, {out: labels}, num_epochs=1,
                                    shuffle=False, callbacks=[])
        seconds = time.perf_counter() - start
    return seconds, float(metrics[out].result)


def torch_seconds(w, grids, labels, steps, batch_size, num_batches):
    """Surrogate-gradient BPTT of the same network (fast-sigmoid surrogate, as
    snnTorch's default), Adam(0.005): seconds for ``num_batches`` batches."""
    import torch
    torch.manual_seed(0)
    params = {k: torch.tensor(v, requires_grad=True) for k, v in w.items()}
    optimiser = torch.optim.Adam(params.values(), lr=0.005)
    alpha, beta = float(np.exp(-1 / 20)), float(np.exp(-1 / 5))

    class Spike(torch.autograd.Function):
        @staticmethod
        def forward(ctx, v):
            ctx.save_for_backward(v)
            return (v >= 0).float()

        @staticmethod
        def backward(ctx, grad):
            (v,) = ctx.saved_tensors
            return grad / (25.0 * v.abs() + 1.0) ** 2

    start = time.perf_counter()
    for b in range(num_batches):
        x = torch.tensor(grids[b * batch_size:(b + 1) * batch_size])
        y = torch.tensor(labels[b * batch_size:(b + 1) * batch_size])
        n = x.shape[0]
        syn_h = v_h = torch.zeros(n, w["in"].shape[1])
        syn_o = v_o = torch.zeros(n, w["out"].shape[1])
        s = torch.zeros(n, w["in"].shape[1])
        total = 0
        for t in range(steps):
            drive = x[:, t] @ params["in"]
            if "rec" in params:
                drive = drive + s @ params["rec"]
            syn_o = beta * syn_o + s @ params["out"]
            syn_h = beta * syn_h + drive
            v_h = alpha * v_h + syn_h
            s = Spike.apply(v_h - 1.0)
            v_h = v_h * (1.0 - s)
            v_o = alpha * v_o + syn_o
            total = total + v_o / steps
        loss = torch.nn.functional.cross_entropy(total, y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return time.perf_counter() - start


def grid_of(examples, num_inputs, steps):
    grid = np.zeros((len(examples), steps, num_inputs), dtype=np.float32)
    for e, (times, ids) in enumerate(examples):
        grid[e, np.minimum(np.ceil(times).astype(int), steps - 1), ids] = 1.0
    return grid


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shd-batches", type=int, default=2)
    parser.add_argument("--mlgenn-shd-examples", type=int, default=8)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "training.json"))
    args = parser.parse_args()
    available = {"snnflow": library("snnflow")}
    for name in ("ml_genn", "torch"):
        try:
            available[name] = library(name) if name == "ml_genn" else importlib.import_module(name)
        except ImportError as error:
            print(f"{name} not available ({error}): skipped")
    os.chdir(tempfile.mkdtemp(prefix="snnflow-bench-"))  # GeNN builds here
    results = {"threads": len(os.sched_getaffinity(0))}
    rng = np.random.default_rng(0)

    # digits
    x, y = digits_data()
    w = weights((64, 128, 10), False, rng)
    snn = available["snnflow"]
    trains = snn.linear_latency_encode_data(x, 20.0, 0.0, 1)
    for batch_size in (16, 1):
        seconds, accuracy = eventprop_seconds(snn, w, trains, y, DIGITS_STEPS, batch_size, 64 * 32)
        results[f"digits snnflow batch {batch_size}"] = {"s_per_epoch": seconds,
                                                        "accuracy": accuracy}
    if "ml_genn" in available:
        ml = available["ml_genn"]
        ml_trains = ml.linear_latency_encode_data(x, 20.0, 0.0, 1)
        seconds, accuracy = eventprop_seconds(ml, w, ml_trains, y, DIGITS_STEPS, 1, 64 * 32)
        results["digits mlGeNN (GeNN CPU) batch 1"] = {"s_per_epoch": seconds,
                                                      "accuracy": accuracy}
    if "torch" in available:
        grids = grid_of([(t.spike_times, np.repeat(np.arange(64), np.diff(
            np.concatenate([[0], t.end_spikes])))) for t in trains], 64, DIGITS_STEPS)
        num_batches = -(-len(y) // 16)
        results["digits PyTorch BPTT batch 16"] = {
            "s_per_epoch": torch_seconds(w, grids, y, DIGITS_STEPS, 16, num_batches)}

    # SHD-shaped
    w = weights((700, 256, 20), True, rng)
    batches = args.shd_batches
    examples, labels = shd_data(32 * batches, rng)
    trains = [snn.preprocess_spikes(t, i, 700) for t, i in examples]
    seconds, _ = eventprop_seconds(snn, w, trains, labels, SHD_STEPS, 32, 32 * 5000)
    results["SHD-shaped snnflow batch 32"] = {
        "s_per_batch": seconds / batches,
        "s_per_epoch": seconds / (32 * batches) * SHD_EXAMPLES_PER_EPOCH}
    if "ml_genn" in available:
        n = args.mlgenn_shd_examples
        ml_trains = [ml.preprocess_spikes(t, i, 700) for t, i in examples[:n]]
        seconds, _ = eventprop_seconds(ml, w, ml_trains, labels[:n], SHD_STEPS, 1, 5000)
        results["SHD-shaped mlGeNN (GeNN CPU) batch 1"] = {
            "s_per_example": seconds / n, "s_per_epoch": seconds / n * SHD_EXAMPLES_PER_EPOCH}
    if "torch" in available:
        grids = grid_of(examples, 700, SHD_STEPS)
        seconds = torch_seconds(w, grids, labels, SHD_STEPS, 32, batches)
        results["SHD-shaped PyTorch BPTT batch 32"] = {
            "s_per_batch": seconds / batches,
            "s_per_epoch": seconds / (32 * batches) * SHD_EXAMPLES_PER_EPOCH}

    for name, values in results.items():
        print(f"{name}: {values}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
