"""A store is never silently wrong: the lease, checksums, missing chunks, no pickle,
no symbolic links followed, readers that notice a rewrite, `snnflow verify`."""
import json
import os
import pathlib
import pickle
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import zarr

import snnflow.store
from snnflow.cli import main
from snnflow.distributed.shard import ShardResult
from snnflow.store import StoreDamagedError, StoreInUseError, verify
from snnflow.store.lease import LEASE_KEY
from snnflow.store.zarr_run import read_shard_result, write_shard_result

from test_recording import all_recorders, input_times, run


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "run.zarr"
    run(all_recorders, store=path)
    return path


def chunk_files(store, key, array):
    return sorted((store / key / array).glob("c.*"))


def test_key_groups_are_named_after_safe_keys_and_encode_others(tmp_path):
    from snnflow.store.keys import decode_key, encode_key
    for key, name in [("hidden_spikes", "hidden_spikes"), ("in", "in"), (7, "_k7"),
                      ("../x", "_k_22_2E_2E_2Fx_22"), ("shards", "_k_22shards_22"),
                      ("_x", "_k_22_5Fx_22"),
                      (("v", 1), "_k_7B_22tuple_22_3A_5B_22v_22_2C1_5D_7D")]:
        assert encode_key(key) == name
        assert decode_key(name) == key
    # An old (layout 1) store's names still decode
    assert decode_key("k_22in_22", layout=1) == "in"


def test_every_chunk_is_checksummed_and_a_flipped_bit_raises(store):
    values = zarr.open_array(store / "v" / "values", mode="r")
    assert "crc32c" in [codec.to_dict()["name"] for codec in values.metadata.codecs]
    chunk = chunk_files(store, "v", "values")[0]
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0x10
    chunk.write_bytes(bytes(data))
    cb_data = snnflow.store.open(store)
    with pytest.raises(StoreDamagedError, match="checksum"):
        cb_data["v"][0]
    problems, _ = verify(store)
    assert any("checksum mismatch" in p for p in problems)


def test_a_missing_chunk_is_an_error_not_zeros(store):
    chunk_files(store, "in", "timesteps")[0].unlink()
    cb_data = snnflow.store.open(store)
    with pytest.raises(StoreDamagedError, match="missing"):
        cb_data["in"][0][0]
    problems, _ = verify(store)
    assert problems == ["in/timesteps/c.0: missing chunk (it would read as 0)"]
    with pytest.raises(StoreDamagedError, match="in/timesteps/c.0: missing chunk"):
        cb_data.to_xarray()


def test_verify_command_exit_status(store, capsys):
    assert main(["verify", str(store)]) == 0
    assert "verified" in capsys.readouterr().out
    chunk_files(store, "v", "values")[0].unlink()
    assert main(["verify", str(store)]) == 1
    assert "DAMAGED: 1 problem(s)" in capsys.readouterr().out
    assert main(["inspect", "--verify", str(store)]) == 1
    assert "v/values/c.0.0.0: missing chunk" in capsys.readouterr().out


def test_no_pickle_in_a_store_and_an_old_pickled_marker_is_never_loaded(tmp_path):
    store = zarr.open_group(tmp_path / "s.zarr", mode="w").store
    result = ShardResult({"out": {"correct": np.int64(3), "total": 5}},
                         {0: ("examples", [1, 2]), 2: ("totals", np.arange(4.0))},
                         {"out": np.ones((2, 3), np.float32)}, {"build": 0.5})
    assert write_shard_result(store, "p000000", result) is result
    back = read_shard_result(store, "p000000")
    assert back.metric_states == result.metric_states
    assert back.callback_data[0] == ("examples", [1, 2])
    np.testing.assert_array_equal(back.callback_data[2][1], np.arange(4.0))
    np.testing.assert_array_equal(back.predictions["out"], result.predictions["out"])
    # The marker is created once: a second attempt's result is not written
    other = ShardResult({"out": {"correct": 0, "total": 5}})
    assert write_shard_result(store, "p000000", other).metric_states == result.metric_states
    for path in pathlib.Path(tmp_path / "s.zarr").rglob("*"):
        if path.is_file():
            assert not path.read_bytes().startswith(b"\x80"), path
    # An old store's marker holds a pickle: it is refused, never unpickled
    old = zarr.open_group(tmp_path / "old.zarr", mode="w")
    group = old.create_group("shards/p000000")
    group.create_array("result", data=np.frombuffer(pickle.dumps(os.getpid), np.uint8))
    group.attrs["complete"] = True
    with pytest.raises(FileExistsError, match="pickled"):
        read_shard_result(old.store, "p000000")


def test_symbolic_links_are_never_followed(store, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep me")
    part = store / "v" / "values"
    os.rename(part, tmp_path / "moved")
    os.symlink(outside, part)
    problems, _ = verify(store)
    assert any("symbolic link" in p for p in problems)
    # Overwriting the store removes the link, not what it points at
    run(all_recorders, store=store, overwrite=True)
    assert (outside / "precious").read_text() == "keep me"
    assert not os.path.islink(part)
    # A write through a link is refused
    from snnflow.store.zarr_io import put
    os.symlink(outside, store / "in" / "evil")
    with pytest.raises(StoreDamagedError, match="symbolic link"):
        put(zarr.storage.LocalStore(store), {"in/evil/file": b"x"})
    assert sorted(os.listdir(outside)) == ["precious"]


def lease_of(store):
    return json.loads((pathlib.Path(store) / LEASE_KEY).read_text())


def hold_lease(store, heartbeat=None, pid=None, host=None):
    record = {"owner": "someone-else", "host": host or socket.gethostname(),
              "pid": pid or os.getpid(), "started": time.time(),
              "heartbeat": heartbeat or time.time(), "released": False}
    (pathlib.Path(store) / LEASE_KEY).write_text(json.dumps(record))


def test_a_live_lease_is_refused_naming_its_owner(store):
    assert lease_of(store)["released"] is True
    hold_lease(store)
    with pytest.raises(StoreInUseError, match=f"someone-else.*host {socket.gethostname()}"):
        run(all_recorders, store=store)
    assert lease_of(store)["owner"] == "someone-else"


def test_a_dead_runs_lease_is_taken_over(store):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout
    hold_lease(store, pid=int(dead))            # its process is gone
    run(all_recorders, store=store)
    hold_lease(store, heartbeat=time.time() - 3600, host="elsewhere")   # silent for an hour
    run(all_recorders, store=store)
    assert lease_of(store)["owner"] != "someone-else"


def test_lazy_data_raises_once_another_run_rewrote_the_store(tmp_path):
    store = tmp_path / "run.zarr"
    first, _ = run(all_recorders, store=store)
    kept = np.asarray(first["v"][0])                            # readable
    run(all_recorders, times=input_times(seed=1), store=store, overwrite=True)
    with pytest.raises(StoreInUseError, match="rewritten by another run"):
        first["in"][0][0]       # read from the store now: the new run's bytes
    # A chunk read before the rewrite (the reader keeps the last few in memory) is
    # the first run's, and still given out as such
    np.testing.assert_array_equal(first["v"][0], kept)


#: A store written by snnflow at cb53321 (layout 2: a part per writer under each
#: key group), the network below evaluated on LAYOUT2_INPUTS into it
LAYOUT2_STORE = pathlib.Path(__file__).parent / "data" / "layout2-store"


def layout2_problem():
    from snnflow import Connection, Network, Population
    from snnflow.connectivity import Dense
    from snnflow.neurons import IntegrateFire, IntegrateFireInput
    rng = np.random.default_rng(0)
    net = Network()
    with net:
        inp = Population(IntegrateFireInput(v_thresh=1.0), 6, record_spikes=True, name="inp")
        out = Population(IntegrateFire(v_thresh=2.0, readout="spike_count"), 3,
                         record_spikes=True, name="out")
        Connection(inp, out, Dense(rng.uniform(0, 1, (6, 3))), name="c")
    x = np.random.default_rng(1).uniform(0, 0.6, (5, 6)).astype(np.float32)
    return net, inp, out, x, np.array([0, 1, 2, 0, 1])


def test_a_layout_2_store_reads_as_it_was_recorded():
    """Old stores are read: a layout-2 store holds what today's in-memory run of
    the same network records, verify finds it whole, and to_xarray (layout 3
    only) says how to convert it."""
    from snnflow.callbacks import SpikeRecorder, VarRecorder
    from snnflow.compilers import InferenceCompiler
    net, inp, out, x, y = layout2_problem()
    compiled = InferenceCompiler(evaluate_timesteps=12, batch_size=2).compile(net)
    metrics, expected = compiled.evaluate({inp: x}, {out: y}, callbacks=[
        SpikeRecorder(inp, key="inp_spikes"), VarRecorder(out, "v", key="out_v")])
    stored = snnflow.store.open(LAYOUT2_STORE)
    assert sorted(stored) == ["inp_spikes", "out_v"]
    for got, want in zip(stored["inp_spikes"], expected["inp_spikes"]):
        assert len(got) == len(want) == 5
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    assert len(stored["out_v"]) == 5
    for a, b in zip(stored["out_v"], expected["out_v"]):
        np.testing.assert_array_equal(a, b)
    assert verify(LAYOUT2_STORE) == ([], [])
    with pytest.raises(ValueError, match="layout 2.*overwrite=True"):
        stored.to_xarray()


def test_read_whole_reads_what_zarr_reads_and_refuses_damage(tmp_path, monkeypatch):
    """The driver reads each finished shard's offsets itself (read_whole), not
    through zarr: the values must be zarr's, over several chunks and an edge
    chunk, and damage must raise as zarr's checked reads do."""
    from zarr.storage import LocalStore
    from snnflow.store import zarr_sink
    from snnflow.store.zarr_io import put_nodes, read_whole
    monkeypatch.setattr(zarr_sink, "CHUNK_BYTES", 64)
    store = LocalStore(tmp_path / "s.zarr")
    rng = np.random.default_rng(3)
    for dtype in ("int64", "int32", "float32"):
        values = rng.normal(0, 1e4, 29).astype(dtype)     # 29 rows: an edge chunk
        appender = zarr_sink._Appender(store, dtype, (), dtype, (), "event")
        appender.append(values)
        put_nodes(store, {dtype: appender.close()})
        got = read_whole(store, dtype)
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, zarr.open_array(store, path=dtype, mode="r")[:])
        np.testing.assert_array_equal(got, values)
    # An array written with zarr's own codecs (no checksum) is read through zarr
    other = zarr.create_array(tmp_path / "s.zarr" / "other", shape=(5,), chunks=(2,),
                              dtype="int64")
    other[:] = np.arange(5)
    np.testing.assert_array_equal(read_whole(store, "other"), np.arange(5))
    chunks = sorted((tmp_path / "s.zarr" / "int64").glob("c.*"))
    intact = chunks[1].read_bytes()
    damaged = bytearray(intact)
    damaged[len(damaged) // 2] ^= 0x10
    chunks[1].write_bytes(bytes(damaged))
    with pytest.raises(StoreDamagedError, match="int64/c.1' fails its checksum"):
        read_whole(store, "int64")
    chunks[1].write_bytes(intact)
    chunks[2].unlink()
    with pytest.raises(StoreDamagedError, match="int64/c.2' is missing"):
        read_whole(store, "int64")
