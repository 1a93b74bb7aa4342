"""Which cluster a run gets, and the driver's answers to bad clients and odd inputs:
each mistake raises a specific error before any work, nothing hangs."""
import threading
import urllib.request
import weakref

import dask
import distributed.client
import numpy as np
import pytest
from distributed import Client, LocalCluster

import snnflow.distributed as sd
from snnflow import InputLayer, Layer, SequentialNetwork
from snnflow.callbacks import SpikeRecorder, VarRecorder
from snnflow.compilers import InferenceCompiler
from snnflow.connectivity import Dense
from snnflow.distributed import cluster as cluster_module
from snnflow.neurons import IntegrateFire, IntegrateFireInput


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(5)
    net = SequentialNetwork()
    with net:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 6, record_spikes=True)
        out = Layer(Dense(rng.normal(0.4, 0.3, (6, 3))),
                    IntegrateFire(v_thresh=1.0, readout="spike_count"))
    x = rng.uniform(0.0, 0.6, (12, 6))
    y = rng.integers(0, 3, 12)
    return net, inp, out, x, y, InferenceCompiler(evaluate_timesteps=8, batch_size=4)


def recorders(inp, out):
    return [SpikeRecorder(inp, key="spikes"), VarRecorder(out, "v", key="v")]


def test_embedded_cluster_logs_its_dashboard_once_and_serves_it(problem, capfd, monkeypatch):
    """bokeh is installed with snnflow: the link answers, and keep_cluster keeps it
    up until Enter (here: the patched input) is pressed."""
    net, inp, out, x, y, compiler = problem
    pages = []

    def press_enter_after_looking():
        err = capfd.readouterr().err
        assert "The run is done; the cluster stays up for its dashboard" in err
        link = [line for line in err.splitlines()
                if line.startswith("Dask dashboard: ")][0].split(": ", 1)[1]
        with urllib.request.urlopen(link, timeout=30) as page:
            pages.append((page.status, page.read().decode()))
        return ""
    monkeypatch.setattr("builtins.input", press_enter_after_looking)
    monkeypatch.setattr(cluster_module, "default_workers", lambda: 1)
    metrics, _ = sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=[],
                             keep_cluster=True)
    assert metrics[out].result is not None
    status, html = pages[0]
    assert status == 200 and "Dask needs bokeh" not in html and "bokeh" in html.lower()

    sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=[])
    assert capfd.readouterr().err.count("Dask dashboard: http://127.0.0.1:") == 1


def test_keep_cluster_without_a_terminal_closes_at_once(problem, monkeypatch):
    def no_terminal():
        raise EOFError
    monkeypatch.setattr("builtins.input", no_terminal)
    monkeypatch.setattr(cluster_module, "default_workers", lambda: 1)
    net, inp, out, x, y, compiler = problem
    sd.predict(net, compiler, {inp: x}, [out], callbacks=[], keep_cluster=True)


@pytest.mark.parametrize("client_argument, error, message", [
    ("not an address", ValueError, "client 'not an address' is not a scheduler address: "
                                   "expected 'tcp://HOST:PORT'"),
    (42, TypeError, "client must be a distributed.Client, a scheduler address or None, got 42"),
])
def test_bad_clients_are_refused_before_any_work(problem, client_argument, error, message):
    net, inp, out, x, y, compiler = problem
    with pytest.raises(error, match=message):
        sd.evaluate(net, compiler, {inp: x}, {out: y}, client=client_argument)


def test_a_closed_client_is_refused(problem, client):
    net, inp, out, x, y, compiler = problem
    closed = Client(client.scheduler.address)
    closed.close()
    with pytest.raises(ValueError, match="is closed: pass a running distributed.Client"):
        sd.evaluate(net, compiler, {inp: x}, {out: y}, client=closed)


def test_keep_cluster_is_for_the_embedded_cluster_only(problem, client):
    net, inp, out, x, y, compiler = problem
    with pytest.raises(ValueError, match="keep_cluster keeps the embedded cluster"):
        sd.evaluate(net, compiler, {inp: x}, {out: y}, client=client, keep_cluster=True)
    with pytest.raises(TypeError, match="keep_cluster must be True or False, got 'yes'"):
        sd.evaluate(net, compiler, {inp: x}, {out: y}, keep_cluster="yes")


def test_overwrite_must_be_a_bool(problem, tmp_path):
    net, inp, out, x, y, compiler = problem
    with pytest.raises(TypeError, match="overwrite must be True or False, got 'yes'"):
        sd.evaluate(net, compiler, {inp: x}, {out: y}, store=tmp_path / "s.zarr",
                    overwrite="yes")


def test_an_unreachable_scheduler_times_out_with_a_clear_error(problem):
    net, inp, out, x, y, compiler = problem
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), \
            pytest.raises(ConnectionError, match=r"no Dask scheduler answered at "
                                                 r"'tcp://127.0.0.1:9' within 1 s"):
        sd.evaluate(net, compiler, {inp: x}, {out: y}, client="tcp://127.0.0.1:9")


def test_no_hang_on_another_clients_event_loop(problem, client, monkeypatch):
    """A client that failed to start stays the default client: the run must follow
    its own client's loop, not that one's."""
    net, inp, out, x, y, compiler = problem
    # The failed client is this test's default only
    monkeypatch.setattr(distributed.client, "_global_clients",
                        weakref.WeakValueDictionary(distributed.client._global_clients))
    with pytest.raises(ValueError):
        Client("not an address")   # registers itself as the default client, then fails
    result = {}
    run = threading.Thread(target=lambda: result.update(
        metrics=sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=[],
                            client=client)[0]), daemon=True)
    run.start()
    run.join(60)
    assert not run.is_alive(), "evaluate hung on another client's event loop"
    assert result["metrics"][out].result is not None


@pytest.mark.parametrize("with_store", [False, True])
def test_an_empty_test_set_gives_the_in_process_result(problem, client, tmp_path, with_store):
    net, inp, out, x, y, compiler = problem
    store = tmp_path / "empty.zarr" if with_store else None
    expected_metrics, expected = compiler.compile(net).evaluate(
        {inp: x[:0]}, {out: y[:0]}, callbacks=recorders(inp, out))
    metrics, cb_data = sd.evaluate(net, compiler, {inp: x[:0]}, {out: y[:0]},
                                   callbacks=recorders(inp, out), client=client, store=store)
    assert metrics[out].state == expected_metrics[out].state and metrics[out].result is None
    assert [len(part) for part in cb_data["spikes"]] == [0, 0] and len(cb_data["v"]) == 0
    assert set(cb_data) == set(expected)
    predictions, _ = sd.predict(net, compiler, {inp: x[:0]}, [out], callbacks=[], client=client)
    assert predictions[out].shape == (0, 3)


def test_non_finite_inputs_simulate_as_ieee_floats(problem, client):
    """Documented in distributed.md (Inputs): a NaN current never reaches the
    threshold, +inf fires every step; in process and distributed alike."""
    net, inp, out, x, y, compiler = problem
    x = x.copy()
    x[0, :] = np.nan
    x[1, :] = np.inf
    callbacks = [SpikeRecorder(inp, key="spikes")]
    expected_metrics, expected = compiler.compile(net).evaluate({inp: x}, {out: y},
                                                                callbacks=callbacks)
    metrics, cb_data = sd.evaluate(net, compiler, {inp: x}, {out: y}, client=client,
                                   callbacks=[SpikeRecorder(inp, key="spikes")], shard_size=4)
    assert metrics[out].state == expected_metrics[out].state
    times, ids = cb_data["spikes"]
    assert len(times[0]) == 0                                  # NaN: silent
    assert len(times[1]) == 6 * compiler.evaluate_timesteps    # inf: every neuron, every step
    for got, want in zip(times, expected["spikes"][0]):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("labels", [np.array(list("abcdefghijkl")), np.array(["1"] * 12)])
def test_string_labels_are_refused_by_name(problem, client, labels):
    net, inp, out, x, y, compiler = problem
    message = r"y\[Pop1\] must hold integer labels, got dtype <U1"
    with pytest.raises(TypeError, match=message):
        compiler.compile(net).evaluate({inp: x}, {out: labels}, callbacks=[])
    with pytest.raises(TypeError, match=message):
        sd.evaluate(net, compiler, {inp: x}, {out: labels}, client=client)


def test_a_rerun_says_what_came_from_the_store(problem, client, tmp_path, capfd):
    net, inp, out, x, y, compiler = problem
    store = tmp_path / "run.zarr"
    for _ in range(2):
        sd.evaluate(net, compiler, {inp: x}, {out: y}, callbacks=recorders(inp, out),
                    client=client, store=store, shard_size=4)
    err = capfd.readouterr().err
    assert err.count("shards came from the store") == 1
    assert f"{store}: 3 of 3 shards came from the store, finished by an earlier run; ran 0" \
        in err
