"""Screenshot of the Dask dashboard while snnflow.distributed.evaluate runs.

Starts a LocalCluster with two single-threaded workers and its dashboard on a
free port of 127.0.0.1, runs a 784-128-10 integrate-and-fire network with
random weights over a few thousand random examples in many shards in a
background thread, and, once a good number of shards have finished, has
headless Chromium load the dashboard's /status page and save it as
docs/images/dashboard.png (made smaller with pngquant when it is installed).

Needs bokeh>=3.1 (the dashboard) and a `chromium` binary (Debian:
`apt-get install chromium`; add `pngquant` for a smaller file).

    python docs/examples/dashboard_screenshot.py [--output docs/images/dashboard.png]
"""
from __future__ import annotations

import argparse
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
from distributed import Client, LocalCluster

import snnflow.distributed
from snnflow import InputLayer, Layer, SequentialNetwork
from snnflow.compilers import InferenceCompiler
from snnflow.connectivity import Dense
from snnflow.neurons import IntegrateFire, IntegrateFireInput

EXAMPLES = 6000
TIMESTEPS = 500
BATCH_SIZE = 32
#: Two batches per shard: many short tasks fill the task stream
SHARD_SIZE = 64
#: Shards that must have finished before the screenshot, so the task stream and
#: the progress bar have something to show and the run is still going
SHARDS_BEFORE_SCREENSHOT = 30

DEFAULT_OUTPUT = pathlib.Path(__file__).resolve().parents[1] / "images" / "dashboard.png"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_problem():
    rng = np.random.default_rng(0)
    network = SequentialNetwork()
    with network:
        inputs = InputLayer(IntegrateFireInput(v_thresh=1.0), 784)
        hidden = Layer(Dense(rng.normal(0.0, 0.05, (784, 128)).astype(np.float32)),
                       IntegrateFire(v_thresh=1.0))
        outputs = Layer(Dense(rng.normal(0.0, 0.2, (128, 10)).astype(np.float32)),
                        IntegrateFire(v_thresh=1.0, readout="spike_count"))
    x = rng.random((EXAMPLES, 784), dtype=np.float32)
    y = rng.integers(0, 10, EXAMPLES)
    compiler = InferenceCompiler(evaluate_timesteps=TIMESTEPS, batch_size=BATCH_SIZE)
    return network, compiler, {inputs: x}, {outputs: y}, outputs


def finished_shards(dask_scheduler) -> int:
    """Runs on the scheduler: shard tasks whose result is held."""
    return sum(1 for key, task in dask_scheduler.tasks.items()
               if str(key).startswith("snnflow-shard-") and task.state == "memory")


def screenshot(url: str, output: pathlib.Path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("needs a chromium binary (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        # The page's plots arrive over a websocket: give its scripts three seconds
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", "--window-size=1400,900",
                        "--virtual-time-budget=3000", f"--screenshot={output}", url],
                       check=True, timeout=120, capture_output=True)
    if shutil.which("pngquant"):
        subprocess.run(["pngquant", "--force", "--skip-if-larger", "--output", str(output),
                        "--", str(output)], check=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=pathlib.Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)

    network, compiler, x, y, outputs = build_problem()
    port = free_port()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=f"127.0.0.1:{port}") as cluster, \
            Client(cluster) as client:
        result = {}

        def run():
            try:
                result["metrics"], _ = snnflow.distributed.evaluate(
                    network, compiler, x, y, callbacks=[], client=client,
                    shard_size=SHARD_SIZE)
            except BaseException as error:  # reported by the main thread
                result["error"] = error

        evaluation = threading.Thread(target=run)
        start = time.perf_counter()
        evaluation.start()
        while evaluation.is_alive() and \
                client.run_on_scheduler(finished_shards) < SHARDS_BEFORE_SCREENSHOT:
            time.sleep(0.2)
        if not evaluation.is_alive():
            sys.exit(f"the evaluation ended before the screenshot: {result.get('error')!r}")
        print(f"{client.run_on_scheduler(finished_shards)} shards done after "
              f"{time.perf_counter() - start:.1f} s; taking the screenshot")
        screenshot(f"http://127.0.0.1:{port}/status", args.output)
        print(f"screenshot taken after {time.perf_counter() - start:.1f} s")
        evaluation.join()
        if "error" in result:
            raise result["error"]
        print(f"evaluation finished after {time.perf_counter() - start:.1f} s, "
              f"accuracy {result['metrics'][outputs].result:.4f}")
    print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
