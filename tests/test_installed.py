"""snnflow installed from its wheel, without a clone: the ready pipelines come with
it, so `snnflow pipelines` lists them and `snnflow run NAME` runs them."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """snnflow's wheel installed (without its dependencies, which this environment
    has) into a folder of its own, put first on PYTHONPATH."""
    folder = tmp_path_factory.mktemp("installed")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", str(folder / "wheel"), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next((folder / "wheel").glob("snnflow-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(folder / "site"), str(wheel)], check=True, capture_output=True,
                   timeout=300)
    return folder


def snnflow(installed, *args, timeout=120):
    """The command, run from an empty folder with the installed copy first on the path."""
    work = installed / "work"
    work.mkdir(exist_ok=True)
    environment = dict(os.environ, PYTHONPATH=str(installed / "site"))
    return subprocess.run([sys.executable, "-m", "snnflow.cli", *args], cwd=work,
                          env=environment, capture_output=True, text=True, timeout=timeout)


def test_the_installed_copy_lists_its_pipelines_and_shows_their_options(installed):
    listed = snnflow(installed, "pipelines")
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.split("\n\n")[0].splitlines()] == \
        ["digits", "digits_convert", "digits_train", "sweep", "yinyang"]
    assert f"the scripts are in {installed / 'site' / 'snnflow' / 'pipelines'}" in listed.stdout
    shown = snnflow(installed, "run", "sweep", "--help")
    assert shown.returncode == 0, shown.stderr
    assert "usage: sweep.py" in shown.stdout and "--keep-dashboard" in shown.stdout


@pytest.mark.slow
def test_the_installed_copy_runs_a_pipeline(installed):
    done = snnflow(installed, "run", "yinyang", "--examples", "4096", "--workers", "1",
                   timeout=600)
    assert done.returncode == 0, done.stderr
    assert (installed / "work" / "runs" / "yinyang.zarr").is_dir()
    assert "Dask dashboard: http://127.0.0.1:" in done.stderr
