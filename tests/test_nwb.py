"""`snnflow export nwb`: units, trials and time series that pynwb validates and
that read back equal to the store."""
import numpy as np
import pytest

pynwb = pytest.importorskip("pynwb")

import snnflow.store  # noqa: E402
from snnflow import cli  # noqa: E402
from test_distributed import problem, recorders  # noqa: E402,F401  (the fixture)

STEPS = 12      # the problem's evaluate_timesteps


def test_export_validates_and_reads_back_equal(problem, tmp_path, capsys):  # noqa: F811
    net, inp, hid, out, x, y, compiler = problem
    store = tmp_path / "run.zarr"
    compiler.compile(net).evaluate({inp: x}, {out: y}, callbacks=recorders(inp, hid),
                                   store=store)
    output = tmp_path / "run.nwb"
    assert cli.main(["export", "nwb", str(store), str(output)]) == 0
    assert "units" in capsys.readouterr().out
    from pynwb import NWBHDF5IO, validate
    errors = validate(path=str(output))
    errors = errors[0] if isinstance(errors, tuple) else errors
    assert list(errors) == []

    recorded = snnflow.store.open(store)
    dt = compiler.dt / 1000.0
    with NWBHDF5IO(str(output), "r") as io:
        nwb = io.read()
        trials = nwb.trials.to_dataframe()
        assert list(trials["example"]) == list(range(len(x)))
        np.testing.assert_allclose(trials["start_time"], np.arange(len(x)) * STEPS * dt)
        units = nwb.units.to_dataframe()
        # Every neuron of "in" (20) and "hid" (30) is a unit
        assert (units["key"] == "in").sum() == 20 and (units["key"] == "hid").sum() == 30
        for key, examples in (("in", range(len(x))), ("hid", [3, 17, 49])):
            times, ids = recorded[key]
            for neuron in (0, 7):
                expected = np.sort(np.concatenate([
                    k * STEPS * dt + np.asarray(times[i], np.float64)[ids[i] == neuron] / 1000
                    for i, k in enumerate(examples)]))
                got = units[(units["key"] == key) & (units["neuron"] == neuron)]
                np.testing.assert_allclose(got["spike_times"].iloc[0], expected, atol=1e-9)
        series = nwb.acquisition["v"]
        values = np.asarray(series.data[:])
        np.testing.assert_array_equal(values.reshape(len(x), STEPS, -1),
                                      np.stack([np.asarray(v) for v in recorded["v"]]))
        np.testing.assert_allclose(series.timestamps[:STEPS + 1],
                                   np.arange(STEPS + 1) * dt)


def test_export_errors(tmp_path):
    with pytest.raises(SystemExit):
        cli.main(["export", "nwb", str(tmp_path / "missing.zarr"), str(tmp_path / "o.nwb")])
