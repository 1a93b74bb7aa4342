import os
import tempfile
from pathlib import Path

import numpy as np

from .serialiser import Serialiser


class Numpy(Serialiser):
    """One ``.npz`` file per keys tuple in the directory ``path``: keys ``(3,)``
    give ``path/3.npz``, ``("best", 3)`` give ``path/best-3.npz``.

    Files are written under a temporary name and renamed, so a crash never
    leaves a half-written checkpoint where a complete one is expected."""

    def __init__(self, path="checkpoints"):
        self.path = Path(path)

    def file(self, keys) -> Path:
        keys = keys if isinstance(keys, tuple) else (keys,)
        if not keys:
            raise ValueError("serialiser keys must not be empty")
        return self.path / ("-".join(str(k) for k in keys) + ".npz")

    def check_writable(self):
        self.path.mkdir(parents=True, exist_ok=True)
        # Creating a file is the only reliable test (permissions, read-only mounts)
        with tempfile.TemporaryFile(dir=self.path):
            pass

    def serialise(self, keys, arrays):
        target = self.file(keys)
        self.path.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path, suffix=".npz.partial")
        try:
            with os.fdopen(handle, "wb") as file:
                np.savez(file, **arrays)
            os.replace(temporary, target)
        except BaseException:
            os.unlink(temporary)
            raise

    def deserialise(self, keys):
        target = self.file(keys)
        if not target.is_file():
            raise FileNotFoundError(f"no saved parameters for keys {keys!r}: {target} "
                                    f"does not exist")
        with np.load(target) as archive:
            return {name: archive[name] for name in archive.files}

    def __repr__(self):
        return f"Numpy({str(self.path)!r})"
