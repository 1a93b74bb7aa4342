"""The Dask dashboard during a run, as a person sees it: headless Chromium opens
the status page of the embedded cluster while snnflow.distributed.evaluate
runs, takes a screenshot, and the task stream shows snnflow's named tasks.
It runs docs/examples/dashboard_screenshot.py, the script that made the
screenshot in docs/distributed.md, on a smaller evaluation."""
import importlib.util
import struct
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "examples" / "dashboard_screenshot.py"


def load_script():
    spec = importlib.util.spec_from_file_location("dashboard_screenshot", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(600)
def test_the_task_stream_shows_snnflows_tasks(tmp_path):
    script = load_script()
    if script.find_chromium() is None:
        pytest.skip("needs Chromium (Debian: apt-get install chromium; .ci/run installs it)")
    output = tmp_path / "dashboard.png"
    names = script.run(output, examples=1920, shard_size=240, shards_before=2, settle=2.0)
    assert "snnflow-shard" in names
    png = output.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (script.WIDTH, script.HEIGHT)
    assert len(png) > 20_000      # a drawn page, not a blank one
