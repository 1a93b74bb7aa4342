"""Pipeline and Sweep on a real LocalCluster: results equal independent in-process
runs, provenance and timings are recorded, points run concurrently, a stopped
sweep resumes with only what it lacks, and mistakes fail before any work."""
import os
import pathlib
import time
import uuid

import numpy as np
import pytest
import xarray as xr
import zarr
from distributed import Client, LocalCluster

import snnflow
from snnflow import InputLayer, Layer, SequentialNetwork
from snnflow.callbacks import Callback, SpikeRecorder
from snnflow.compilers import InferenceCompiler
from snnflow.connectivity import Dense
from snnflow.neurons import IntegrateFireInput, LeakyIntegrateFire
from snnflow.pipeline import Dataset, Pipeline, Sweep
from snnflow.utils.data import yin_yang_dataset
from snnflow.utils.fingerprint import data_fingerprint, fingerprint

EXAMPLES = 60
COMPILER = {"evaluate_timesteps": 10, "batch_size": 8}
RNG = np.random.default_rng(5)
W_HIDDEN = RNG.normal(0.4, 0.6, (4, 12)).astype(np.float32)
W_OUT = RNG.normal(0.0, 0.6, (12, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        yield client


def build(tau_mem=20.0, v_thresh=1.0):
    network = SequentialNetwork()
    with network:
        inputs = InputLayer(IntegrateFireInput(v_thresh=1.0), 4)
        Layer(Dense(W_HIDDEN), LeakyIntegrateFire(tau_mem=tau_mem, v_thresh=v_thresh), 12,
              record_spikes=True, name="hidden")
        outputs = Layer(Dense(W_OUT), LeakyIntegrateFire(tau_mem=tau_mem, v_thresh=v_thresh,
                                                         readout="spike_count"), 3)
    return network, inputs, outputs


def hidden_spikes(network):
    hidden = next(p for p in network.populations if p.name == "hidden")
    return [SpikeRecorder(hidden, key="hidden")]


def in_process(data, tau_mem=20.0, v_thresh=1.0, compiler=COMPILER, callbacks=()):
    """The same evaluation without snnflow.pipeline or a cluster."""
    network, inputs, outputs = build(tau_mem, v_thresh)
    metrics, cb_data = InferenceCompiler(**compiler).compile(network).evaluate(
        {inputs: data[0]}, {outputs: data[1]},
        callbacks=callbacks(network) if callbacks else [])
    return metrics[outputs], cb_data


@pytest.fixture(scope="module")
def data():
    return yin_yang_dataset(EXAMPLES, seed=3)


def test_run_equals_in_process_with_provenance_and_timings(client, data, tmp_path):
    store = tmp_path / "run.zarr"
    result = Pipeline(build, data, compiler=COMPILER, callbacks=hidden_spikes, store=store,
                      cluster=client, shard_size=16).run()
    expected, expected_data = in_process(data, callbacks=hidden_spikes)
    (metric,) = result.metrics.values()
    assert metric.state == expected.state
    for got, want in zip(result.cb_data["hidden"], expected_data["hidden"]):
        assert len(got) == len(want) == EXAMPLES
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    assert result.store == str(store)
    assert set(result.timings) == {"build", "simulate", "write", "merge", "wall"}
    assert result.timings["simulate"] > 0 and result.timings["write"] > 0
    assert all(seconds >= 0 for seconds in result.timings.values())

    record = zarr.open_group(store, mode="r").attrs["provenance"]
    assert record["snnflow"] == snnflow.__version__
    assert record["parameters"]["evaluate_timesteps"] == 10
    assert record["parameters"]["batch_size"] == 8
    assert record["engine"] == "numpy"
    assert list(record["metrics"].values()) == ["sparse_categorical_accuracy"]
    assert record["cluster"] == {"workers": 2, "threads": 2}
    assert record["data_fingerprint"] == fingerprint([data_fingerprint(data[0]),
                                                      data_fingerprint(data[1])])
    # The record survives the store's reader
    assert snnflow.store.open(store)["hidden"][0][0] is not None


def test_params_reach_the_network(client, data):
    result = Pipeline(build, data, params={"tau_mem": 5.0, "v_thresh": 0.5},
                      compiler=COMPILER, callbacks=[], cluster=client).run()
    expected, _ = in_process(data, tau_mem=5.0, v_thresh=0.5)
    assert next(iter(result.metrics.values())).state == expected.state
    assert result.store is None


def test_generated_dataset_equals_the_arrays_it_stands_for(client):
    # Chunks of 4096 examples: the shards and batches cross chunk boundaries
    size = 5000
    got = Pipeline(build, Dataset("yin_yang", size, seed=2),
                   compiler={"evaluate_timesteps": 4, "batch_size": 300}, callbacks=[],
                   cluster=client, shard_size=1100).run()
    expected, _ = in_process(yin_yang_dataset(size, seed=2),
                             compiler={"evaluate_timesteps": 4, "batch_size": 300})
    assert next(iter(got.metrics.values())).state == expected.state


GRID = {"tau_mem": [5.0, 20.0], "v_thresh": [0.5, 1.0, 2.0]}


def test_sweep_summary_equals_independent_runs(client, data, tmp_path):
    store = tmp_path / "sweep.zarr"
    pipeline = Pipeline(build, data, compiler=COMPILER, callbacks=["batch_progress_bar"],
                        store=store, cluster=client)
    summary = Sweep(pipeline, GRID).run()
    assert list(summary.dims) == ["tau_mem", "v_thresh"]
    accuracy = summary["sparse_categorical_accuracy"]
    for tau_mem in GRID["tau_mem"]:
        for v_thresh in GRID["v_thresh"]:
            expected, _ = in_process(data, tau_mem, v_thresh)
            assert accuracy.sel(tau_mem=tau_mem, v_thresh=v_thresh) == expected.result
    saved = xr.open_zarr(store, group="summary").load()
    xr.testing.assert_identical(saved, summary)
    point = zarr.open_group(store / "points" / "tau_mem=5.0,v_thresh=2.0", mode="r")
    assert point.attrs["snnflow"]["complete"]
    assert point.attrs["provenance"]["parameters"]["v_thresh"] == 2.0


def test_sweep_over_compiler_options_and_data(client, data, tmp_path):
    other = yin_yang_dataset(EXAMPLES, seed=4)
    pipeline = Pipeline(build, data, compiler=COMPILER, callbacks=[],
                        store=tmp_path / "sweep.zarr", cluster=client)
    summary = Sweep(pipeline, {"evaluate_timesteps": [5, 10],
                               "data": {"seed3": data, "seed4": other}}).run()
    for timesteps in (5, 10):
        for label, arrays in (("seed3", data), ("seed4", other)):
            expected, _ = in_process(arrays, compiler=dict(COMPILER,
                                                           evaluate_timesteps=timesteps))
            assert summary["sparse_categorical_accuracy"].sel(
                evaluate_timesteps=timesteps, data=label) == expected.result


class Rendezvous(Callback):
    """Waits at the start of its shard until ``count`` shards have started: with
    one shard per point, that can only happen if points run at the same time."""

    def __init__(self, folder, count):
        self.folder = str(folder)
        self.count = count

    def on_test_begin(self):
        pathlib.Path(self.folder, uuid.uuid4().hex).touch()
        deadline = time.monotonic() + 30
        while len(os.listdir(self.folder)) < self.count:
            if time.monotonic() > deadline:
                raise TimeoutError("the other points never started")
            time.sleep(0.01)


def test_points_run_at_the_same_time(client, data, tmp_path):
    (tmp_path / "started").mkdir()
    pipeline = Pipeline(build, data, compiler=COMPILER, store=tmp_path / "sweep.zarr",
                        callbacks=[Rendezvous(tmp_path / "started", 2)], cluster=client,
                        shard_size=EXAMPLES)
    Sweep(pipeline, {"v_thresh": [0.5, 1.0]}).run()
    assert len(os.listdir(tmp_path / "started")) == 2


class FailsOnceAt(Callback):
    """Fails the shard of the point with threshold ``v_thresh`` the first time."""

    def __init__(self, v_thresh, marker):
        self.v_thresh = v_thresh
        self.marker = str(marker)

    def set_params(self, compiled_network, **kwargs):
        self.network = compiled_network.network

    def on_test_begin(self):
        if (self.network.populations[-1].neuron.v_thresh == self.v_thresh
                and not os.path.exists(self.marker)):
            pathlib.Path(self.marker).touch()
            raise RuntimeError("the sweep stops here")


def executing(dask_worker) -> int:
    """Tasks running on a worker, those the scheduler forgot (cancelled) included."""
    return len(dask_worker.state.executing)


def submitted_shards(client, monkeypatch):
    """The task keys of the shards submitted from now on (a block of shards at a time)."""
    keys = []
    original = client.map

    def counting_map(*args, **kwargs):
        keys.extend(kwargs["key"])
        return original(*args, **kwargs)
    monkeypatch.setattr(client, "map", counting_map)
    return keys


def test_stopped_sweep_reruns_only_what_it_lacks(client, data, tmp_path, monkeypatch, capfd):
    store = tmp_path / "sweep.zarr"
    grid = {"v_thresh": [0.5, 1.0, 1.5, 2.0]}
    pipeline = Pipeline(build, data, compiler=COMPILER, store=store, cluster=client,
                        callbacks=[FailsOnceAt(2.0, tmp_path / "failed")], shard_size=30)
    with pytest.raises(RuntimeError, match="the sweep stops here"):
        Sweep(pipeline, grid).run()
    # Cancelling does not stop a shard that was running: it still finishes (and
    # writes its marker) on its worker; let it, so that the store stays as counted
    deadline = time.monotonic() + 60
    while sum(client.run(executing).values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    # What the store holds decides what must run again: every shard without a
    # completion marker. (How many points finished before the failure stopped
    # the sweep depends on timing; the failed shard is always missing.)
    shards = 2
    points = dict(zarr.open_group(store / "points", mode="r").groups())
    finished = {name: sum(1 for _, shard in group["shards"].groups()
                          if shard.attrs.get("complete")) for name, group in points.items()}
    missing = sum(shards - done for done in finished.values()) + \
        shards * (len(grid["v_thresh"]) - len(points))
    whole = sum(1 for done in finished.values() if done == shards)
    assert missing >= 1

    keys = submitted_shards(client, monkeypatch)
    capfd.readouterr()
    summary = Sweep(pipeline, grid).run()
    assert len(keys) == missing
    if any(finished.values()):
        assert f"{store}: {whole} of 4 points came from the store, finished by an " \
               f"earlier run" in capfd.readouterr().err
    for v_thresh in grid["v_thresh"]:
        expected, _ = in_process(data, v_thresh=v_thresh)
        assert summary["sparse_categorical_accuracy"].sel(v_thresh=v_thresh) == expected.result
    # A finished sweep runs nothing at all
    keys.clear()
    xr.testing.assert_identical(Sweep(pipeline, grid).run(), summary)
    assert keys == []
    assert f"{store}: 4 of 4 points came from the store" in capfd.readouterr().err


def test_mistakes_fail_before_any_work(client, data, tmp_path, monkeypatch):
    keys = submitted_shards(client, monkeypatch)
    pipeline = Pipeline(build, data, compiler=COMPILER, store=tmp_path / "s.zarr",
                        cluster=client)
    with pytest.raises(KeyError, match="grid key 'tau' is neither 'data', a compiler option"):
        Sweep(pipeline, {"tau": [1.0]})
    with pytest.raises(TypeError, match=r"grid\['v_thresh'\] must be a list of values"):
        Sweep(pipeline, {"v_thresh": 1.0})
    with pytest.raises(ValueError, match=r"grid\['v_thresh'\] is empty"):
        Sweep(pipeline, {"v_thresh": []})
    with pytest.raises(ValueError, match=r"grid\['v_thresh'\] holds 1.0 twice"):
        Sweep(pipeline, {"v_thresh": [1.0, 0.5, 1.0]})
    with pytest.raises(TypeError, match="all of one kind"):
        Sweep(pipeline, {"v_thresh": [1.0, "high"]})
    with pytest.raises(ValueError, match="dt must be a positive number of ms, got -1"):
        Sweep(pipeline, {"dt": [1.0, -1]})
    with pytest.raises(TypeError, match=r"grid\['data'\] must be a non-empty dict"):
        Sweep(pipeline, {"data": [data]})
    with pytest.raises(TypeError, match="grid must be a non-empty dict"):
        Sweep(pipeline, {})
    with pytest.raises(ValueError, match="give the Pipeline store=PATH"):
        Sweep(Pipeline(build, data, compiler=COMPILER), GRID)
    with pytest.raises(KeyError, match="unknown data set 'yinyang'; expected one of"):
        Dataset("yinyang", 100)
    with pytest.raises(ValueError, match="Dataset size must be >= 1, got 0"):
        Dataset("yin_yang", 0)
    with pytest.raises(KeyError, match="params key 'tau' is not a parameter"):
        Pipeline(build, data, params={"tau": 1.0}, compiler=COMPILER)
    with pytest.raises(KeyError, match="compiler has no option 'timesteps'"):
        Pipeline(build, data, compiler={"timesteps": 10})
    with pytest.raises(TypeError, match=r"data must be a tuple \(x, y\) or a Dataset"):
        Pipeline(build, data[0], compiler=COMPILER)
    with pytest.raises(TypeError, match="cluster must be a distributed.Client"):
        Pipeline(build, data, compiler=COMPILER, cluster=2)
    # Found when the points are built, still before the cluster gets any work
    with pytest.raises(ValueError, match=r"x\[Pop0\] has shape \(60, 3\)"):
        Pipeline(build, (data[0][:, :3], data[1]), compiler=COMPILER, cluster=client).run()
    with pytest.raises(ValueError, match=r"holds label 3"):
        Sweep(Pipeline(build, (data[0], data[1] + 1), compiler=COMPILER, cluster=client,
                       store=tmp_path / "t.zarr"), {"v_thresh": [1.0]}).run()
    assert keys == []


def test_a_store_holding_something_else_is_refused(client, data, tmp_path):
    store = tmp_path / "other.zarr"
    zarr.open_group(store, mode="w").attrs["mine"] = 1
    pipeline = Pipeline(build, data, compiler=COMPILER, store=store, cluster=client)
    with pytest.raises(FileExistsError, match="holds something other than an snnflow sweep"):
        Sweep(pipeline, {"v_thresh": [1.0]}).run()


DRIVER = """
import resource, sys
from distributed import Client
import snnflow.distributed
from snnflow.pipeline import Dataset, Pipeline, Sweep
from test_pipeline import build

if __name__ == "__main__":
    with snnflow.distributed.local_cluster(2) as cluster, Client(cluster) as client:
        pipeline = Pipeline(build, Dataset("yin_yang", int(sys.argv[1])),
                            compiler={"evaluate_timesteps": 2, "batch_size": 2048},
                            callbacks=[], store=sys.argv[2], cluster=client)
        Sweep(pipeline, {"v_thresh": [0.5, 1.0]}).run()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.slow
def test_driver_memory_is_flat_in_the_data_set_size(tmp_path):
    """A sweep of 2 points over 100,000 and over 1,000,000 generated examples per
    point: the driver's peak RSS (its own process, not the workers') is the same."""
    import subprocess
    import sys
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    peaks = {}
    for size in (100_000, 1_000_000):
        done = subprocess.run([sys.executable, str(script), str(size), str(tmp_path / f"{size}")],
                              capture_output=True, text=True, check=True,
                              env=dict(os.environ, PYTHONPATH=os.path.dirname(__file__)))
        peaks[size] = int(done.stdout.split()[-1]) / 1024  # MiB
    print(f"driver peak RSS: {peaks}")
    assert peaks[1_000_000] < peaks[100_000] + 16
