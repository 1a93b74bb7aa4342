"""Data-parallel training with communicators.MPI under mpiexec -n 2: every rank
ends with the same weights, equal to one process training on the whole batches
(to float32 rounding), with metrics summed over the ranks; ranks that build
different networks are refused."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import mpi_training_script as script  # noqa: E402


def mpiexec():
    beside = Path(sys.executable).with_name("mpiexec")
    return str(beside) if beside.exists() else "mpiexec"


def run_ranks(tmp_path, mode, ranks=2):
    result = subprocess.run([mpiexec(), "-n", str(ranks), sys.executable,
                             str(HERE / "mpi_training_script.py"), str(tmp_path), mode],
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_two_ranks_train_as_one_process_on_the_whole_batches(tmp_path):
    run_ranks(tmp_path, "train")
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    single_weights, single_state = script.train()
    initial = {c.name: np.asarray(c.connectivity.weight) for c in script.build()[0].connections}
    for name, weight in single_weights.items():
        assert not np.allclose(weight, initial[name]), f"{name} must have trained"
        np.testing.assert_array_equal(ranks[0][name], ranks[1][name])
        np.testing.assert_allclose(ranks[0][name], weight, rtol=1e-5, atol=1e-6)
    for key, value in single_state.items():
        assert ranks[0][f"metric_{key}"] == value == ranks[1][f"metric_{key}"]


def test_ranks_that_build_different_networks_are_refused(tmp_path):
    output = run_ranks(tmp_path, "mismatch")
    assert output.count("refused: communicator: rank(s) [1] built a different network") == 2
