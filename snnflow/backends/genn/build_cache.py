"""Where GeNN models are built: one directory per model content hash, per process.

GeNN generates C++ for a model and compiles it into a shared library, which takes
seconds. Every value of a snnflow network (weights, thresholds, initial state) is
loaded into the built model at run time, so the code depends only on the network's
structure: building once per structure lets a worker evaluate many shards, calls
and weight sets with one compilation.

Each process builds under its own temporary root, so two Dask workers never share
(or half-write) a build directory. A loaded model keeps its library open, and two
models loaded from one library would share the library's global state, so a model
whose directory is in use by a live engine is loaded from a copy instead."""
from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import weakref
from pathlib import Path

#: GeNN's name for the model; its code lands in <directory>/<MODEL_NAME>_CODE
MODEL_NAME = "snnflow"
#: written into a directory once its model has compiled completely
BUILT_MARKER = "built"


def content_key(description) -> str:
    """A hash of everything that shapes a model's generated code."""
    return hashlib.sha256(repr(description).encode()).hexdigest()[:24]


class BuildCache:
    """The model builds of this process, by content key. ``builds`` counts the
    compilations it has run (a cached model is loaded without one)."""

    def __init__(self):
        self.builds = 0
        self._pid = None
        self._root = None
        self._in_use = set()

    @property
    def root(self) -> Path:
        # A forked child must not build into its parent's root
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._root = Path(tempfile.mkdtemp(prefix=f"snnflow-genn-{self._pid}-"))
            self._in_use = set()
            atexit.register(shutil.rmtree, self._root, True)
        return self._root

    def build(self, model, key: str, owner) -> None:
        """Build (or reuse the build of) ``model``, a pygenn GeNNModel whose code is
        identified by ``key``, for ``owner``: the directory stays reserved until
        ``owner`` is garbage-collected."""
        original = self.root / key
        directory = original
        copy = 0
        while directory in self._in_use:
            copy += 1
            directory = self.root / f"{key}-{copy}"
        cached = (directory / BUILT_MARKER).exists()
        if not cached and (original / BUILT_MARKER).exists():
            # Reuse the compiled original under a new path: the library is a new file
            shutil.copytree(original, directory, dirs_exist_ok=True)
            cached = True
        directory.mkdir(exist_ok=True)
        model.build(str(directory), never_rebuild=cached)
        if not cached:
            self.builds += 1
            (directory / BUILT_MARKER).touch()
        self._in_use.add(directory)
        weakref.finalize(owner, self._in_use.discard, directory)


#: this process's cache
build_cache = BuildCache()
