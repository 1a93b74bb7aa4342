"""Peak memory of a command and every process it starts (the driver plus Dask's
worker processes), sampled from outside, so nothing in the measured run changes."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import psutil

SAMPLE_SECONDS = 0.02


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants right now."""
    total = 0
    for member in [process] + process.children(recursive=True):
        try:
            total += member.memory_info().rss
        except psutil.Error:  # a process that just ended
            pass
    return total


def peak_rss(arguments: list[str]) -> tuple[int, dict]:
    """Run ``python arguments...``; return its process tree's peak RSS in bytes and
    the JSON object it printed last."""
    process = subprocess.Popen([sys.executable] + arguments, stdout=subprocess.PIPE,
                               text=True)
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, tree_rss(watched))
        except psutil.NoSuchProcess:
            break
        time.sleep(SAMPLE_SECONDS)
    output = process.stdout.read()
    if process.returncode != 0:
        raise RuntimeError(f"{arguments} failed with status {process.returncode}")
    return peak, json.loads(output.strip().splitlines()[-1])


def compare_sizes(script: str, small: int, factor: int) -> dict:
    """Peak RSS of ``script --child N`` for N = small and small * factor."""
    runs = {}
    for size in (small, small * factor):
        peak, report = peak_rss([script, "--child", str(size)])
        runs[size] = {"peak_rss_mib": peak / 2**20, **report}
    return {"runs": runs,
            "ratio": runs[small * factor]["peak_rss_mib"] / runs[small]["peak_rss_mib"]}


def script_main(name: str, run, child):
    """The command line of a benchmark that measures child processes: ``--quick``
    for a smoke run, ``--child N`` (internal) for one measured run; one BLAS thread
    per process, as the bars specify."""
    import argparse

    import common
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    limiter = common.limit_threads(1)  # noqa: F841  (kept alive)
    if args.child:
        child(args.child)
        return
    results = run(args.quick)
    path = common.write_results(name, results, args.quick)
    print(json.dumps({k: v for k, v in results.items() if k != "machine"}, indent=2,
                     default=common._jsonable))
    print(f"written to {path}")
