"""Recorders against hand-computed spike trains and voltage traces, in memory and
through zarr, at several batch sizes, with every filter form."""
import warnings

import numpy as np
import pytest
import zarr

import snnflow.store
from snnflow import Connection, Network, Population
from snnflow.callbacks import SpikeRecorder, VarRecorder
from snnflow.compilers import InferenceCompiler
from snnflow.connectivity import OneToOne
from snnflow.neurons import IntegrateFire, SpikeInput
from snnflow.utils.data import preprocess_spikes

T = 10          # timesteps per example
N = 3           # neurons per population
EXAMPLES = 11


def relay_network(shape=(N,)):
    """SpikeInput -> OneToOne(1.0) -> IntegrateFire(v_thresh=2): each target
    spikes on every second input spike, one step after that input spike."""
    net = Network()
    with net:
        inp = Population(SpikeInput(max_spikes=10000), shape, record_spikes=True)
        out = Population(IntegrateFire(v_thresh=2.0, readout="spike_count"), shape,
                         record_spikes=True)
        Connection(inp, out, OneToOne(1.0))
    return net, inp, out


def input_times(num_examples=EXAMPLES, num_neurons=N, seed=0):
    """Per example, per neuron: sorted distinct integer spike times in [0, T)."""
    rng = np.random.default_rng(seed)
    return [[np.sort(rng.choice(T, size=rng.integers(0, 6), replace=False))
             for _ in range(num_neurons)] for _ in range(num_examples)]


def as_spike_input(times, num_neurons=N):
    trains = []
    for per_neuron in times:
        t = np.concatenate(per_neuron).astype(float)
        ids = np.concatenate([[i] * len(s) for i, s in enumerate(per_neuron)]).astype(int)
        trains.append(preprocess_spikes(t, ids, num_neurons))
    return trains


def expected_input(per_neuron):
    """(times, ids) as mlGeNN returns them: time order, ids ascending within a step."""
    events = sorted((t, i) for i, s in enumerate(per_neuron) for t in s)
    return (np.array([t for t, _ in events], dtype=np.float32),
            np.array([i for _, i in events]))


def expected_output(per_neuron):
    """The relay's spikes: after the 2nd, 4th, ... input spike, one step later."""
    events = sorted((s[k] + 1, i) for i, s in enumerate(per_neuron)
                    for k in range(1, len(s), 2) if s[k] + 1 < T)
    return (np.array([t for t, _ in events], dtype=np.float32),
            np.array([i for _, i in events]))


def expected_v(per_neuron):
    """v after each step: input spikes delivered so far, modulo the threshold 2."""
    return np.array([[np.sum(np.asarray(s) + 1 <= t) % 2 for s in per_neuron]
                     for t in range(T)], dtype=np.float32)


def run(callbacks, batch_size=4, times=None, store=None, **kwargs):
    net, inp, out = relay_network()
    times = input_times() if times is None else times
    compiled = InferenceCompiler(evaluate_timesteps=T, batch_size=batch_size).compile(net)
    made = callbacks(inp, out)
    _, cb_data = compiled.evaluate({inp: as_spike_input(times)},
                                   {out: np.zeros(len(times), int)},
                                   callbacks=made, store=store, **kwargs)
    return cb_data, times


def all_recorders(inp, out):
    return [SpikeRecorder(inp, key="in"), SpikeRecorder(out, key="out"),
            VarRecorder(out, "v", key="v")]


@pytest.mark.parametrize("batch_size", [1, 3, 4, 16])
def test_spikes_and_traces_match_hand_computation(batch_size):
    cb_data, times = run(all_recorders, batch_size)
    assert len(cb_data["in"][0]) == len(cb_data["in"][1]) == EXAMPLES
    for example, per_neuron in enumerate(times):
        for key, expected in (("in", expected_input), ("out", expected_output)):
            want_times, want_ids = expected(per_neuron)
            np.testing.assert_array_equal(cb_data[key][0][example], want_times)
            np.testing.assert_array_equal(cb_data[key][1][example], want_ids)
        np.testing.assert_array_equal(cb_data["v"][example], expected_v(per_neuron))
    assert cb_data["v"][0].shape == (T, N)


def test_spec_raster_example():
    """The spec's raster of the fifth example: times and ids of cb_data[key][.][4]."""
    cb_data, times = run(lambda inp, out: ["batch_progress_bar",
                                           SpikeRecorder(inp, key="spikes_input")])
    spike_times = cb_data["spikes_input"][0][4]
    spike_ids = cb_data["spikes_input"][1][4]
    want_times, want_ids = expected_input(times[4])
    np.testing.assert_array_equal(spike_times, want_times)
    np.testing.assert_array_equal(spike_ids, want_ids)


def test_key_defaults_to_callback_index_with_warning():
    with pytest.warns(UserWarning, match="index 1 has no key"):
        cb_data, _ = run(lambda inp, out: ["batch_progress_bar", VarRecorder(out, "v")])
    assert list(cb_data) == [1]


def test_duplicate_keys_raise():
    with pytest.raises(KeyError, match="two callbacks have the key 'k'"):
        run(lambda inp, out: [SpikeRecorder(inp, key="k"), VarRecorder(out, "v", key="k")])


@pytest.mark.parametrize("example_filter, kept", [
    (5, [5]), ([5, 7], [5, 7]), ([True] * 4, [0, 1, 2, 3]),
    ([False, True, False, True], [1, 3]), (np.array([10, 2]), [2, 10])])
def test_example_filter_forms(example_filter, kept):
    cb_data, times = run(lambda inp, out: [
        SpikeRecorder(inp, key="s", example_filter=example_filter),
        VarRecorder(out, "v", key="v", example_filter=example_filter)], batch_size=3)
    assert len(cb_data["s"][0]) == len(cb_data["v"]) == len(kept)
    for position, example in enumerate(kept):
        np.testing.assert_array_equal(cb_data["s"][0][position], expected_input(times[example])[0])
        np.testing.assert_array_equal(cb_data["v"][position], expected_v(times[example]))


def test_spec_example_filter_indices_are_global():
    """SpikeRecorder(input, example_filter=1000) records example 1000 exactly."""
    times = input_times(num_examples=1003)
    cb_data, _ = run(lambda inp, out: [SpikeRecorder(inp, key="one", example_filter=1000),
                                       SpikeRecorder(inp, key="two",
                                                     example_filter=[1000, 1002])],
                     batch_size=64, times=times)
    assert len(cb_data["one"][0]) == 1 and len(cb_data["two"][0]) == 2
    np.testing.assert_array_equal(cb_data["one"][1][0], expected_input(times[1000])[1])
    np.testing.assert_array_equal(cb_data["two"][1][1], expected_input(times[1002])[1])


def select_expected(per_neuron, neurons):
    times, ids = expected_input(per_neuron)
    keep = np.isin(ids, neurons)
    return times[keep], ids[keep]


@pytest.mark.parametrize("neuron_filter, neurons", [
    (1, [1]), ([0, 2], [0, 2]), ([True, False, True], [0, 2]), ([True], [0]),
    (np.s_[0::2], [0, 2]), (np.s_[1:], [1, 2])])
def test_neuron_filter_forms_1d(neuron_filter, neurons):
    cb_data, times = run(lambda inp, out: [
        SpikeRecorder(inp, key="s", neuron_filter=neuron_filter),
        VarRecorder(out, "v", key="v", neuron_filter=neuron_filter)])
    for example, per_neuron in enumerate(times):
        want_times, want_ids = select_expected(per_neuron, neurons)
        np.testing.assert_array_equal(cb_data["s"][0][example], want_times)
        np.testing.assert_array_equal(cb_data["s"][1][example], want_ids)
        np.testing.assert_array_equal(cb_data["v"][example], expected_v(per_neuron)[:, neurons])


@pytest.mark.parametrize("neuron_filter, cells", [
    (([1, 2], [1, 3]), [(1, 1), (2, 3)]),
    # as mlGeNN: an int list holds coordinates, one index list per dimension
    ([[1, 2], [1, 3]], [(1, 1), (2, 3)]),
    ([1, 3], [(1, 3)]),
    (np.index_exp[2:4, 2:4], [(2, 2), (2, 3), (3, 2), (3, 3)]),
    (1, [(1, c) for c in range(4)])])
def test_neuron_filter_forms_2d(neuron_filter, cells):
    """Selection in the population's (4, 4) shape; ids are flat row-major."""
    net, inp, out = relay_network(shape=(4, 4))
    times = input_times(num_examples=3, num_neurons=16)
    compiled = InferenceCompiler(evaluate_timesteps=T, batch_size=2).compile(net)
    _, cb_data = compiled.evaluate(
        {inp: as_spike_input(times, 16)}, {out: np.zeros(3, int)},
        callbacks=[SpikeRecorder(inp, key="s", neuron_filter=neuron_filter),
                   VarRecorder(out, "v", key="v", neuron_filter=neuron_filter)])
    flat = sorted(r * 4 + c for r, c in cells)
    for example, per_neuron in enumerate(times):
        np.testing.assert_array_equal(cb_data["s"][1][example],
                                      select_expected(per_neuron, flat)[1])
        np.testing.assert_array_equal(cb_data["v"][example], expected_v(per_neuron)[:, flat])


@pytest.mark.parametrize("timestep_filter, steps", [
    (3, [3]), (np.s_[::3], [0, 3, 6, 9]), ([1, 8], [1, 8]), ([False, True, True], [1, 2])])
def test_timestep_filter(timestep_filter, steps):
    cb_data, times = run(lambda inp, out: [
        SpikeRecorder(inp, key="s", timestep_filter=timestep_filter),
        VarRecorder(out, "v", key="v", timestep_filter=timestep_filter)])
    for example, per_neuron in enumerate(times):
        want_times, want_ids = expected_input(per_neuron)
        keep = np.isin(want_times, steps)
        np.testing.assert_array_equal(cb_data["s"][0][example], want_times[keep])
        np.testing.assert_array_equal(cb_data["s"][1][example], want_ids[keep])
        np.testing.assert_array_equal(cb_data["v"][example], expected_v(per_neuron)[steps])


def test_timestep_filter_counts_from_each_batch_start_while_time_runs_on():
    """Without time resets the clock runs on across batches: recorded times follow it,
    and the filter still picks steps counted from each batch's start. Two recorders
    of one population get their own steps."""
    net, inp, out = relay_network()
    times = input_times()
    compiled = InferenceCompiler(evaluate_timesteps=T, batch_size=4,
                                 reset_time_between_batches=False).compile(net)
    _, cb_data = compiled.evaluate(
        {inp: as_spike_input(times)}, {out: np.zeros(len(times), int)},
        callbacks=[SpikeRecorder(inp, key="odd", timestep_filter=np.s_[1::2]),
                   SpikeRecorder(inp, key="all")])
    for example in range(EXAMPLES):
        all_times, all_ids = cb_data["all"][0][example], cb_data["all"][1][example]
        batch_start = example // 4 * T
        assert np.all((all_times >= batch_start) & (all_times < batch_start + T))
        keep = (all_times - batch_start) % 2 == 1
        np.testing.assert_array_equal(cb_data["odd"][0][example], all_times[keep])
        np.testing.assert_array_equal(cb_data["odd"][1][example], all_ids[keep])
    assert len(cb_data["all"][0][EXAMPLES - 1]) > 0
    assert 0 < sum(len(t) for t in cb_data["odd"][0]) < sum(len(t) for t in cb_data["all"][0])


def test_record_counts():
    cb_data, times = run(lambda inp, out: [
        SpikeRecorder(inp, key="c", record_counts=True),
        SpikeRecorder(inp, key="c2", record_counts=True, neuron_filter=[2, 0])])
    for example, per_neuron in enumerate(times):
        counts = np.array([len(s) for s in per_neuron])
        np.testing.assert_array_equal(cb_data["c"][example], counts)
        np.testing.assert_array_equal(cb_data["c2"][example], counts[[0, 2]])


def test_partial_last_batch_records_only_real_examples():
    cb_data, times = run(all_recorders, batch_size=4, times=input_times(num_examples=6))
    assert len(cb_data["in"][0]) == len(cb_data["v"]) == 6


# --- errors, raised when the recorder is made or the callback list is built -----

def test_neuron_filter_out_of_range():
    net, inp, _ = relay_network()
    with pytest.raises(IndexError, match="neuron_filter 5 is out of range for shape"):
        SpikeRecorder(inp, neuron_filter=5)
    with pytest.raises(IndexError, match="out of range"):
        VarRecorder(inp, "v", neuron_filter=[0, 7])


def test_neuron_mask_of_wrong_shape():
    net, inp, _ = relay_network()
    with pytest.raises(ValueError, match=r"mask of shape \(4,\) does not fit shape \(3,\)"):
        SpikeRecorder(inp, neuron_filter=[True] * 4)


@pytest.mark.parametrize("bad", ["all", 1.5, [0.5, 1.0], True, {1}])
def test_filter_of_wrong_type(bad):
    net, inp, _ = relay_network()
    with pytest.raises(TypeError, match="neuron_filter"):
        SpikeRecorder(inp, neuron_filter=bad)
    with pytest.raises(TypeError, match="example_filter"):
        SpikeRecorder(inp, example_filter=bad)


@pytest.mark.parametrize("bad", [np.s_[2:4], (1, 2)])
def test_example_filter_takes_no_slices_or_tuples(bad):
    net, inp, _ = relay_network()
    with pytest.raises(TypeError, match="example_filter must be an int, a list"):
        SpikeRecorder(inp, example_filter=bad)


def test_example_filter_out_of_range_fails_before_simulating():
    with pytest.raises(IndexError, match="example_filter 11 is out of range"):
        run(lambda inp, out: [SpikeRecorder(inp, key="s", example_filter=11)])


def test_spike_recorder_needs_record_spikes():
    net = Network()
    with net:
        pop = Population(IntegrateFire(), 3)
    with pytest.raises(ValueError, match="population Pop0 was not created with record_spikes"):
        SpikeRecorder(pop)


def test_var_recorder_unknown_variable():
    with pytest.raises(KeyError,
                       match="has no variable 'V'; it has \\['v', 'v_reset', 'v_thresh'\\]"):
        run(lambda inp, out: [VarRecorder(out, "V", key="v")])


# --- zarr ---------------------------------------------------------------------

def test_zarr_store_object_round_trip_equals_memory():
    """A zarr store object rather than a path: every write goes through the store's
    own interface (chunks, metadata, consolidation), nothing through files."""
    store = zarr.storage.MemoryStore()
    memory, _ = run(all_recorders, batch_size=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        streamed, _ = run(all_recorders, batch_size=3, store=store)
        reopened = snnflow.store.open(store)
    for recorded in (streamed, reopened):
        for key in ("in", "out"):
            for part in (0, 1):
                for got, want in zip(recorded[key][part], memory[key][part], strict=True):
                    np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.stack(list(recorded["v"])), np.stack(memory["v"]))
    assert zarr.open_group(store, mode="r")["v/values"].shape == (EXAMPLES, T, 3)


def test_zarr_round_trip_equals_memory(tmp_path):
    memory, times = run(all_recorders, batch_size=3)
    streamed, _ = run(all_recorders, batch_size=3, store=tmp_path / "run.zarr")
    for key in ("in", "out"):
        for part in (0, 1):
            assert len(streamed[key][part]) == EXAMPLES
            for example in range(EXAMPLES):
                np.testing.assert_array_equal(streamed[key][part][example],
                                              memory[key][part][example])
            # iteration, negative indices and slices behave like the list
            for got, want in zip(streamed[key][part], memory[key][part]):
                np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(streamed[key][part][-1], memory[key][part][-1])
            assert len(streamed[key][part][2:5]) == 3
    np.testing.assert_array_equal(np.stack(list(streamed["v"])), np.stack(memory["v"]))
    reopened = snnflow.store.open(tmp_path / "run.zarr")
    assert set(reopened) == {"in", "out", "v"}
    np.testing.assert_array_equal(reopened["v"][4], memory["v"][4])
    np.testing.assert_array_equal(reopened["out"][1][7], memory["out"][1][7])


def test_zarr_layout_is_plain_zarr(tmp_path):
    """Readable without snnflow, in docs/storage.md's three lines: spikes as integer
    timesteps and a dt attribute, indexed per example by ``spans``; variables as one
    (example, time, neuron) array with dimension names and coordinates."""
    _, times = run(all_recorders, batch_size=4, store=tmp_path / "s.zarr")
    example = 6
    spikes = zarr.open_group(tmp_path / "s.zarr", mode="r")["in"]
    start, stop = spikes["spans"][example]
    steps, ids = spikes["timesteps"][start:stop], spikes["ids"][start:stop]
    want_times, want_ids = expected_input(times[example])
    np.testing.assert_array_equal(steps * np.float32(spikes.attrs["dt"]), want_times)
    np.testing.assert_array_equal(ids, want_ids)
    assert np.issubdtype(steps.dtype, np.integer)
    values = zarr.open_group(tmp_path / "s.zarr", mode="r")["v"]["values"]
    assert values.metadata.dimension_names == ("example", "time", "neuron")
    assert values.shape == (EXAMPLES, T, N)
    np.testing.assert_array_equal(values[example], expected_v(times[example]))
    np.testing.assert_array_equal(spikes["example"][:], np.arange(EXAMPLES))


def test_store_with_another_run_is_refused(tmp_path):
    store = tmp_path / "s.zarr"
    run(all_recorders, store=store)
    with pytest.raises(FileExistsError, match="already holds a different run"):
        run(lambda inp, out: [SpikeRecorder(inp, key="other")], store=store)
    # the refused run lost nothing
    assert set(snnflow.store.open(store)) == {"in", "out", "v"}
    run(lambda inp, out: [SpikeRecorder(inp, key="other")], store=store, overwrite=True)
    assert set(snnflow.store.open(store)) == {"other"}


def test_keys_stay_inside_the_store_and_round_trip(tmp_path):
    store = tmp_path / "inner" / "s.zarr"
    keys = ["../x", "/abs", ("tuple", 1), 7]
    cb_data, _ = run(lambda inp, out: [SpikeRecorder(inp, key=k) for k in keys], store=store)
    assert set(cb_data) == set(keys)
    assert sorted(p.name for p in (tmp_path / "inner").iterdir()) == ["s.zarr"]
    assert set(snnflow.store.open(store)) == set(keys)


def test_keys_colliding_in_the_store_raise(tmp_path):
    with pytest.raises(KeyError, match="would share one group"):
        run(lambda inp, out: [SpikeRecorder(inp, key="A"), SpikeRecorder(inp, key="a")],
            store=tmp_path / "s.zarr")


def test_open_refuses_non_snnflow_store(tmp_path):
    zarr.open_group(tmp_path / "other.zarr", mode="w")
    with pytest.raises(ValueError, match="not an snnflow store"):
        snnflow.store.open(tmp_path / "other.zarr")


def test_zarr_writes_whole_chunks_while_running(tmp_path, monkeypatch):
    """Memory stays flat: a sink never buffers more than one chunk per array."""
    from snnflow.store import zarr_sink as zarr_store
    monkeypatch.setattr(zarr_store, "CHUNK_BYTES", 64)
    largest = []
    original = zarr_store._Appender.append

    def watched(self, values):
        original(self, values)
        largest.append(self.buffered / self.chunk)
    monkeypatch.setattr(zarr_store._Appender, "append", watched)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cb_data, times = run(all_recorders, batch_size=2, times=input_times(40),
                             store=tmp_path / "s.zarr")
    assert max(largest) < 1
    np.testing.assert_array_equal(cb_data["v"][39], expected_v(times[39]))


def test_zarr_chunks_hold_the_bytes_zarr_itself_writes(tmp_path, monkeypatch):
    """The sink encodes and stores chunks and metadata itself: each chunk file, edge
    chunks included, and each array's zarr.json must be the one zarr writes for the
    same array."""
    from snnflow.store import zarr_sink
    monkeypatch.setattr(zarr_sink, "CHUNK_BYTES", 72)   # 9 examples, 18 events a chunk
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run(all_recorders, batch_size=4, times=input_times(40), store=tmp_path / "s.zarr")
    root = zarr.open_group(tmp_path / "s.zarr", mode="r")
    compared = 0
    for _, array in root.members(max_depth=None):
        if not isinstance(array, zarr.Array) or array.path.startswith("shards/"):
            continue
        again = zarr.create_array(
            tmp_path / "again" / array.path, shape=array.shape, chunks=array.chunks,
            dtype=array.dtype, compressors=array.compressors, fill_value=0,
            dimension_names=array.metadata.dimension_names,
            chunk_key_encoding={"name": "default", "separator": "."})
        again[:] = array[:]
        theirs = {p.name: p.read_bytes()
                  for p in (tmp_path / "again" / array.path).glob("c.*")}
        ours = {p.name: p.read_bytes()
                for p in (tmp_path / "s.zarr" / array.path).glob("c.*")}
        assert ours == theirs, array.path
        # The metadata too: written by snnflow, once, at the end of the run
        assert (tmp_path / "s.zarr" / array.path / "zarr.json").read_bytes() == \
            (tmp_path / "again" / array.path / "zarr.json").read_bytes()
        compared += len(ours)
    assert compared > 30


def test_consolidated_metadata_is_what_zarr_itself_writes(tmp_path):
    """The root's consolidated metadata is built from the nodes snnflow wrote,
    without reading them back: it must equal zarr.consolidate_metadata's."""
    import json
    store = tmp_path / "s.zarr"
    run(lambda inp, out: all_recorders(inp, out) + [
        SpikeRecorder(out, key="counts", record_counts=True, example_filter=[1, 3])],
        store=store)
    ours = json.loads((store / "zarr.json").read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # consolidated metadata is not in the v3 spec yet
        zarr.consolidate_metadata(store)
    theirs = json.loads((store / "zarr.json").read_bytes())
    # shards; 4 key groups; per spike key example, spans, timesteps, ids, the parts
    # group, its one part and that part's offsets; example, time, neuron and values for
    # v; example, neuron and counts for counts
    assert len(theirs["consolidated_metadata"]["metadata"]) == 1 + 4 + 2 * 7 + 4 + 3
    assert ours == theirs


@pytest.mark.parametrize("where", ["laying out the store", "storing a chunk",
                                   "closing a part"])
def test_a_failed_write_is_raised_in_the_caller_and_ends_the_writer(tmp_path, monkeypatch,
                                                                     where):
    import threading

    from snnflow.store import zarr_run, zarr_sink

    def full_disk(*args, **kwargs):
        raise OSError("No space left on device")
    monkeypatch.setattr(zarr_sink, "CHUNK_BYTES", 64)
    if where == "laying out the store":
        monkeypatch.setattr(zarr_run, "put_nodes", full_disk)
    elif where == "storing a chunk":
        monkeypatch.setattr(zarr_sink._Appender, "_store_chunk", full_disk)
    else:
        monkeypatch.setattr(zarr_sink._Appender, "close", full_disk)
    with pytest.raises(OSError, match="No space left on device"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run(all_recorders, batch_size=2, times=input_times(40), store=tmp_path / "s.zarr")
    assert "snnflow-zarr-writer" not in [t.name for t in threading.enumerate()]
    with pytest.raises(ValueError, match="did not finish"):
        snnflow.store.open(tmp_path / "s.zarr")


def test_the_writer_takes_batches_in_order_and_holds_at_most_two():
    """Memory stays bounded: once two batches wait behind the one being written,
    the simulation waits at its next batch's end."""
    import threading

    from snnflow.store.zarr_sink import _BackgroundWriter
    writer, started, release, done = _BackgroundWriter(), threading.Event(), \
        threading.Event(), []
    writer.add(lambda: (started.set(), release.wait(timeout=10), done.append("first")))
    writer.end_batch()
    assert started.wait(timeout=10)     # being written: no longer in the queue
    for batch in ("second", "third"):
        writer.add(lambda batch=batch: done.append(batch + " a"))
        writer.add(lambda batch=batch: done.append(batch + " b"))
        writer.end_batch()

    def fourth():
        writer.add(lambda: done.append("fourth"))
        writer.end_batch()
    waiting = threading.Thread(target=fourth)
    waiting.start()
    waiting.join(timeout=0.3)
    assert waiting.is_alive() and done == []
    release.set()
    waiting.join(timeout=10)
    writer.close()
    assert done == ["first", "second a", "second b", "third a", "third b", "fourth"]


def test_a_run_failing_mid_simulation_ends_the_writer(tmp_path):
    import threading

    from snnflow.callbacks import Callback

    class Interrupt(Callback):
        def on_batch_end(self, batch, metrics):
            if batch == 1:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(lambda inp, out: all_recorders(inp, out) + [Interrupt()], batch_size=2,
            times=input_times(40), store=tmp_path / "s.zarr")
    assert "snnflow-zarr-writer" not in [t.name for t in threading.enumerate()]
    with pytest.raises(ValueError, match="did not finish"):
        snnflow.store.open(tmp_path / "s.zarr")


def test_bad_recorder_leaves_an_existing_store_untouched(tmp_path):
    store = tmp_path / "s.zarr"
    run(all_recorders, store=store)
    with pytest.raises(IndexError, match="example_filter 99 is out of range"):
        run(lambda inp, out: [SpikeRecorder(inp, key="x"), VarRecorder(out, "v", key="y",
                                                                        example_filter=99)],
            store=store, overwrite=True)
    assert set(snnflow.store.open(store)) == {"in", "out", "v"}


def test_conn_var_recorder_records_weights():
    from snnflow.callbacks import ConnVarRecorder
    from snnflow.connectivity import Dense
    net = Network()
    with net:
        inp = Population(SpikeInput(), 3)
        out = Population(IntegrateFire(readout="spike_count"), 2)
        weight = np.arange(6, dtype=np.float32).reshape(3, 2)
        conn = Connection(inp, out, Dense(weight))
        doubled = Connection(inp, out, Dense(weight * 2))
    compiled = InferenceCompiler(evaluate_timesteps=4, batch_size=2).compile(net)
    times = input_times(num_examples=3)
    _, cb_data = compiled.evaluate(
        {inp: as_spike_input(times)}, {out: np.zeros(3, int)},
        callbacks=[ConnVarRecorder(conn, "weight", key="w", example_filter=[0, 2],
                                   timestep_filter=[0, 3]),
                   ConnVarRecorder(doubled, "g", key="w2", src_neuron_filter=[2],
                                   trg_neuron_filter=1)])
    assert len(cb_data["w"]) == 2
    np.testing.assert_array_equal(cb_data["w"][1], np.stack([weight, weight]))
    np.testing.assert_array_equal(cb_data["w2"][0], np.full((4, 1, 1), 10.0))
    with pytest.raises(KeyError, match="has no variable 'w'"):
        ConnVarRecorder(conn, "w")


def test_store_holding_other_files_is_refused_and_kept(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="holds data snnflow did not write"):
        run(all_recorders, store=tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_rerun_with_the_same_recorders_and_different_data(tmp_path):
    store = tmp_path / "s.zarr"
    recorder = SpikeRecorder  # keyless recorders get their index, the same each run
    with pytest.warns(UserWarning):
        run(lambda inp, out: [recorder(inp)], store=store)
        run(lambda inp, out: [recorder(inp)], store=store)
        with pytest.raises(FileExistsError, match="different run"):
            run(lambda inp, out: [recorder(inp)], store=store, times=input_times(seed=1))


def test_failed_set_up_creates_nothing(tmp_path):
    with pytest.raises(IndexError):
        run(lambda inp, out: [SpikeRecorder(inp, key="s", example_filter=99)],
            store=tmp_path / "new.zarr")
    assert not (tmp_path / "new.zarr").exists()


def test_open_refuses_an_unfinished_run(tmp_path):
    store = tmp_path / "s.zarr"
    run(all_recorders, store=store)
    root = zarr.open_group(store, mode="a", use_consolidated=False)
    info = root.attrs["snnflow"]
    info["complete"] = False
    root.attrs["snnflow"] = info
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # consolidated metadata is not in the v3 spec yet
        zarr.consolidate_metadata(store)
    with pytest.raises(ValueError, match="did not finish"):
        snnflow.store.open(store)


def test_get_data_under_a_taken_key_raises():
    class Sneaky:
        def get_data(self):
            return "in", []
    with pytest.raises(KeyError, match="two callbacks returned data under the key 'in'"):
        run(lambda inp, out: [SpikeRecorder(inp, key="in"), Sneaky()])


def test_row_chunks_align_with_every_shard_boundary():
    """Shards write regions of one array: a chunk never straddles two shards. Worked
    by hand: rows of 4000 bytes fit 524 to a 2 MiB chunk; shard boundaries 1000 and
    2000 allow divisors of 1000, the largest of which under 524 is 500."""
    from snnflow.store.key_arrays import row_chunk_length
    assert row_chunk_length(4000, [1000, 2000]) == 500
    assert row_chunk_length(4000, [13, 26, 39]) == 13          # the shards' own size
    assert row_chunk_length(4000, [0, 7]) == 7                 # a shard recorded nothing
    assert row_chunk_length(4000, []) == 512                   # one shard: a power of two
    assert row_chunk_length(4, [3, 6]) == 3


def test_to_xarray_and_open_datatree_show_dimensions_and_coordinates(tmp_path):
    """Every variable has named dimensions and coordinates: the global example index,
    time in ms, the neuron and its position in a 2-D population; to_xarray reads
    lazily (dask) the same values the in-memory run returns as lists."""
    import dask.array
    import xarray as xr

    def recorders(inp, out):
        return [SpikeRecorder(inp, key="in"), SpikeRecorder(out, key="counts",
                                                             record_counts=True),
                VarRecorder(out, "v", key="v", example_filter=[2, 5, 9])]

    def evaluate(store):
        net, inp, out = relay_network(shape=(2, 3))
        compiled = InferenceCompiler(evaluate_timesteps=T, batch_size=4, dt=0.5).compile(net)
        return compiled.evaluate({inp: as_spike_input(times, 6)},
                                 {out: np.zeros(EXAMPLES, int)},
                                 callbacks=recorders(inp, out), store=store)[1]
    times = input_times(num_neurons=6)
    memory = evaluate(None)
    store = tmp_path / "run.zarr"
    evaluate(store)
    tree = snnflow.store.open(store).to_xarray()
    v = tree["v"]["values"]
    assert isinstance(v.data, dask.array.Array)                     # lazy
    assert v.dims == ("example", "time", "neuron")
    assert v["example"].values.tolist() == [2, 5, 9]
    np.testing.assert_array_equal(v["time"].values, np.arange(T) * 0.5)
    assert v["neuron"].values.tolist() == [0, 1, 2, 3, 4, 5]
    assert v["position_0"].values.tolist() == [0, 0, 0, 1, 1, 1]   # row-major (2, 3)
    assert v["position_1"].values.tolist() == [0, 1, 2, 0, 1, 2]
    for row, example in enumerate([2, 5, 9]):
        np.testing.assert_array_equal(v.sel(example=example).values, memory["v"][row])
    counts = tree["counts"]["counts"]
    assert counts.dims == ("example", "neuron")
    np.testing.assert_array_equal(counts.values, np.stack(memory["counts"]))
    spikes = tree["in"]
    for example in range(EXAMPLES):
        start, stop = spikes["spans"].sel(example=example).values
        np.testing.assert_array_equal(
            spikes["timesteps"][start:stop].values.astype(np.float32) * np.float32(0.5),
            memory["in"][0][example])
        np.testing.assert_array_equal(spikes["ids"][start:stop].values, memory["in"][1][example])
    # xarray alone opens the whole store with the same dimensions and coordinates
    opened = xr.open_datatree(store, engine="zarr")
    assert opened["v"]["values"].dims == ("example", "time", "neuron")
    assert opened["v"]["values"]["position_1"].values.tolist() == [0, 1, 2, 0, 1, 2]
    np.testing.assert_array_equal(opened["v"]["values"].sel(example=5).values, memory["v"][1])


def test_storage_options_without_a_url_store_are_refused(tmp_path):
    with pytest.raises(ValueError, match="storage_options are for a store given as a URL"):
        run(all_recorders, storage_options={"key": "k"})
    with pytest.raises(ValueError, match="not for the local path"):
        run(all_recorders, store=tmp_path / "run.zarr", storage_options={"key": "k"})
    assert not (tmp_path / "run.zarr").exists()


def test_recorded_data_travels_as_one_array_per_list():
    """In memory, each recording's per-example list pickles (as Dask sends a shard's
    data to the driver) as one array of all its pieces and their lengths, not
    array by array, and unpickles into the same arrays, still an ArrayPieces."""
    import pickle
    from snnflow.store.memory import ArrayPieces
    cb_data, _ = run(all_recorders)
    lists = [cb_data["in"][0], cb_data["in"][1], cb_data["v"]]
    for pieces in lists:
        assert type(pieces) is ArrayPieces and len(pieces) > 3
        buffers = []
        again = pickle.loads(pickle.dumps(pieces, protocol=5, buffer_callback=buffers.append),
                             buffers=buffers)
        assert len(buffers) == 2     # every piece joined, and the lengths
        assert type(again) is ArrayPieces and len(again) == len(pieces)
        for got, want in zip(again, pieces):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
    # What cannot be joined (mixed shapes, not arrays) pickles piece by piece
    mixed = ArrayPieces([np.zeros(2), np.zeros((2, 2)), "x"])
    again = pickle.loads(pickle.dumps(mixed))
    assert type(again) is ArrayPieces and again[2] == "x" and again[1].shape == (2, 2)
