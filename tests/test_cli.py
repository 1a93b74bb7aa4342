"""The snnflow command: run, inspect and plot, their output and their errors."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import zarr

from snnflow import Connection, Network, Population
from snnflow.callbacks import ConnVarRecorder, SpikeRecorder, VarRecorder
from snnflow.cli import main
from snnflow.compilers import InferenceCompiler
from snnflow.connectivity import Dense
from snnflow.neurons import IntegrateFireInput, LeakyIntegrateFire

PROVENANCE = {"snnflow_version": "0.1.0", "parameters": {"tau_mem": 20.0}, "engine": "numpy"}


def evaluate_into(store, examples=5):
    """8 constant-current inputs into 3 LIF neurons, recorded under five keys."""
    rng = np.random.default_rng(2)
    net = Network()
    with net:
        inp = Population(IntegrateFireInput(v_thresh=1.0), 8, record_spikes=True, name="input")
        out = Population(LeakyIntegrateFire(v_thresh=1.0, readout="spike_count"), 3,
                         record_spikes=True, name="output")
        connection = Connection(inp, out, Dense(rng.normal(0.3, 0.2, (8, 3))), name="dense")
    compiler = InferenceCompiler(evaluate_timesteps=12, dt=0.5, batch_size=2)
    callbacks = [SpikeRecorder(inp, key="spikes"),
                 SpikeRecorder(out, key="counts", record_counts=True),
                 VarRecorder(out, "v", key="v", example_filter=[1, 3]),
                 VarRecorder(out, "v", key=7, neuron_filter=[0, 2]),
                 ConnVarRecorder(connection, "weight", key="w", example_filter=0,
                                 src_neuron_filter=[1, 2], timestep_filter=[0, 5])]
    with compiler.compile(net) as compiled:
        return compiled.evaluate({inp: rng.uniform(0, 0.5, (examples, 8))},
                                 {out: rng.integers(0, 3, examples)},
                                 callbacks=callbacks, store=store)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "run.zarr"
    evaluate_into(path)
    zarr.open_group(path, mode="a").attrs["provenance"] = PROVENANCE
    return str(path)


def fails(argv, capsys):
    """The error message of a command that must exit with status 2."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_inspect_describes_keys_metrics_and_provenance(store, capsys):
    metrics, cb_data = evaluate_into(None)          # the same run, in memory
    assert main(["inspect", store]) == 0
    out = capsys.readouterr().out
    assert "finished   yes" in out
    assert "examples   5" in out and "dt         0.5 ms" in out
    assert f"metrics    output sparse_categorical_accuracy: {list(metrics.values())[0].result}" \
        in out
    assert "provenance\n  snnflow_version: 0.1.0\n  parameters: {\"tau_mem\": 20.0}\n" \
           "  engine: numpy" in out
    spikes = sum(len(ids) for ids in cb_data["spikes"][1])
    assert ("key 'spikes': spike times of population input, shape (8,), all neurons\n"
            "  examples   5 recorded in 1 part(s)\n"
            "  filters    example_filter=None, timestep_filter=None\n"
            f"  arrays     example int64 (5,), ids int32 ({spikes},), spans int64 (5, 2), "
            f"timesteps int32 ({spikes},)") in out
    assert "key 'counts': spike counts of population output" in out
    assert "arrays     counts int32 (5, 3), example int64 (5,), neuron int64 (3,)" in out
    assert ("key 'v': variable 'v' of population output, shape (3,), all neurons\n"
            "  examples   2 recorded\n"
            "  filters    example_filter=[1, 3], timestep_filter=None\n"
            "  arrays     example int64 (2,), neuron int64 (3,), time float64 (12,), "
            "values float32 (2, 12, 3)") in out
    assert "key 7: variable 'v' of population output, shape (3,), 2 neurons" in out
    assert ("key 'w': variable 'weight' of connection dense, 2 sources x 3 targets\n"
            "  examples   1 recorded\n"
            "  filters    example_filter=0, timestep_filter=[0, 5]\n"
            "  arrays     example int64 (1,), source int64 (2,), target int64 (3,), "
            "time float64 (2,), values float32 (1, 2, 2, 3)") in out


def test_inspect_says_when_a_run_did_not_finish(tmp_path, capsys):
    path = tmp_path / "unfinished.zarr"
    evaluate_into(path)
    root = zarr.open_group(path, mode="a")
    root.attrs["snnflow"] = {**root.attrs["snnflow"], "complete": False}
    zarr.consolidate_metadata(root.store)
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "finished   no (the run stopped or is still going" in out
    assert "metrics" not in out
    assert "did not finish" in fails(["plot", str(path), "spikes"], capsys)


def test_plot_writes_a_png_for_spike_and_variable_keys(store, tmp_path, monkeypatch, capsys):
    output = tmp_path / "raster.png"
    assert main(["plot", store, "spikes", "--example", "4", "--output", str(output)]) == 0
    assert output.read_bytes()[:4] == b"\x89PNG" and output.stat().st_size > 1000
    assert capsys.readouterr().out == f"wrote {output}\n"

    monkeypatch.chdir(tmp_path)
    assert main(["plot", store, "v", "--example", "1"]) == 0
    assert (tmp_path / "v-example-1.png").stat().st_size > 1000
    assert main(["plot", store, "v", "--example", "-1"]) == 0  # the last: position 1
    assert capsys.readouterr().out.endswith("wrote v-example-1.png\n")
    assert main(["plot", store, "7"]) == 0                   # the int key 7, by its repr
    assert (tmp_path / "7-example-0.png").stat().st_size > 1000


@pytest.mark.parametrize("argv, message", [
    (["plot", "{tmp}/missing.zarr", "spikes"], "no store at '{tmp}/missing.zarr'"),
    (["inspect", "{tmp}/missing.zarr"], "no store at '{tmp}/missing.zarr'"),
    (["plot", "{store}", "spiks"], "no key 'spiks' in the store; its keys are: 7, counts, "
                                   "spikes, v, w"),
    (["plot", "{store}", "spikes", "--example", "5"],
     "example 5 is out of range: key 'spikes' holds 5 recorded examples"),
    (["plot", "{store}", "v", "--example", "2"],
     "holds 2 recorded examples (positions 0 to 1, data-set examples 1, 3)"),
    (["plot", "{store}", "counts"], "key 'counts' holds spike counts"),
    (["plot", "{store}", "w"], "key 'w' holds a connection variable"),
    (["plot", "{store}", "v", "--example", "one"], "invalid int value: 'one'"),
    (["inspect", "{store}", "--verbose"], "unrecognized arguments: --verbose"),
    (["inspect", "{tmp}"], "is not an snnflow store"),
    (["run", "nothing"], "no pipeline 'nothing'; the pipelines are: digits"),
    (["run", "{tmp}/nothing.py"], "no pipeline script"),
    (["plot", "{store}"], "KEY is required for a run's store; its keys are: 7, counts"),
    ([], "the following arguments are required: COMMAND"),
])
def test_mistakes_exit_with_status_2_and_one_message(argv, message, store, tmp_path, capsys):
    zarr.open_group(tmp_path, mode="w")                     # a zarr group snnflow did not write
    argv = [a.format(store=store, tmp=tmp_path) for a in argv]
    err = fails(argv, capsys)
    assert message.format(tmp=tmp_path) in err
    assert "Traceback" not in err


ECHO_PIPELINE = """
    import json, sys
    if __name__ == "__main__":
        with open("seen.json", "w") as file:
            json.dump({"argv": sys.argv, "path0": sys.path[0]}, file)
        sys.exit(int(sys.argv[sys.argv.index("--exit") + 1]) if "--exit" in sys.argv else 0)
"""


@pytest.fixture
def echo(tmp_path, monkeypatch):
    """A script, elsewhere/echo.py, which records how it was started; run from tmp_path."""
    (tmp_path / "elsewhere").mkdir()
    script = tmp_path / "elsewhere" / "echo.py"
    script.write_text(textwrap.dedent(ECHO_PIPELINE))
    monkeypatch.chdir(tmp_path)
    return script


def seen(folder):
    return json.loads((folder / "seen.json").read_text())


def test_run_passes_everything_after_the_pipeline_on_to_it(echo, tmp_path):
    argv = ["run", "elsewhere/echo.py", "--seed", "3", "--store", "out.zarr", "--timesteps=50",
            "--scheduler", "tcp://host:8786", "--help", "--exit", "3"]
    assert main(argv) == 3
    assert seen(tmp_path) == {"argv": ["elsewhere/echo.py", *argv[2:]],
                              "path0": str(echo.parent)}
    assert sys.argv[0] != "elsewhere/echo.py"                 # restored afterwards


def test_pipelines_lists_the_ready_pipelines_only(capsys):
    assert main(["pipelines"]) == 0
    lines = capsys.readouterr().out.splitlines()
    listed = {line.split()[0]: line for line in lines[:lines.index("")]}
    assert set(listed) == {"digits", "digits_convert", "digits_train", "sweep", "yinyang"}
    assert "Sweep the membrane time constant and threshold" in listed["sweep"]
    assert "'snnflow run NAME --help' shows a pipeline's options" in lines[-1]


def test_run_finds_a_ready_pipeline_from_any_folder_and_shows_its_help(tmp_path,
                                                                       monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "yinyang", "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: yinyang.py" in out and "--examples" in out and "--keep-dashboard" in out
    assert "no pipeline 'ech'; the pipelines are: digits, digits_convert, digits_train, " \
           "sweep, yinyang" in fails(["run", "ech"], capsys)


def test_closed_pipe_ends_quietly(store):
    """'snnflow inspect STORE | head': the reader is gone before the output is."""
    reader = subprocess.Popen([sys.executable, "-m", "snnflow.cli", "inspect", store],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader.stdout.close()
    _, err = reader.communicate(timeout=60)
    assert b"Traceback" not in err and b"BrokenPipeError" not in err


CLUSTER_PIPELINE = """
    import sys
    from distributed import Client
    import snnflow.distributed

    def square(value):
        return value * value

    if __name__ == "__main__":
        with snnflow.distributed.local_cluster(1) as cluster, Client(cluster) as client:
            print("squared", client.submit(square, int(sys.argv[1])).result())
"""


def test_console_script_runs_a_pipeline_with_a_local_cluster(tmp_path):
    """Dask's worker processes re-import the running script: under 'snnflow run' that
    must be the pipeline, as under 'python pipeline.py'."""
    script = Path(sys.executable).with_name("snnflow")
    if not script.exists():
        pytest.skip("the snnflow console script is not installed")
    (tmp_path / "cluster.py").write_text(textwrap.dedent(CLUSTER_PIPELINE))
    done = subprocess.run([str(script), "run", "cluster.py", "7"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "squared 49" in done.stdout


def test_module_reports_errors_without_a_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "snnflow.cli", "inspect",
                           str(tmp_path / "missing.zarr")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (f"snnflow inspect: error: no store at "
                                            f"'{tmp_path / 'missing.zarr'}'")


def tiny_network(v_thresh=1.0):
    rng = np.random.default_rng(4)
    net = Network()
    with net:
        inp = Population(IntegrateFireInput(v_thresh=1.0), 4, record_spikes=True)
        out = Population(LeakyIntegrateFire(v_thresh=v_thresh, readout="spike_count"), 3,
                         name="output")
        Connection(inp, out, Dense(rng.normal(0.4, 0.3, (4, 3))))
    return net, inp, out


@pytest.fixture(scope="module")
def sweep_store(tmp_path_factory):
    from distributed import Client

    import snnflow.distributed
    from snnflow.pipeline import Pipeline, Sweep

    path = tmp_path_factory.mktemp("sweep") / "sweep.zarr"
    rng = np.random.default_rng(1)
    data = (rng.uniform(0, 0.5, (16, 4)), rng.integers(0, 3, 16))
    with snnflow.distributed.local_cluster(1) as cluster, Client(cluster) as client:
        pipeline = Pipeline(tiny_network, data, compiler={"evaluate_timesteps": 5,
                                                          "batch_size": 8},
                            store=path, cluster=client, callbacks=[])
        summary = Sweep(pipeline, {"v_thresh": [0.5, 1.0]}).run()
    return str(path), summary


def test_inspect_describes_a_sweep_its_summary_and_points(sweep_store, capsys):
    path, summary = sweep_store
    assert main(["inspect", path]) == 0
    out = capsys.readouterr().out
    accuracy = summary["sparse_categorical_accuracy"].values
    assert "grid       v_thresh: 0.5, 1.0\npoints     2, 2 finished" in out
    assert "summary: sparse_categorical_accuracy" in out
    assert (f"  v_thresh=0.5  16 examples, sparse_categorical_accuracy {accuracy[0]:.4f}\n"
            f"  v_thresh=1.0  16 examples, sparse_categorical_accuracy {accuracy[1]:.4f}") in out
    assert main(["inspect", f"{path}/points/v_thresh=1.0"]) == 0
    out = capsys.readouterr().out
    assert "finished   yes\nexamples   16" in out
    assert f"metrics    output sparse_categorical_accuracy: {accuracy[1]}" in out


def test_plot_draws_a_sweeps_metric(sweep_store, tmp_path, monkeypatch, capsys):
    path, _ = sweep_store
    monkeypatch.chdir(tmp_path)
    assert main(["plot", path]) == 0
    assert (tmp_path / "sparse_categorical_accuracy.png").stat().st_size > 1000
    assert "the sweep summary has no metric 'loss'" in fails(["plot", path, "loss"], capsys)


def test_inspect_marks_automatic_population_names(tmp_path, capsys):
    net, inp, out = tiny_network()
    InferenceCompiler(evaluate_timesteps=5, batch_size=4).compile(net).evaluate(
        {inp: np.full((4, 4), 0.3)}, {out: np.zeros(4, int)}, store=tmp_path / "s.zarr",
        callbacks=[SpikeRecorder(inp, key="in")])
    assert main(["inspect", str(tmp_path / "s.zarr")]) == 0
    assert f"spike times of population {inp.name} (a name snnflow gave it: create it with " \
           f"name=... to see yours)" in capsys.readouterr().out
