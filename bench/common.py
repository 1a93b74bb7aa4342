"""Shared pieces of the benchmarks: thread limits, machine description, timing,
synthetic data and weights, and the JSON results files.

Import this module before numpy in a benchmark entry point: ``limit_threads`` sets
the thread environment variables, which BLAS libraries read when they load."""
from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
#: Where the benchmarks' zarr stores go (not the system's temporary folder: on the
#: machine these results come from, creating a file under /tmp cost 10x what it
#: cost elsewhere on the same disk, at times; a user's store is not in /tmp either)
SCRATCH_DIR = BENCH_DIR / "scratch"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def default_threads() -> int:
    return len(os.sched_getaffinity(0))


def limit_threads(threads: int):
    """Cap BLAS/OpenMP threads of numpy, scipy and torch at ``threads``: through the
    environment (for libraries not loaded yet) and threadpoolctl/torch (for loaded
    ones). Returns the threadpoolctl limiter, which must be kept alive."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    from threadpoolctl import threadpool_limits
    limiter = threadpool_limits(limits=threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    return limiter


@contextlib.contextmanager
def set_threads(threads: int):
    """Temporarily cap every loaded pool (numpy's BLAS, torch) at ``threads``."""
    from threadpoolctl import threadpool_limits
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch else None
    with threadpool_limits(limits=threads):
        if torch:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if torch:
                torch.set_num_threads(before)


def machine_info() -> dict:
    """Where and with what the numbers were taken."""
    import numpy as np
    import scipy
    info = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name] + sys.argv),
        "nproc": int(subprocess.run(["nproc"], capture_output=True, text=True).stdout),
        "cpu_model": _cpu_model(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
                            1),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numpy_blas": _numpy_blas(np),
    }
    info["snnflow_revision"] = _revision()
    try:
        from threadpoolctl import threadpool_info
        info["threadpools"] = [{key: pool.get(key) for key in
                                ("internal_api", "version", "num_threads", "architecture",
                                 "threading_layer", "filepath")}
                               for pool in threadpool_info()]
    except ImportError:
        pass
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["torch_blas"] = _torch_blas(torch)
    # Versions from the installed metadata: no import (torch, pygenn) needed
    from importlib.metadata import PackageNotFoundError, version
    for package in ("numba", "snntorch", "norse", "ml_genn", "pygenn"):
        try:
            info[package] = version(package)
        except PackageNotFoundError:
            pass
    return info


def _revision() -> str:
    """The checked-out commit, with "+modified" when snnflow/ has local changes."""
    def git(*args):
        return subprocess.run(["git", "-C", str(BENCH_DIR.parent), *args],
                              capture_output=True, text=True).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown"
    return commit + ("+modified" if git("status", "--porcelain", "--", "snnflow") else "")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _numpy_blas(np) -> dict:
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        simd = config.get("SIMD Extensions", {})
        return {"name": blas.get("name"), "version": blas.get("version"),
                "openblas_configuration": blas.get("openblas configuration"),
                "simd_found": simd.get("found")}
    except Exception as error:  # show_config's layout differs between versions
        return {"error": repr(error)}


def _torch_blas(torch) -> str:
    config = torch.__config__.show()
    keep = [line.strip() for line in config.splitlines()
            if any(word in line for word in ("BLAS_INFO", "LAPACK_INFO", "CPU capability",
                                             "MKL", "oneDNN"))]
    return "; ".join(keep)[:600]


def scratch_folder():
    """A temporary folder in SCRATCH_DIR, removed with its contents on exit."""
    import tempfile
    SCRATCH_DIR.mkdir(exist_ok=True)
    return tempfile.TemporaryDirectory(dir=SCRATCH_DIR)


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def summarize(seconds: list[float]) -> dict:
    """Best (least disturbed by other load) and median of repeated timings."""
    return {"best_s": min(seconds), "median_s": statistics.median(seconds),
            "all_s": [round(s, 6) for s in seconds]}


def image_like(num_examples: int, rng, side: int = 28, density: float = 0.2):
    """Image-like inputs: ``density`` of the pixels non-zero, uniform in (0, 1], the
    non-zero pixels in 2-4 spatially clustered Gaussian blobs per image."""
    import numpy as np
    yy, xx = np.mgrid[0:side, 0:side]
    active = int(round(density * side * side))
    images = np.zeros((num_examples, side * side), dtype=np.float32)
    for image in images:
        field = np.zeros((side, side))
        for _ in range(rng.integers(2, 5)):
            cy, cx = rng.uniform(0.2 * side, 0.8 * side, 2)
            width = rng.uniform(2.0, 5.0)
            field += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * width * width))
        brightest = np.argsort(field.ravel())[-active:]
        image[brightest] = 1.0 - rng.random(active, dtype=np.float32)
    return images


def write_results(name: str, results: dict, quick: bool) -> Path:
    folder = RESULTS_DIR / "quick" if quick else RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(results, indent=2, default=_jsonable) + "\n")
    return path


def _jsonable(value):
    import numpy as np
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def script_main(name: str, run, description: str):
    """The command line of a benchmark script run alone: ``--quick``, ``--threads``."""
    import argparse
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    limiter = limit_threads(args.threads or default_threads())  # noqa: F841  (kept alive)
    results = run(args.quick, args.threads)
    print(f"wrote {write_results(name, results, args.quick)}")
