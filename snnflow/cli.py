"""The ``snnflow`` command: run pipelines, see what a store holds, plot recordings.

    snnflow run PIPELINE [--scheduler ADDRESS] [--store PATH] [--workers N] [PIPELINE OPTIONS]
    snnflow inspect STORE
    snnflow plot STORE KEY [--example N] [--output FILE.png]

Mistakes (a missing store, an unknown key, an example out of range) print one
line and exit with status 2, as argparse does for a bad option.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import runpy
import sys

from .store.keys import decode_key
from .store.zarr_reader import is_key_group, open_root

PIPELINES = "pipelines"


def main(argv=None) -> int | str:
    """Run the command line ``argv`` (``sys.argv[1:]`` when None) and return the exit
    status: 0, or for ``snnflow run`` what the pipeline passed to ``sys.exit``.
    Mistakes raise ``SystemExit(2)`` after printing the usage and one message."""
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command == "run":
        args.pipeline_args = unknown
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args.handler(args, args.subparser)


def _parser():
    parser = argparse.ArgumentParser(
        prog="snnflow", description="Run snnflow pipelines and look at the stores they write.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run", allow_abbrev=False, help="run a pipeline",
        description="Run a pipeline script as if with 'python SCRIPT'. Options that "
                    "snnflow does not know are passed on to the pipeline.")
    run.add_argument("pipeline", metavar="PIPELINE",
                     help=f"a pipeline's name (NAME runs ./{PIPELINES}/NAME.py) or the path "
                          f"of a .py file")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="address of a running Dask scheduler (default: the pipeline "
                          "starts a LocalCluster)")
    run.add_argument("--store", metavar="PATH", help="zarr store the pipeline records into")
    run.add_argument("--workers", metavar="N", type=_positive_int,
                     help="workers of the pipeline's LocalCluster")
    run.set_defaults(handler=_run, subparser=run)

    inspect = commands.add_parser(
        "inspect", help="show what a store holds",
        description="Show a store's keys (kind, population, filters, examples, arrays), "
                    "the run's metrics and provenance, and whether the run finished.")
    inspect.add_argument("store", metavar="STORE", help="path of a zarr store snnflow wrote")
    inspect.set_defaults(handler=_inspect, subparser=inspect)

    plot = commands.add_parser(
        "plot", help="plot one recorded example as a PNG",
        description="Draw a raster of a spike key or the traces of a variable key for one "
                    "recorded example, and write it as a PNG.")
    plot.add_argument("store", metavar="STORE", help="path of a finished zarr store")
    plot.add_argument("key", metavar="KEY",
                      help="the callback key; a key that is not a str is written as its "
                           "repr, e.g. 7 or \"('v', 1)\"")
    plot.add_argument("--example", type=int, default=0, metavar="N",
                      help="position among the key's recorded examples (default: 0)")
    plot.add_argument("--output", metavar="FILE.png",
                      help="where to write the figure (default: KEY-example-N.png)")
    plot.set_defaults(handler=_plot, subparser=plot)
    return parser


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive int, got {text}")
    return value


def _run(args, parser):
    script = _pipeline_script(args.pipeline, parser)
    pipeline_args = list(args.pipeline_args)
    for option in ("scheduler", "store", "workers"):
        if getattr(args, option) is not None:
            pipeline_args += [f"--{option}", str(getattr(args, option))]
    saved_argv, saved_path = sys.argv, list(sys.path)
    # As 'python SCRIPT' would: the script is argv[0] and its folder is importable
    sys.argv = [script, *pipeline_args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        # run_name="__main__" also makes the script sys.modules["__main__"] while it
        # runs, so worker processes that Dask spawns re-import the pipeline, as they
        # would under 'python SCRIPT', rather than this module
        runpy.run_path(script, run_name="__main__")
    except SystemExit as stop:
        # Pipelines end with sys.exit(main()): their status becomes ours
        return 0 if stop.code is None else stop.code
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return 0


def _pipeline_script(name, parser) -> str:
    if name.endswith(".py"):
        if not os.path.isfile(name):
            parser.error(f"no pipeline script {name!r}")
        return name
    script = os.path.join(PIPELINES, f"{name}.py")
    if not os.path.isfile(script):
        available = sorted(entry[:-3] for entry in os.listdir(PIPELINES)
                           if entry.endswith(".py")) if os.path.isdir(PIPELINES) else []
        where = (f"the pipelines here are: {', '.join(available)}" if available
                 else f"there is no ./{PIPELINES} folder with .py files here")
        parser.error(f"no pipeline {name!r} ({script} does not exist); {where}")
    return script


def _open_root(store, parser):
    """The store's root group, or a parser error for a missing or foreign store."""
    if not os.path.exists(store):
        parser.error(f"no store at {store!r}")
    try:
        root = open_root(store, "r")
    except FileNotFoundError:
        parser.error(f"{store!r} is not a zarr store")
    if "snnflow" not in root.attrs:
        parser.error(f"{store!r} is not an snnflow store (no 'snnflow' attribute)")
    return root


def _inspect(args, parser):
    root = _open_root(args.store, parser)
    print("\n".join(describe_store(root, args.store)))
    return 0


def describe_store(root, name) -> list:
    """Lines describing the snnflow store whose root group is ``root``."""
    info = root.attrs["snnflow"]
    finished = info.get("complete", False)
    lines = [f"store      {name}",
             f"written by snnflow {info.get('version', '?')}",
             "finished   " + ("yes" if finished else
                             "no (the run stopped or is still going; running it again "
                             "with the same arguments completes it)"),
             f"examples   {info.get('num_examples', '?')}",
             f"dt         {info.get('dt', '?')} ms"]
    if "shards" in info:
        lines.append(f"shards     {len(info['shards'])}")
    if finished:
        metrics = info.get("metrics") or {}
        lines.append("metrics    " + (", ".join(f"{output}: {value}"
                                              for output, value in metrics.items())
                                     or "none (a predict run)"))
    provenance = root.attrs.get("provenance")
    if provenance:
        lines += ["", "provenance"]
        lines += [f"  {field}: {value if isinstance(value, str) else json.dumps(value)}"
                  for field, value in provenance.items()]
    key_groups = sorted((name, group) for name, group in root.groups() if is_key_group(name))
    if not key_groups:
        lines += ["", "no recordings"]
    for group_name, group in key_groups:
        lines += [""] + _describe_key(decode_key(group_name), group)
    return lines


def _describe_key(key, group) -> list:
    attrs = group.attrs.asdict()
    recorded = {"spikes": "spike times", "counts": "spike counts"}.get(
        attrs["kind"], f"variable {attrs.get('var')!r}")
    if "population" in attrs:
        neurons = attrs["neurons"]
        selected = "all neurons" if neurons == "all" else f"{len(neurons)} neurons"
        what = (f"{recorded} of population {attrs['population']}, shape "
                f"{tuple(attrs['population_shape'])}, {selected}")
    else:
        what = (f"{recorded} of connection {attrs['connection']}, {len(attrs['sources'])} "
                f"sources x {len(attrs['targets'])} targets")
    parts = sorted((name, part) for name, part in group.groups()
                   if part.attrs.get("complete"))
    unfinished = sum(1 for _ in group.groups()) - len(parts)
    examples = sum(part["examples"].shape[0] for _, part in parts)
    lines = [f"key {key!r}: {what}",
             f"  examples   {examples} recorded in {len(parts)} part(s)"
             + (f", {unfinished} unfinished part(s) not counted" if unfinished else ""),
             f"  filters    example_filter={attrs.get('example_filter')}, "
             f"timestep_filter={attrs.get('timestep_filter')}"]
    if parts:
        lines.append("  arrays     " + ", ".join(_combined_arrays(parts)))
    return lines


def _combined_arrays(parts) -> list:
    """'name dtype shape' of each array with every part's rows put together."""
    described = []
    for name, first in parts[0][1].arrays():
        length = sum(part[name].shape[0] for _, part in parts)
        if name == "offsets":
            # Each part's CSR offsets carry one closing boundary; put together they
            # would share them: one per example plus one
            length -= len(parts) - 1
        described.append(f"{name} {first.dtype} {(length, *first.shape[1:])}")
    return described


def _plot(args, parser):
    # matplotlib is optional (snnflow[plot]); only this command needs it
    try:
        from . import plot
    except ImportError as error:
        parser.error(str(error))

    root = _open_root(args.store, parser)
    keys = [decode_key(name) for name, _ in root.groups() if is_key_group(name)]
    key = _resolve_key(args.key, keys, parser)
    try:
        recording = plot.load(args.store, key)      # ValueError: the run did not finish
        recording.require(["spikes", "var"], "snnflow plot")
        draw = plot.raster if recording.kind == "spikes" else plot.traces
        figure = draw(args.store, key, args.example)
    except (ValueError, IndexError, TypeError) as error:
        parser.error(str(error))
    output = args.output or f"{_file_safe(args.key)}-example-{args.example}.png"
    figure.savefig(output, dpi=120)
    print(f"wrote {output}")
    return 0


def _resolve_key(text, keys, parser):
    """The key written as ``text``: a str key equal to it, else a key whose repr it is."""
    if text in keys:
        return text
    for key in keys:
        if repr(key) == text:
            return key
    known = ", ".join(sorted(k if isinstance(k, str) else repr(k) for k in keys))
    parser.error(f"no key {text!r} in the store; its keys are: {known or 'none'}")


def _file_safe(text) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "key"


if __name__ == "__main__":
    sys.exit(main())
