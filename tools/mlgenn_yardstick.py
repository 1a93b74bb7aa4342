"""Run mlGeNN's own test suite against snnflow, with only the imports changed.

mlGeNN's tests are the yardstick of "switching is a change of import"; they are
never copied into this project.  Give this script the path of an ml_genn checkout
(``git clone https://github.com/genn-team/ml_genn``); it copies
``tests/ml_genn`` into a temporary folder, rewrites ``ml_genn`` to ``snnflow`` in
import lines only, and runs pytest there.  The two files that test pygenn's own
types are left out (they cannot apply to an engine that is not GeNN).

    python tools/mlgenn_yardstick.py PATH/TO/ml_genn [pytest arguments...]
"""
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# Files that test pygenn's types (SynapseMatrixType, VarAccess), not mlGeNN's API.
PYGENN_ONLY = {"compilers/test_compiler.py", "utils/test_model.py"}
IMPORT_LINE = re.compile(r"^(\s*)(from|import)(\s+)ml_genn\b", re.MULTILINE)


def rewrite_imports(source):
    return IMPORT_LINE.sub(r"\1\2\3snnflow", source)


def main(argv):
    if not argv:
        sys.exit(__doc__)
    tests = Path(argv[0]) / "tests" / "ml_genn"
    if not tests.is_dir():
        sys.exit(f"{tests} is not a folder: expected the root of an ml_genn checkout")
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "ml_genn_tests"
        for path in tests.rglob("*.py"):
            relative = path.relative_to(tests).as_posix()
            if relative in PYGENN_ONLY:
                continue
            out = target / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(rewrite_imports(path.read_text()))
        # mlGeNN's tests write GeNN build folders into the working directory.
        return subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                "-o", "addopts=", "--rootdir", str(target), str(target),
                                *argv[1:]], cwd=scratch)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
