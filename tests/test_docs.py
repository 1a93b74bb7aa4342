"""The documentation builds without a warning, and the quick start's code runs."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_docs_build_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr
    api = (site / "api" / "index.html").read_text()
    for documented in ["snnflow.plot.raster", "snnflow.cli.main", "snnflow.distributed.evaluate",
                       "snnflow.compilers.InferenceCompiler", "snnflow.callbacks.SpikeRecorder"]:
        assert f'id="{documented}"' in api


def test_quickstart_code_runs(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "quickstart.md").read_text(),
                        re.S)
    monkeypatch.chdir(tmp_path)
    exec(compile("\n".join(blocks), "quickstart.md", "exec"), {})
    assert (tmp_path / "first.zarr").is_dir()
    assert (tmp_path / "raster.png").stat().st_size > 1000
    assert (tmp_path / "voltage.png").stat().st_size > 1000
