"""The documentation builds without a warning, and its code runs as written: the
Python blocks of each page (README.md and docs/*.md), in order, as one script, in
a fresh Python process, as a reader would paste them into a file."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: A block that starts with "# file: NAME" is a whole script of its own, run by
#: the test that has what it needs (a scheduler, a SLURM cluster), not with its page
STANDALONE = {"on_a_cluster.py": "tests/test_clusters.py",
              "slurm_sweep.py": "tests/test_clusters.py"}

#: Pages that read what a run wrote, with the run that writes it (a page about
#: reading a store shows only the reading)
CONTEXT = {"storage.md": '''
import numpy as np
from snnflow import Network, Population, Connection
from snnflow.callbacks import SpikeRecorder, VarRecorder
from snnflow.compilers import InferenceCompiler
from snnflow.connectivity import Dense
from snnflow.neurons import IntegrateFireInput, LeakyIntegrateFire

rng = np.random.default_rng(0)
net = Network()
with net:
    inp = Population(IntegrateFireInput(v_thresh=1.0), 8, record_spikes=True)
    out = Population(LeakyIntegrateFire(v_thresh=1.0, readout="spike_count"), 3)
    Connection(inp, out, Dense(rng.normal(0.3, 0.2, (8, 3))))
InferenceCompiler(evaluate_timesteps=20, batch_size=4).compile(net).evaluate(
    {inp: rng.uniform(0, 0.5, (10, 8))}, {out: rng.integers(0, 3, 10)}, store="run.zarr",
    callbacks=[SpikeRecorder(inp, key="in"), VarRecorder(out, "v", key="v")])
'''}

#: Pages whose blocks are still fragments of a larger program (names defined
#: nowhere on the page). They belong to other parts of the project; strict, so
#: that the page's owner removes it here when the page runs.
FRAGMENTS = {
}


def python_blocks(page) -> list:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), re.S | re.M)


def standalone(page, name) -> str:
    """The block of ``page`` that is the script ``name``."""
    return next(block for block in python_blocks(page)
                if block.startswith(f"# file: {name}"))


def page_script(page) -> str:
    blocks = [block for block in python_blocks(page) if not block.startswith("# file: ")]
    return CONTEXT.get(page.name, "") + "\n\n".join(blocks)


def run_script(code, folder, *args, timeout=600):
    script = folder / "page.py"
    script.write_text(code)
    return subprocess.run([sys.executable, str(script), *args], cwd=folder,
                          capture_output=True, text=True, timeout=timeout)


def pages_with_code():
    for page in PAGES:
        if not any(not b.startswith("# file: ") for b in python_blocks(page)):
            continue
        marks = [pytest.mark.xfail(strict=True, reason=FRAGMENTS[page.name])] \
            if page.name in FRAGMENTS else []
        yield pytest.param(page, id=page.name, marks=marks)


@pytest.mark.parametrize("page", list(pages_with_code()))
def test_page_runs_as_a_script(page, tmp_path):
    pytest.importorskip("matplotlib")
    done = run_script(page_script(page), tmp_path)
    assert done.returncode == 0, f"{page.name}:\n{done.stderr[-3000:]}"
    if page.name == "quickstart.md":
        assert (tmp_path / "first.zarr").is_dir()
        assert (tmp_path / "raster.png").stat().st_size > 1000
        assert (tmp_path / "voltage.png").stat().st_size > 1000


def test_every_standalone_script_has_a_test():
    named = {re.match(r"# file: (\S+)", block)[1] for page in PAGES
             for block in python_blocks(page) if block.startswith("# file: ")}
    assert named == set(STANDALONE)
    for test in set(STANDALONE.values()):
        assert (ROOT / test).is_file()


def test_docs_build_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("mkdocs_jupyter")
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
                          # mkdocs-jupyter keeps a cache in the folder it runs in
                          cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr
    api = (site / "api" / "index.html").read_text()
    for documented in ["snnflow.plot.raster", "snnflow.cli.main", "snnflow.distributed.evaluate",
                       "snnflow.distributed.connect", "snnflow.compilers.InferenceCompiler",
                       "snnflow.callbacks.SpikeRecorder"]:
        assert f'id="{documented}"' in api
    # InferenceCompiler's arguments are on the page, not only its name
    compiler = api[api.index('id="snnflow.compilers.InferenceCompiler"'):]
    for argument in ("evaluate_timesteps", "batch_size", "rng_seed", "backend"):
        assert argument in compiler[:20000]
    tutorial = re.sub(r"<[^>]+>", "", (site / "tutorial" / "index.html").read_text())
    assert "snnflow.distributed.evaluate" in tutorial and "xr.open_zarr" in tutorial
