"""docs/tutorial.ipynb runs from top to bottom in a fresh Jupyter kernel."""
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parent.parent / "docs" / "tutorial.ipynb"


def test_the_tutorial_notebook_runs(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    notebook = nbformat.read(TUTORIAL, as_version=4)
    # Its stores go where it runs: a folder of the test's own
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(output.get("text", "") for cell in notebook.cells
                      if cell.cell_type == "code" for output in cell.outputs)
    assert "same accuracy: True" in printed and "same spikes: True" in printed
    assert "Dask dashboard: http://127.0.0.1:" in printed
    images = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.outputs if "image/png" in output.get("data", {})]
    assert len(images) == 3          # raster, traces, the xarray plot
    assert (tmp_path / "tutorial_distributed.zarr").is_dir()
