"""snnflow.plot: figures drawn from recorded data, in memory and from a store, checked
against the data they were drawn from and rendered to PNG."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import snnflow.store
from snnflow import Connection, Network, Population
from snnflow.callbacks import ConnVarRecorder, SpikeRecorder, VarRecorder
from snnflow.compilers import InferenceCompiler
from snnflow.connectivity import Dense
from snnflow.neurons import IntegrateFireInput, LeakyIntegrateFire
from snnflow.plot import learning_curve, raster, sweep, traces

DT = 0.5
TIMESTEPS = 20
RECORDED_V = [2, 5]                  # examples whose voltage is recorded
V_NEURONS = [1, 3]                   # and its neurons
V_STEPS = np.arange(0, TIMESTEPS, 2)  # and its timesteps (every other one)


def recorders(inp, out, connection):
    return [SpikeRecorder(inp, key="in"),
            ConnVarRecorder(connection, "weight", key="weight", example_filter=0,
                            timestep_filter=[0]),
            SpikeRecorder(out, key="counts", record_counts=True),
            VarRecorder(out, "v", key="v", example_filter=RECORDED_V, neuron_filter=V_NEURONS,
                        timestep_filter=np.s_[::2]),
            VarRecorder(out, "v", key="v_all")]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """(in-memory cb_data, store path) of the same run: 12 constant-current inputs
    into 4 LIF neurons, 6 examples."""
    rng = np.random.default_rng(1)
    net = Network()
    with net:
        inp = Population(IntegrateFireInput(v_thresh=1.0), 12, record_spikes=True)
        out = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0, readout="spike_count"),
                         4, record_spikes=True)
        connection = Connection(inp, out, Dense(rng.normal(0.2, 0.3, (12, 4))))
    x = {inp: rng.uniform(0.0, 0.4, (6, 12))}
    y = {out: rng.integers(0, 4, 6)}
    store = tmp_path_factory.mktemp("plot") / "run.zarr"
    compiler = InferenceCompiler(evaluate_timesteps=TIMESTEPS, dt=DT, batch_size=4)
    with compiler.compile(net) as compiled:
        _, memory = compiled.evaluate(x, y, callbacks=recorders(inp, out, connection))
        compiled.evaluate(x, y, callbacks=recorders(inp, out, connection), store=store)
    return memory, store


def sources(recorded):
    memory, store = recorded
    return {"memory": memory, "path": store, "opened": snnflow.store.open(store)}


@pytest.fixture(params=["memory", "path", "opened"])
def source(request, recorded):
    return sources(recorded)[request.param]


def render(figure, tmp_path):
    path = tmp_path / "figure.png"
    figure.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000
    return figure.axes[0]


def test_raster_draws_the_recorded_spikes(source, recorded, tmp_path):
    memory, _ = recorded
    times, ids = memory["in"][0][3], memory["in"][1][3]
    assert len(times) > 10

    axes = render(raster(source, "in", example=3), tmp_path)
    drawn = axes.collections[0].get_offsets()
    np.testing.assert_array_equal(drawn[:, 0], times)
    np.testing.assert_array_equal(drawn[:, 1], ids)
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("time (ms)", "neuron")
    assert axes.get_xlim()[0] == 0.0


def test_raster_from_a_store_spans_the_population_and_names_the_example(recorded, tmp_path):
    _, store = recorded
    axes = render(raster(store, "in", example=-1), tmp_path)
    assert axes.get_ylim() == (-0.5, 11.5)
    assert axes.get_title() == "Pop0 ('in'), example 5"


def test_traces_from_memory_count_timesteps_unless_given_dt(recorded, tmp_path):
    memory, _ = recorded
    values = memory["v_all"][4]
    axes = render(traces(memory, "v_all", example=4), tmp_path)
    assert len(axes.lines) == 4
    for neuron, line in enumerate(axes.lines):
        np.testing.assert_array_equal(line.get_xdata(), np.arange(TIMESTEPS))
        np.testing.assert_array_equal(line.get_ydata(), values[:, neuron])
        assert line.get_label() == f"neuron {neuron}"
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("timestep", "value")

    axes = traces(memory, "v_all", example=4, neurons=[2], dt=DT).axes[0]
    assert axes.get_xlabel() == "time (ms)"
    np.testing.assert_array_equal(axes.lines[0].get_xdata(), np.arange(TIMESTEPS) * DT)
    np.testing.assert_array_equal(axes.lines[0].get_ydata(), values[:, 2])


def test_traces_from_a_store_use_its_timesteps_dt_and_neuron_ids(recorded, tmp_path):
    memory, store = recorded
    values = memory["v"][1]                       # example 5, neurons 1 and 3
    axes = render(traces(store, "v", example=1), tmp_path)
    assert [line.get_label() for line in axes.lines] == ["neuron 1", "neuron 3"]
    for column, line in enumerate(axes.lines):
        np.testing.assert_allclose(line.get_xdata(), V_STEPS * DT)
        np.testing.assert_array_equal(line.get_ydata(), values[:, column])
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("time (ms)", "v")
    assert axes.get_title() == "Pop1 ('v'), example 5"

    (line,) = traces(store, "v", example=1, neurons=[3]).axes[0].lines
    np.testing.assert_array_equal(line.get_ydata(), values[:, 1])


def test_mistakes_raise_specific_errors(source, tmp_path):
    with pytest.raises(KeyError, match="no recording with key 'missing'; the keys are: "
                                       "'counts', 'in', 'v', 'v_all', 'weight'"):
        raster(source, "missing")
    with pytest.raises(IndexError, match="example 2 is out of range: key 'v' holds 2"):
        traces(source, "v", example=2)
    with pytest.raises(IndexError, match="example -7 is out of range"):
        raster(source, "in", example=-7)
    with pytest.raises(TypeError, match="raster needs spike times .* key 'counts' holds "
                                        "spike counts"):
        raster(source, "counts")
    with pytest.raises(TypeError, match="traces needs a variable .* key 'in' holds spike"):
        traces(source, "in")
    with pytest.raises(TypeError, match="raster needs spike times .* key 'v' holds a variable"):
        raster(source, "v")
    with pytest.raises(TypeError, match=r"key 'weight' holds a connection variable .*; index "
                                        r"cb_data\[key\]\[example\]\[:, source, target\]"):
        traces(source, "weight")


def test_store_mistakes(recorded, tmp_path):
    _, store = recorded
    with pytest.raises(IndexError, match=r"data-set examples 2, 5"):
        traces(store, "v", example=5)
    with pytest.raises(IndexError, match=r"neurons \[0\] were not recorded under key 'v'; "
                                         r"recorded: 1, 3"):
        traces(store, "v", neurons=[0])
    with pytest.raises(FileNotFoundError, match="no store at"):
        raster(tmp_path / "nothing.zarr", "in")


def test_data_no_recorder_wrote_is_refused():
    with pytest.raises(IndexError, match="key 'v' holds no recorded examples"):
        traces({"v": []}, "v")
    with pytest.raises(IndexError, match="example 0 is out of range: key 's' holds 0"):
        raster({"s": ([], [])}, "s")
    with pytest.raises(TypeError, match="key 'totals' holds ndarray data that no snnflow "
                                        "recorder wrote"):
        raster({"totals": np.arange(3)}, "totals")


def test_figures_render_from_several_threads(recorded, tmp_path):
    memory, store = recorded

    def draw(example):
        path = tmp_path / f"raster{example}.png"
        raster(store if example % 2 else memory, "in", example).savefig(path)
        return path.stat().st_size

    with ThreadPoolExecutor(4) as pool:
        assert all(size > 1000 for size in pool.map(draw, range(4)))


@pytest.fixture(scope="module")
def xr():
    return pytest.importorskip("xarray")


def test_sweep_over_one_parameter_is_a_line(xr, tmp_path):
    tau = [5.0, 10.0, 20.0, 40.0]
    accuracy = [0.5, 0.7, 0.8, 0.75]
    summary = xr.Dataset({"accuracy": ("tau_mem", accuracy)}, coords={"tau_mem": tau})
    axes = render(sweep(summary, "accuracy"), tmp_path)
    np.testing.assert_array_equal(axes.lines[0].get_xdata(), tau)
    np.testing.assert_array_equal(axes.lines[0].get_ydata(), accuracy)
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("tau_mem", "accuracy")


def test_sweep_over_two_parameters_is_a_labelled_heat_map(xr, tmp_path):
    accuracy = np.array([[0.1, 0.4, 0.5], [0.2, np.nan, 0.9]])
    summary = xr.Dataset({"accuracy": (("tau_mem", "v_thresh"), accuracy),
                          "loss": (("tau_mem", "v_thresh"), -accuracy)},
                         coords={"tau_mem": [10.0, 20.0], "v_thresh": [0.5, 1.0, 2.0]})
    figure = sweep(summary, "accuracy")
    axes = render(figure, tmp_path)
    np.testing.assert_array_equal(axes.images[0].get_array().filled(np.nan), accuracy)
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("v_thresh", "tau_mem")
    assert [t.get_text() for t in axes.get_xticklabels()] == ["0.5", "1", "2"]
    assert [t.get_text() for t in axes.get_yticklabels()] == ["10", "20"]
    assert figure.axes[1].get_ylabel() == "accuracy"           # the colour bar
    # every point with a value is written in its cell; the missing one stays blank
    assert sorted(t.get_text() for t in axes.texts) == ["0.1", "0.2", "0.4", "0.5", "0.9"]


def test_sweep_mistakes(xr):
    grid = xr.Dataset({"accuracy": (("a", "b", "c"), np.zeros((2, 2, 2)))})
    with pytest.raises(KeyError, match="no metric 'loss'; its metrics: 'accuracy'"):
        sweep(grid, "loss")
    with pytest.raises(ValueError, match=r"dimensions \('a', 'b', 'c'\)"):
        sweep(grid, "accuracy")
    with pytest.raises(TypeError, match="summary must be the sweep's xarray Dataset"):
        sweep(grid["accuracy"], "accuracy")


def test_learning_curve_draws_each_metric_per_epoch(tmp_path):
    history = {"train": [0.6, 0.8, 0.85], "validation": [0.55, 0.7]}
    axes = render(learning_curve(history), tmp_path)
    for line, (name, values) in zip(axes.lines, history.items()):
        assert line.get_label() == name
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, len(values) + 1))
        np.testing.assert_array_equal(line.get_ydata(), values)
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("epoch", "accuracy")
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["train", "validation"]

    axes = learning_curve([0.3, 0.2, 0.1], ylabel="loss").axes[0]
    np.testing.assert_array_equal(axes.lines[0].get_ydata(), [0.3, 0.2, 0.1])
    assert axes.get_ylabel() == "loss" and axes.get_legend() is None


def test_learning_curve_mistakes():
    with pytest.raises(ValueError, match="history is empty"):
        learning_curve({})
    with pytest.raises(ValueError, match=r"history\['train'\] must be a non-empty list"):
        learning_curve({"train": []})
    with pytest.raises(ValueError, match="history must be a non-empty list of numbers"):
        learning_curve(["high", "low"])
