"""Screenshot of the Dask dashboard while snnflow.distributed.evaluate runs.

Starts a LocalCluster with two single-threaded workers and its dashboard on a
free port of 127.0.0.1, runs a 784-128-10 integrate-and-fire network with
random weights over 12,000 random examples, in 8 shards, in a
background thread, and, while the shards run, has headless Chromium open the
dashboard's /status page and saves it as docs/images/dashboard.png (made
smaller with pngquant when that is installed). It also reads, from the page's
Bokeh documents, the task names the task stream shows, and prints them: the
test suite runs this script's ``run`` on a smaller evaluation and checks that
they are snnflow's (tests/test_dashboard.py).

Chromium's own ``--screenshot`` flag is no use here: it captures as soon as the
page has loaded, but the dashboard's plots arrive afterwards over a websocket
(even ``--virtual-time-budget`` does not wait for them, so the page comes out
blank). So the script starts Chromium with ``--remote-debugging-port`` and asks
it for the screenshot over the DevTools protocol once the plots are drawn,
through tornado's websocket client (tornado comes with distributed).

Needs a ``chromium`` binary (Debian: ``apt-get install chromium``; add
``pngquant`` for a smaller file); bokeh, which draws the dashboard, comes with
snnflow.

    python docs/examples/dashboard_screenshot.py [--output docs/images/dashboard.png]
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import numpy as np
from distributed import Client, LocalCluster
from tornado.websocket import websocket_connect

import snnflow.distributed
from snnflow import InputLayer, Layer, SequentialNetwork
from snnflow.compilers import InferenceCompiler
from snnflow.connectivity import Dense
from snnflow.neurons import IntegrateFire, IntegrateFireInput

EXAMPLES = 12000
TIMESTEPS = 500
BATCH_SIZE = 32
#: Four shards per worker, each its own task (smaller shards would share tasks)
SHARD_SIZE = 1500
#: Shards that must have finished before Chromium opens the page, so the task
#: stream already has something in it; the page then takes a while to draw
SHARDS_BEFORE_SCREENSHOT = 2
#: Once the plots are drawn, wait this long for a few more updates (the
#: dashboard refreshes about every 100 ms to 1 s)
SETTLE_SECONDS = 5.0
WIDTH, HEIGHT = 1400, 900
#: A point (CSS pixels) inside the task stream panel's lower worker row
HOVER = (900, 420)

DEFAULT_OUTPUT = pathlib.Path(__file__).resolve().parents[1] / "images" / "dashboard.png"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_problem(examples=EXAMPLES):
    rng = np.random.default_rng(0)
    network = SequentialNetwork()
    with network:
        inputs = InputLayer(IntegrateFireInput(v_thresh=1.0), 784)
        Layer(Dense(rng.normal(0.0, 0.05, (784, 128)).astype(np.float32)),
              IntegrateFire(v_thresh=1.0))
        outputs = Layer(Dense(rng.normal(0.0, 0.2, (128, 10)).astype(np.float32)),
                        IntegrateFire(v_thresh=1.0, readout="spike_count"))
    x = rng.random((examples, 784), dtype=np.float32)
    y = rng.integers(0, 10, examples)
    compiler = InferenceCompiler(evaluate_timesteps=TIMESTEPS, batch_size=BATCH_SIZE)
    return network, compiler, {inputs: x}, {outputs: y}, outputs


def finished_shards(dask_scheduler) -> int:
    """Runs on the scheduler: shards that have run, from the task stream's records
    (a task's result leaves the scheduler as soon as the driver merged it). A task
    ``snnflow-shard-<run>-<i>`` ran shard i, ``...-<i>-<j>`` shards i to j."""
    stream = dask_scheduler.plugins.get("task-stream")
    done = 0
    for record in stream.buffer if stream is not None else []:
        key = str(record.get("key"))
        if key.startswith("snnflow-shard-"):
            shards = [int(word) for word in key.split("-")[3:] if word.isdigit()]
            done += shards[-1] - shards[0] + 1
    return done


class DevTools:
    """The few DevTools protocol calls this script needs, on one page."""

    def __init__(self, connection):
        self.connection = connection
        self.ids = itertools.count(1)

    async def call(self, method, **params):
        request = next(self.ids)
        self.connection.write_message(json.dumps({"id": request, "method": method,
                                                  "params": params}))
        while True:
            message = await self.connection.read_message()
            if message is None:
                raise ConnectionError("Chromium closed the DevTools connection")
            reply = json.loads(message)
            if reply.get("id") == request:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]


# The status page's plots are drawn once Bokeh has the document from the server and
# has made views of its roots (the plots live in shadow DOM, out of querySelector's reach)
PLOTS_DRAWN = ("window.Bokeh !== undefined && Bokeh.documents.length > 0 && "
               "Object.keys(Bokeh.index).length > 0")

# The task stream's data source is the one with per-task start times and
# durations; its "name" column holds what the panel labels each task with
TASK_STREAM_NAMES = """JSON.stringify((() => {
    const names = new Set();
    for (const document of Bokeh.documents) {
        for (const model of document.all_models) {
            const data = model.data;
            if (data === undefined || data === null) continue;
            const column = (name) => data instanceof Map ? data.get(name) : data[name];
            if (column("duration") === undefined || column("name") === undefined) continue;
            for (const name of column("name")) names.add(String(name));
        }
    }
    return [...names].sort();
})())"""


async def capture(page_socket: str, url: str, timeout: float = 120.0,
                  settle: float = SETTLE_SECONDS, drawn=None, ready=None) -> tuple:
    """(the page as PNG bytes, the task names its task stream shows). With
    ``drawn``/``ready`` (threading.Events): set ``drawn`` once the page is up,
    then wait for ``ready`` before taking the screenshot (the page's task stream
    shows the tasks that run while it is open)."""
    connection = await websocket_connect(page_socket, max_message_size=256 * 2**20)
    try:
        tools = DevTools(connection)
        await tools.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
                         deviceScaleFactor=1, mobile=False)
        await tools.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while True:
            plots = await tools.call("Runtime.evaluate", expression=PLOTS_DRAWN)
            if plots["result"].get("value") is True:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the dashboard at {url} drew nothing in {timeout:.0f} s")
            await asyncio.sleep(0.5)
        if drawn is not None:
            drawn.set()
            while not ready.is_set():
                await asyncio.sleep(0.1)
        await asyncio.sleep(settle)
        # Hover over a task of the task stream: its tooltip shows the task's key
        await tools.call("Input.dispatchMouseEvent", type="mouseMoved", x=HOVER[0], y=HOVER[1])
        await asyncio.sleep(0.5)
        shot = await tools.call("Page.captureScreenshot", format="png")
        names = await tools.call("Runtime.evaluate", expression=TASK_STREAM_NAMES)
        return base64.b64decode(shot["data"]), json.loads(names["result"]["value"])
    finally:
        connection.close()


def find_chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(url: str, output: pathlib.Path, settle: float = SETTLE_SECONDS,
               drawn=None, ready=None) -> list:
    """Save the page at ``url`` as ``output``; return the task stream's task names
    (``drawn`` and ``ready``: see capture)."""
    chromium = find_chromium()
    if chromium is None:
        sys.exit("needs a chromium binary (Debian: apt-get install chromium)")
    port = free_port()
    with tempfile.TemporaryDirectory() as profile:
        browser = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}",
             f"--remote-debugging-port={port}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            page = _first_page(port)
            png, names = asyncio.run(capture(page["webSocketDebuggerUrl"], url,
                                             settle=settle, drawn=drawn, ready=ready))
        finally:
            browser.terminate()
            browser.wait(timeout=30)
    output.write_bytes(png)
    if shutil.which("pngquant"):
        subprocess.run(["pngquant", "--force", "--skip-if-larger", "--output", str(output),
                        "--", str(output)], check=False)
    return names


def _first_page(port: int) -> dict:
    """The DevTools description of Chromium's page, once Chromium listens."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as reply:
                targets = json.load(reply)
            return next(t for t in targets if t["type"] == "page")
        except (OSError, StopIteration):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def run(output, examples=EXAMPLES, shard_size=SHARD_SIZE,
        shards_before=SHARDS_BEFORE_SCREENSHOT, settle=SETTLE_SECONDS) -> list:
    """Evaluate ``examples`` random examples on two workers, take the screenshot
    into ``output`` once ``shards_before`` shards are done, and return the task
    stream's task names."""
    network, compiler, x, y, outputs = build_problem(examples)
    port = free_port()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=f"127.0.0.1:{port}") as cluster, \
            Client(cluster) as client:
        result = {}

        def evaluate():
            try:
                result["metrics"], _ = snnflow.distributed.evaluate(
                    network, compiler, x, y, callbacks=[], client=client,
                    shard_size=shard_size)
            except BaseException as error:  # re-raised by the main thread
                result["error"] = error

        # The page opens first, so that its task stream sees the shards run
        drawn, ready, shot = threading.Event(), threading.Event(), {}

        def take_screenshot():
            try:
                shot["names"] = screenshot(f"http://127.0.0.1:{port}/status", output, settle,
                                           drawn, ready)
            except BaseException as error:  # re-raised by the main thread
                shot["error"] = error
                drawn.set()

        camera = threading.Thread(target=take_screenshot)
        camera.start()
        drawn.wait()
        evaluation = threading.Thread(target=evaluate)
        start = time.perf_counter()
        evaluation.start()
        while evaluation.is_alive() and \
                client.run_on_scheduler(finished_shards) < shards_before:
            time.sleep(0.2)
        ready.set()
        camera.join()
        if "error" in shot:
            raise shot["error"]
        names = shot["names"]
        done = client.run_on_scheduler(finished_shards)
        print(f"screenshot after {time.perf_counter() - start:.1f} s, with {done} of "
              f"{-(-examples // shard_size)} shards done; the task stream shows "
              f"{', '.join(names)}")
        if not evaluation.is_alive():
            print("warning: the evaluation had finished before the screenshot was taken",
                  file=sys.stderr)
        evaluation.join()
        if "error" in result:
            raise result["error"]
        print(f"evaluation finished after {time.perf_counter() - start:.1f} s, "
              f"accuracy {result['metrics'][outputs].result:.4f} (random weights)")
    return names


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=pathlib.Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    run(args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
