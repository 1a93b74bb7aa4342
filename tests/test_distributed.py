"""Distributed evaluation on a real LocalCluster (worker processes) gives the
in-process result exactly: metrics, recordings, custom callback data."""
import json
import os
import pathlib
import time
import warnings

import numpy as np
import pytest
import zarr
from distributed import Client, LocalCluster, get_task_stream

import snnflow.distributed as sd
import snnflow.store
from snnflow import InputLayer, Layer, SequentialNetwork
from snnflow.callbacks import Callback, SpikeRecorder, VarRecorder
from snnflow.compilers import InferenceCompiler
from snnflow.connectivity import Dense
from snnflow.distributed.planning import TASKS_PER_WORKER, plan_tasks
from snnflow.neurons import IntegrateFire, IntegrateFireInput, LeakyIntegrate

EXAMPLES = 50
BATCH = 8


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(3)
    net = SequentialNetwork()
    with net:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 20, record_spikes=True)
        hid = Layer(Dense(rng.normal(0.1, 0.4, (20, 30))), IntegrateFire(v_thresh=1.0),
                    record_spikes=True)
        out = Layer(Dense(rng.normal(0.0, 0.5, (30, 4))), LeakyIntegrate(readout="avg_var"))
    x = rng.random((EXAMPLES, 20)) * (rng.random((EXAMPLES, 20)) < 0.5)
    y = rng.integers(0, 4, EXAMPLES)
    compiler = InferenceCompiler(evaluate_timesteps=12, batch_size=BATCH)
    return net, inp, hid, out, x, y, compiler


def recorders(inp, hid):
    return [SpikeRecorder(inp, key="in"), SpikeRecorder(hid, key="hid", example_filter=[3, 17, 49]),
            VarRecorder(hid, "v", key="v", neuron_filter=np.s_[::3])]


class BatchExamples(Callback):
    """A custom callback returning a list: the global examples of each batch."""

    def __init__(self, key="examples"):
        self.key = key

    def set_params(self, compiled_network, **kwargs):
        self.compiled = compiled_network
        self.seen = []

    def on_batch_begin(self, batch):
        self.seen.extend(int(e) for e in self.compiled.batch_examples)

    def get_data(self):
        return self.key, self.seen


def in_process(problem, callbacks):
    net, inp, hid, out, x, y, compiler = problem
    return compiler.compile(net).evaluate({inp: x}, {out: y}, callbacks=callbacks)


def assert_same(expected, got):
    (m0, cb0), (m1, cb1) = expected, got
    assert list(m1) == list(m0)
    for key in m0:
        assert m1[key].state == m0[key].state
    assert set(cb1) == set(cb0)
    for key in ("in", "hid"):
        for part in (0, 1):
            assert len(cb1[key][part]) == len(cb0[key][part])
            for a, b in zip(cb1[key][part], cb0[key][part]):
                np.testing.assert_array_equal(a, b)
    assert len(cb1["v"]) == len(cb0["v"])
    for a, b in zip(cb1["v"], cb0["v"]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shard_size", [None, BATCH, 13, 50, 3])
def test_identical_to_in_process_in_memory(client, problem, shard_size):
    net, inp, hid, out, x, y, compiler = problem
    expected = in_process(problem, recorders(inp, hid) + [BatchExamples()])
    got = sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=recorders(inp, hid) +
                      [BatchExamples()], client=client, shard_size=shard_size)
    assert_same(expected, got)
    assert got[1]["examples"] == list(range(EXAMPLES))
    # The recordings' lists (ArrayPieces, which travel as one array each) too
    assert type(got[1]["in"][0]) is type(expected[1]["in"][0])
    assert type(got[1]["v"]) is type(expected[1]["v"])


@pytest.mark.parametrize("shard_size", [None, 13])
def test_identical_to_in_process_through_zarr(client, problem, tmp_path, shard_size):
    net, inp, hid, out, x, y, compiler = problem
    expected = in_process(problem, recorders(inp, hid))
    store = tmp_path / "run.zarr"
    got = sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=recorders(inp, hid),
                      client=client, store=store, shard_size=shard_size)
    assert_same(expected, got)
    assert_same(expected, (got[0], snnflow.store.open(store)))
    assert examples_in_store(store, "in") == list(range(EXAMPLES))
    assert_plain_zarr_reads(store, expected[1])
    # The driver consolidates the shards' nodes itself (zarr_io.consolidate): the
    # root must be the document zarr writes for the same store
    ours = json.loads((store / "zarr.json").read_bytes())
    assert len(ours["consolidated_metadata"]["metadata"]) > 20
    zarr.consolidate_metadata(zarr.storage.LocalStore(store))
    assert ours == json.loads((store / "zarr.json").read_bytes())
    # Each shard's offsets are one chunk of their own length, not a padded megabyte
    parts = list(zarr.open_group(store, mode="r")["in"]["parts"].groups())
    assert len(parts) > 1
    assert all(part["offsets"].chunks == part["offsets"].shape for _, part in parts)


def examples_in_store(store, key):
    return zarr.open_group(store, mode="r")[key]["example"][:].tolist()


def assert_plain_zarr_reads(store, expected):
    """docs/storage.md's three lines read any example of a sharded run's store as
    the in-process run returns it, with plain zarr: one array per key."""
    for k in range(EXAMPLES):
        spikes = zarr.open_group(store, mode="r")["in"]
        start, stop = spikes["spans"][k]
        steps, ids = spikes["timesteps"][start:stop], spikes["ids"][start:stop]
        np.testing.assert_array_equal(steps * np.float32(spikes.attrs["dt"]), expected["in"][0][k])
        np.testing.assert_array_equal(ids, expected["in"][1][k])
        values = zarr.open_group(store, mode="r")["v"]["values"]
        np.testing.assert_array_equal(values[k], expected["v"][k])


@pytest.mark.parametrize("shard_size", [11, 1])     # 1: shards sharing tasks
def test_predict_identical(client, problem, shard_size):
    net, inp, hid, out, x, y, compiler = problem
    expected, _ = compiler.compile(net).predict({inp: x}, [out], callbacks=[])
    got, _ = sd.predict(net, compiler, {inp: x}, [out], callbacks=[], client=client,
                        shard_size=shard_size)
    np.testing.assert_array_equal(got[out], expected[out])


def test_one_build_per_worker_across_shards_and_calls(client, problem):
    net, inp, hid, out, x, y, compiler = problem
    fresh = InferenceCompiler(evaluate_timesteps=12, batch_size=BATCH, rng_seed=99)
    before = sd.build_counts(client)
    for _ in range(2):
        sd.evaluate(net, fresh, {inp: x}, {out: y}, callbacks=[], client=client, shard_size=5)
    after = sd.build_counts(client)
    assert all(after[w] - before.get(w, 0) <= 1 for w in after)
    assert sum(after.values()) - sum(before.values()) >= 1


class Merged(BatchExamples):
    """Data that needs its own merge: a count per shard, added up."""

    def get_data(self):
        return self.key, len(self.seen)

    def merge(self, parts):
        return sum(parts)


class Unmergeable(BatchExamples):
    def get_data(self):
        return self.key, {"n": len(self.seen)}


def test_custom_merge_and_unmergeable_data(client, problem):
    net, inp, hid, out, x, y, compiler = problem
    _, cb_data = sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=[Merged("n")],
                             client=client, shard_size=9)
    assert cb_data["n"] == EXAMPLES
    with pytest.raises(TypeError, match="give the callback a merge"):
        sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=[Unmergeable("u")],
                    client=client, shard_size=9)


class FailsOn(Callback):
    def __init__(self, example):
        self.example = example

    def set_params(self, compiled_network, **kwargs):
        self.compiled = compiled_network

    def on_batch_begin(self, batch):
        if self.example in self.compiled.batch_examples:
            raise ValueError(f"bad data in example {self.example}")


def test_task_error_is_the_original_error_with_the_shard_range(client, problem):
    net, inp, hid, out, x, y, compiler = problem
    with pytest.raises(ValueError, match="bad data in example 30") as caught:
        sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=[FailsOn(30)],
                    client=client, shard_size=10)
    assert "in snnflow shard 3 (examples 30..39)" in "\n".join(caught.value.__notes__)


def test_bad_input_fails_before_any_task(client, problem, monkeypatch):
    net, inp, hid, out, x, y, compiler = problem
    submitted = []
    monkeypatch.setattr(client, "submit", lambda *a, **k: submitted.append(a))
    with pytest.raises(ValueError, match=r"x\[Pop0\] has shape \(50, 7\)"):
        sd.evaluate(net, compiler, {inp: x[:, :7]}, {out: y}, client=client)
    with pytest.raises(ValueError, match="holds label 9"):
        sd.evaluate(net, compiler, {inp: x}, {out: np.full(EXAMPLES, 9)}, client=client)
    with pytest.raises(IndexError, match="example_filter 50 is out of range"):
        sd.evaluate(net, compiler, {inp: x}, {out: y}, client=client,
                    callbacks=[SpikeRecorder(inp, key="s", example_filter=50)])
    with pytest.raises(ValueError, match="shard_size must be an int >= 1"):
        sd.evaluate(net, compiler, {inp: x}, {out: y}, client=client, shard_size=0)
    assert submitted == []


def test_task_keys_name_the_work(client, problem):
    net, inp, hid, out, x, y, compiler = problem
    with get_task_stream(client) as stream:
        sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=[], client=client,
                    shard_size=25)
    keys = sorted(task["key"] for task in stream.data if "shard" in task["key"])
    assert len(keys) == 2
    run = keys[0].split("-")[2]
    assert keys == [f"snnflow-shard-{run}-0", f"snnflow-shard-{run}-1"]


def test_small_shards_share_tasks():
    """A task runs consecutive shards once there are more than TASKS_PER_WORKER
    per worker, as evenly as they divide; never shards across a gap (those a
    resumed run has already)."""
    assert TASKS_PER_WORKER == 4
    assert plan_tasks(list(range(16)), 2) == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9),
                                              (10, 11), (12, 13), (14, 15)]
    assert [len(t) for t in plan_tasks(list(range(18)), 2)] == [3, 3] + [2] * 6
    assert plan_tasks(list(range(7)), 2) == [(i,) for i in range(7)]
    assert plan_tasks([0, 1, 2, 5, 6, 7, 8, 9], 1) == [(0, 1), (2,), (5,), (6, 7), (8, 9)]
    assert plan_tasks([], 3) == []


def test_shards_sharing_a_task_are_each_still_a_shard(client, problem, tmp_path):
    """50 one-example shards on 2 workers run as 8 tasks of 6 or 7 (consecutive)
    shards; the results, the store's parts and an error's note are per shard."""
    net, inp, hid, out, x, y, compiler = problem
    expected = in_process(problem, recorders(inp, hid) + [BatchExamples()])
    store = tmp_path / "run.zarr"
    with get_task_stream(client) as stream:
        got = sd.evaluate(net, compiler, {inp: x}, {out: y}, client=client, store=store,
                          callbacks=recorders(inp, hid) + [BatchExamples()], shard_size=1)
    assert_same(expected, got)
    assert got[1]["examples"] == list(range(EXAMPLES))
    assert sorted(zarr.open_group(store, mode="r")["shards"]) == \
        [f"p{i:06d}" for i in range(EXAMPLES)]
    ranges = sorted(tuple(int(i) for i in task["key"].split("-")[3:])
                    for task in stream.data if "shard" in task["key"])
    assert ranges[0][0] == 0 and ranges[-1][-1] == EXAMPLES - 1
    assert len(ranges) == 8 and all(b[0] == a[1] + 1 for a, b in zip(ranges, ranges[1:]))
    with pytest.raises(ValueError, match="bad data in example 30") as caught:
        sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=[FailsOn(30)],
                    client=client, shard_size=1)
    assert "in snnflow shard 30 (examples 30..30)" in "\n".join(caught.value.__notes__)


def test_progress_bar_counts_every_batch_of_shards_sharing_tasks(client, problem, capsys):
    """50 one-batch shards in 8 tasks: the driver's bar ends at 50/50 batches,
    showing the metric merged over all of them, as the in-process bar does."""
    net, inp, hid, out, x, y, compiler = problem
    expected = in_process(problem, [])[0][out].result
    sd.evaluate(net, compiler, {inp: x}, {out: y}, client=client, shard_size=1,
                callbacks=["batch_progress_bar"])
    err = capsys.readouterr().err
    assert "50/50" in err and "51/50" not in err
    assert f"sparse_categorical_accuracy={expected:.4f}" in err.rsplit("50/50", 1)[1]


def test_worker_killed_mid_run_in_memory_with_shared_tasks(problem, tmp_path):
    """In memory, a lost worker takes its tasks' rows and finished results with it:
    the driver sends the rows again and Dask reruns what was lost."""
    net, inp, hid, out, x, y, compiler = problem
    expected = in_process(problem, recorders(inp, hid) + [BatchExamples()])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        got = sd.evaluate(net, compiler, {inp: x}, {out: y}, client=client, shard_size=2,
                          callbacks=recorders(inp, hid) + [BatchExamples(),
                                                           KillsWorkerOnce(31, tmp_path / "k")])
    assert (tmp_path / "k").exists()
    assert_same(expected, got)
    assert got[1]["examples"] == list(range(EXAMPLES))


def test_resume_runs_only_unfinished_shards(client, problem, tmp_path):
    net, inp, hid, out, x, y, compiler = problem
    store = tmp_path / "run.zarr"
    first = sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=recorders(inp, hid),
                        client=client, store=store, shard_size=10)
    # As if the run had stopped before shard 2 finished: its marker is gone
    zarr.open_group(store, mode="a")["shards"].__delitem__("p000002")
    counter = BatchExamples("ran")
    got = sd.evaluate(net, compiler, {inp: x}, {out: y},
                      callbacks=recorders(inp, hid), client=client, store=store, shard_size=10)
    assert_same(in_process(problem, recorders(inp, hid)), got)
    # The first call's lazy data was read from a store another run has since written
    with pytest.raises(snnflow.store.StoreInUseError, match="rewritten by another run"):
        first[1]["in"][0][0]
    assert examples_in_store(store, "in") == list(range(EXAMPLES))
    # A different configuration is refused unless overwrite=True
    with pytest.raises(FileExistsError, match="already holds a different run"):
        sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=[counter], client=client,
                    store=store, shard_size=25)
    sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=[counter], client=client,
                store=store, shard_size=25, overwrite=True)


class KillsWorkerOnce(Callback):
    """Ends its worker process (as a crash would) the first time it meets ``example``."""

    def __init__(self, example, marker):
        self.example = example
        self.marker = str(marker)

    def set_params(self, compiled_network, **kwargs):
        self.compiled = compiled_network

    def on_batch_end(self, batch, metrics):
        if self.example in self.compiled.batch_examples and not os.path.exists(self.marker):
            pathlib.Path(self.marker).touch()
            os._exit(1)


def test_worker_killed_mid_run(problem, tmp_path):
    net, inp, hid, out, x, y, compiler = problem
    expected = in_process(problem, recorders(inp, hid))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        store = tmp_path / "run.zarr"
        got = sd.evaluate(net, compiler, {inp: x}, {out: y},
                          callbacks=recorders(inp, hid) + [KillsWorkerOnce(21, tmp_path / "k")],
                          client=client, store=store, shard_size=10)
    assert (tmp_path / "k").exists()
    assert_same(expected, got)
    assert examples_in_store(store, "in") == list(range(EXAMPLES))


def test_in_memory_inputs_send_no_large_graph(client):
    """A test set the size of MNIST's in NumPy arrays is scattered, not put into
    the task graph: Dask does not warn that it sends a large graph (it did, with
    every shard's rows inside its task, once a shard held over 10 MB)."""
    rng = np.random.default_rng(8)
    net = SequentialNetwork()
    with net:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 784)
        out = Layer(Dense(rng.normal(0.0, 0.1, (784, 10))),
                    LeakyIntegrate(readout="avg_var"))
    x = rng.random((16384, 784), dtype=np.float32)
    y = rng.integers(0, 10, 16384)
    compiler = InferenceCompiler(evaluate_timesteps=2, batch_size=1024)
    expected = compiler.compile(net).evaluate({inp: x}, {out: y}, callbacks=[])[0][out].state
    for shard_size in (None, 8192):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            metrics, _ = sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=[],
                                     client=client, shard_size=shard_size)
        assert [str(w.message) for w in caught if "large graph" in str(w.message)] == []
        assert metrics[out].state == expected


def test_zarr_and_dask_inputs_are_read_on_workers(client, problem, tmp_path):
    import dask.array as da
    net, inp, hid, out, x, y, compiler = problem
    expected = in_process(problem, [])
    stored = zarr.open_array(tmp_path / "x.zarr", mode="w", shape=x.shape, chunks=(10, 20),
                             dtype="float64")
    stored[:] = x
    for data in (stored, da.from_array(x, chunks=(7, 20))):
        got = sd.evaluate(net, compiler, {inp: data}, {out: y}, callbacks=[], client=client,
                          shard_size=16)
        assert got[0][out].state == expected[0][out].state


class Keyless:
    """get_data without a key attribute, returning an array (per-example totals)."""

    def set_params(self, compiled_network, **kwargs):
        self.compiled = compiled_network
        self.totals = []

    def on_batch_end(self, batch, metrics):
        self.totals.append(self.compiled.batch_examples.copy())

    def get_data(self):
        return "totals", np.concatenate(self.totals)


def test_keyless_callback_with_array_data(client, problem):
    net, inp, hid, out, x, y, compiler = problem
    _, expected = in_process(problem, [Keyless()])
    _, got = sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=[Keyless()],
                         client=client, shard_size=7)
    np.testing.assert_array_equal(got["totals"], expected["totals"])


def test_resume_keeps_the_stored_plan_on_another_cluster(problem, tmp_path, client):
    net, inp, hid, out, x, y, compiler = problem
    store = tmp_path / "run.zarr"
    sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=recorders(inp, hid),
                client=client, store=store)  # default plan for 2 workers
    expected = in_process(problem, recorders(inp, hid))
    zarr.open_group(store, mode="a")["shards"].__delitem__("p000001")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as single:
        got = sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=recorders(inp, hid),
                          client=single, store=store)
        with pytest.raises(FileExistsError, match="leave shard_size out to resume"):
            sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=recorders(inp, hid),
                        client=single, store=store, shard_size=3)
    assert_same(expected, got)
    assert examples_in_store(store, "in") == list(range(EXAMPLES))


def test_identical_runs_at_the_same_time_into_two_stores(client, problem, tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    net, inp, hid, out, x, y, compiler = problem
    expected = in_process(problem, recorders(inp, hid))

    def one(name):
        return sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=recorders(inp, hid),
                           client=client, store=tmp_path / name, shard_size=5)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(one, ["a.zarr", "b.zarr"]))
    for got in results:
        assert_same(expected, got)


def test_relative_store_path(client, problem, tmp_path, monkeypatch):
    net, inp, hid, out, x, y, compiler = problem
    monkeypatch.chdir(tmp_path)
    sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=recorders(inp, hid),
                client=client, store="relative.zarr", shard_size=20)
    assert examples_in_store(tmp_path / "relative.zarr", "in") == list(range(EXAMPLES))


def _kill_a_worker(client):
    import signal
    pids = client.run(os.getpid)
    os.kill(sorted(pids.values())[0], signal.SIGKILL)


def _run_killing_a_worker(problem, tmp_path, moment, monkeypatch, example=21):
    """One distributed run into a store whose worker is SIGKILLed at ``moment``:
    "mid-run" (at ``example``), "after the last shard" (the driver has every
    result) or "consolidating" (the driver writes the store's metadata)."""
    import snnflow.distributed.driver as driver
    from snnflow.store import zarr_run
    net, inp, hid, out, x, y, compiler = problem
    store = tmp_path / "run.zarr"
    callbacks = recorders(inp, hid)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        if moment == "mid-run":
            callbacks.append(KillsWorkerOnce(example, tmp_path / f"k{example}"))
        elif moment == "after the last shard":
            finish = driver.Run.finish
            monkeypatch.setattr(driver.Run, "finish",
                                lambda run: (_kill_a_worker(client), finish(run))[1])
        else:
            consolidate = zarr_run.consolidate
            monkeypatch.setattr(zarr_run, "consolidate", lambda store, root: (
                _kill_a_worker(client), time.sleep(0.5), consolidate(store, root))[2])
        got = sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=callbacks,
                          client=client, store=store, shard_size=10)
        monkeypatch.undo()
    return store, got


@pytest.mark.parametrize("moment", ["after the last shard", "consolidating"])
def test_worker_killed_after_the_last_shard(problem, tmp_path, monkeypatch, moment):
    store, got = _run_killing_a_worker(problem, tmp_path, moment, monkeypatch)
    assert_same(in_process(problem, recorders(inp_hid(problem)[0], inp_hid(problem)[1])), got)
    assert snnflow.store.verify(store)[0] == []
    assert examples_in_store(store, "in") == list(range(EXAMPLES))
    import xarray as xr
    tree = xr.open_datatree(store, engine="zarr")    # every group, shard markers too
    assert tree["in"]["example"].values.tolist() == list(range(EXAMPLES))
    assert tree["hid"]["spans"].sel(example=17).shape == (2,)


def test_a_local_store_the_workers_cannot_see_fails_before_any_shard(client, problem,
                                                                     tmp_path, monkeypatch):
    import snnflow.distributed.driver as driver
    net, inp, hid, out, x, y, compiler = problem
    # As if the workers ran on machines where this path is another (empty) folder
    monkeypatch.setattr(driver, "_lease_owner", lambda path: None)
    with pytest.raises(ValueError, match="shares, or use an object store"):
        sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=recorders(inp, hid),
                    client=client, store=tmp_path / "run.zarr", shard_size=10)
    assert not (tmp_path / "run.zarr" / "shards" / "p000000").exists()


@pytest.mark.slow
@pytest.mark.parametrize("repeat", range(4))
@pytest.mark.parametrize("moment", ["mid-run", "after the last shard", "consolidating"])
def test_worker_loss_many_times(problem, tmp_path, monkeypatch, moment, repeat):
    """Every run ends identical to the in-process run (or with a clear error and a
    store that a rerun completes)."""
    example = int(np.random.default_rng(repeat).integers(0, EXAMPLES))
    expected = in_process(problem, recorders(*inp_hid(problem)))
    try:
        store, got = _run_killing_a_worker(problem, tmp_path, moment, monkeypatch, example)
    except Exception:
        store = tmp_path / "run.zarr"
        net, inp, hid, out, x, y, compiler = problem
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
            got = sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=recorders(inp, hid),
                              client=client, store=store, shard_size=10)
    assert_same(expected, got)
    assert snnflow.store.verify(store)[0] == []


def inp_hid(problem):
    return problem[1], problem[2]
