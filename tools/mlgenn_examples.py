"""Run mlGeNN's EventProp example scripts on snnflow, offline, with only their
imports changed and their sizes cut by editing constants.

mlGeNN's examples are never copied into this project: give this script the path
of an ml_genn checkout (``git clone https://github.com/genn-team/ml_genn``). It
copies each ``examples/event_prop/*.py`` into a temporary folder, rewrites
``ml_genn`` to ``snnflow`` in import lines only, sets the top-level constants
listed in EDITS below (epochs, sizes, KERNEL_PROFILING, which reads GeNN's kernel
timers), and runs it with ``tools/standins`` first on the path: offline stand-ins
of the ``mnist`` and ``tonic`` packages with the shapes of the data sets the
scripts download. ``latency_mnist_mpi.py`` runs under ``mpiexec -n 2``.

    python tools/mlgenn_examples.py PATH/TO/ml_genn [script names...]

It prints, for each script, whether it ran, its last lines and the seconds per
epoch (the script's own "Time = " line divided by its epochs).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlgenn_yardstick import rewrite_imports  # this folder is on the path

HERE = Path(__file__).resolve().parent
COMMON = {"NUM_EPOCHS": "2", "KERNEL_PROFILING": "False"}
#: Top-level constants set per script (on top of COMMON), and its environment
EDITS = {
    "latency_mnist.py": ({}, {"SNNFLOW_STANDIN_EXAMPLES": "512"}),
    "latency_mnist_augment.py": ({}, {"SNNFLOW_STANDIN_EXAMPLES": "512"}),
    "latency_mnist_conv.py": ({}, {"SNNFLOW_STANDIN_EXAMPLES": "512"}),
    "latency_mnist_mpi.py": ({}, {"SNNFLOW_STANDIN_EXAMPLES": "512"}),
    # fac = 100 in its plotting loop reads trial 100 * epoch: keep 100 trials;
    # its plot labels axes[0, 2]: at least 3 epochs
    "pattern_recognition.py": ({"NUM_EPOCHS": "3"}, {}),
    "shd.py": ({}, {"SNNFLOW_STANDIN_EXAMPLES": "128"}),
    "shd_augment.py": ({}, {"SNNFLOW_STANDIN_EXAMPLES": "128"}),
    # Its split is hard-coded: the first 7644 training examples train, the rest
    # validate, and each epoch blends 7644 more in: short, small examples instead
    "shd_delay_shift_blend.py": ({"NUM_HIDDEN": "32", "N_DELAY": "2", "T_DELAY": "10",
                                  "NUM_EPOCHS": "1"},
                                 {"SNNFLOW_STANDIN_TRAIN_EXAMPLES": str(7644 + 128),
                                  "SNNFLOW_STANDIN_TEST_EXAMPLES": "128",
                                  "SNNFLOW_STANDIN_DURATION_MS": "100"}),
    "yin_yang.py": ({"NUM_TRAIN": "BATCH_SIZE * 2 * NUM_OUTPUT", "BATCH_SIZE": "32"}, {}),
}
MPI_RANKS = 2


def set_constants(source, constants):
    for name, value in constants.items():
        source, count = re.subn(rf"^{name} = .*$", f"{name} = {value}", source,
                                flags=re.MULTILINE)
        if count == 0 and name not in COMMON:
            raise ValueError(f"constant {name} not found")
    return source


def run_script(path, env, mpi):
    command = [sys.executable, path.name]
    if mpi:
        mpiexec = Path(sys.executable).with_name("mpiexec")
        command = [str(mpiexec if mpiexec.exists() else "mpiexec"), "-n", str(MPI_RANKS),
                   *command]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=path.parent, env=env, capture_output=True,
                            text=True)
    return result, time.perf_counter() - start


def main(argv):
    if not argv:
        sys.exit(__doc__)
    examples = Path(argv[0]) / "examples" / "event_prop"
    if not examples.is_dir():
        sys.exit(f"{examples} is not a folder: expected the root of an ml_genn checkout")
    names = argv[1:] or sorted(p.name for p in examples.glob("*.py"))
    failed = 0
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            constants, extra_env = EDITS.get(name, ({}, {}))
            constants = {**COMMON, **constants}
            folder = Path(scratch) / Path(name).stem
            folder.mkdir()
            target = folder / name
            target.write_text(set_constants(rewrite_imports((examples / name).read_text()),
                                            constants))
            mpi = name.endswith("_mpi.py")
            paths = [str(HERE / "standins")]
            if mpi:
                paths.append(str(HERE / "standins_pygenn4"))
            env = {**os.environ, **extra_env, "MPLBACKEND": "Agg",
                   "PYTHONPATH": os.pathsep.join(paths + [os.environ.get("PYTHONPATH", "")])}
            result, seconds = run_script(target, env, mpi)
            output = (result.stdout + result.stderr).strip().splitlines()
            times = [float(m.group(1)) for line in output
                     if (m := re.match(r"Time = ([0-9.e+-]+)s", line))]
            epochs = int(constants["NUM_EPOCHS"])
            per_epoch = f"{times[0] / epochs:.1f} s/epoch" if times else "no Time line"
            status = "ran" if result.returncode == 0 else f"FAILED ({result.returncode})"
            failed += result.returncode != 0
            print(f"== {name}: {status}, {per_epoch}, {seconds:.0f} s in all, "
                  f"constants {constants}")
            # Progress bars redraw on one line: show what the script printed
            output = [line for line in output if "batch/s" not in line]
            for line in output[-6:]:
                print(f"   {line[:160]}")
            shutil.rmtree(folder, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
