"""The ``snnflow`` command: run pipelines, see what a store holds, plot recordings.

    snnflow pipelines
    snnflow run PIPELINE [PIPELINE OPTIONS]
    snnflow inspect STORE [--verify] [-o KEY=VALUE ...]
    snnflow verify STORE [-o KEY=VALUE ...]
    snnflow export nwb STORE OUT.nwb [-o KEY=VALUE ...]
    snnflow plot STORE KEY [--example N] [--output FILE.png]
    snnflow plot SWEEP_STORE [METRIC] [--output FILE.png]

PIPELINE is the name of a pipeline that comes with snnflow (``snnflow pipelines``
lists them) or the path of a .py file; everything after it goes to the
pipeline, so ``snnflow run digits --help`` shows the pipeline's own options.
STORE is a run's store, a sweep's store, or one point of a sweep
(``SWEEP_STORE/points/NAME``), a path or an object store's URL
(``s3://bucket/run.zarr``); ``-o/--storage-option KEY=VALUE`` (repeated) gives the
URL's fsspec storage options, e.g. ``-o endpoint_url=http://host:9000``, and
fsspec's environment variables (``FSSPEC_S3_ENDPOINT_URL``, ``FSSPEC_S3_KEY``,
``FSSPEC_S3_SECRET``, or all of them as JSON in ``FSSPEC_S3``) work as well.

Mistakes (a missing store, an unknown key, an example out of range) print one
line and exit with status 2, as argparse does for a bad option.
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import itertools
import json
import os
import re
import runpy
import sys
from pathlib import Path

from .store import verify
from .store.keys import decode_key, is_key_group
from .store.zarr_reader import describe_store as describe_url
from .store.zarr_reader import is_url, open_root, store_object

#: The package that holds the ready pipelines: ``pipelines/`` of the source tree,
#: installed as ``snnflow/pipelines``
PIPELINES_PACKAGE = "snnflow.pipelines"

#: A population name snnflow made up for a population created without ``name=``
AUTOMATIC_NAME = re.compile(r"Pop\d+")


def main(argv=None) -> int | str:
    """Run the command line ``argv`` (``sys.argv[1:]`` when None) and return the exit
    status: 0, or for ``snnflow run`` what the pipeline passed to ``sys.exit``.
    Mistakes raise ``SystemExit(2)`` after printing the usage and one message."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args, args.subparser)
    except BrokenPipeError:
        # The reader went away (`snnflow inspect STORE | head`): stop quietly, and
        # keep Python from failing again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _parser():
    parser = argparse.ArgumentParser(
        prog="snnflow", description="Run snnflow pipelines and look at the stores they write.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    pipelines = commands.add_parser(
        "pipelines", help="list the pipelines that come with snnflow",
        description="List the pipelines that come with snnflow, one line each.")
    pipelines.set_defaults(handler=_pipelines, subparser=pipelines)

    run = commands.add_parser(
        "run", help="run a pipeline",
        description="Run a pipeline as if with 'python SCRIPT ARGS'. Everything after "
                    "PIPELINE goes to the pipeline: 'snnflow run NAME --help' shows its "
                    "options.")
    run.add_argument("pipeline", metavar="PIPELINE",
                     help="the name of a pipeline that comes with snnflow ('snnflow "
                          "pipelines' lists them) or the path of a .py file")
    run.add_argument("pipeline_args", nargs=argparse.REMAINDER, metavar="ARGS",
                     help="the pipeline's own options")
    run.set_defaults(handler=_run, subparser=run)

    inspect = commands.add_parser(
        "inspect", help="show what a store holds",
        description="Show a store's keys (kind, population, filters, examples, arrays), "
                    "the run's metrics and provenance, and whether the run finished; for a "
                    "sweep's store, its grid, its summary and each point.")
    inspect.add_argument("store", metavar="STORE",
                         help="path or URL of a zarr store snnflow wrote")
    inspect.add_argument("--verify", action="store_true",
                         help="also read every chunk and report damage (as 'snnflow verify')")
    _storage_option_argument(inspect)
    inspect.set_defaults(handler=_inspect, subparser=inspect)

    verify = commands.add_parser(
        "verify", help="read every chunk of a store and report damage",
        description="Read every chunk of a run's store, check its checksum, and report "
                    "missing chunks, failed checksums, symbolic links and missing parts; "
                    "exit status 1 if anything is damaged.")
    verify.add_argument("store", metavar="STORE", help="path or URL of a zarr store snnflow wrote")
    _storage_option_argument(verify)
    verify.set_defaults(handler=_verify, subparser=verify)

    export = commands.add_parser(
        "export", help="export a run's store to another format",
        description="Export a finished run's store: 'nwb' writes an NWB file (pynwb; "
                    "pip install 'snnflow[nwb]') with one unit per recorded neuron, one "
                    "trial per example, and recorded variables as TimeSeries.")
    export.add_argument("format", choices=["nwb"], help="the format to write")
    export.add_argument("store", metavar="STORE", help="path or URL of a finished run's store")
    export.add_argument("output", metavar="OUT", help="the file to write (e.g. run.nwb)")
    export.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    _storage_option_argument(export)
    export.set_defaults(handler=_export, subparser=export)

    plot = commands.add_parser(
        "plot", help="plot one recorded example, or a sweep, as a PNG",
        description="Draw a raster of a spike key or the traces of a variable key for one "
                    "recorded example, or a sweep's metric over its grid, and write it as "
                    "a PNG.")
    plot.add_argument("store", metavar="STORE", help="path of a finished zarr store")
    plot.add_argument("key", metavar="KEY", nargs="?",
                      help="the callback key; a key that is not a str is written as its "
                           "repr, e.g. 7 or \"('v', 1)\". For a sweep: the metric (default: "
                           "its only one)")
    plot.add_argument("--example", type=int, default=0, metavar="N",
                      help="position among the key's recorded examples, negative from the "
                           "end (default: 0)")
    plot.add_argument("--output", metavar="FILE.png",
                      help="where to write the figure (default: KEY-example-N.png, for a "
                           "sweep METRIC.png)")
    plot.set_defaults(handler=_plot, subparser=plot)
    return parser


def ready_pipelines() -> dict:
    """{name: path} of the pipelines that come with snnflow; modules whose names
    start with "_" are their helpers, not pipelines."""
    spec = importlib.util.find_spec(PIPELINES_PACKAGE)
    folder = Path(spec.submodule_search_locations[0])
    return {path.stem: path for path in sorted(folder.glob("*.py"))
            if not path.name.startswith("_")}


def _summary_line(path) -> str:
    """The first sentence of a script's docstring, read without running it."""
    docstring = ast.get_docstring(ast.parse(Path(path).read_text())) or ""
    paragraph = " ".join(docstring.strip().split("\n\n")[0].split())
    return paragraph.split(". ")[0].rstrip(".") + "."


def _pipelines(args, parser):
    pipelines = ready_pipelines()
    width = max(map(len, pipelines))
    for name, path in pipelines.items():
        print(f"{name:<{width}}  {_summary_line(path)}")
    print(f"\n'snnflow run NAME --help' shows a pipeline's options; the scripts are in "
          f"{next(iter(pipelines.values())).parent}")
    return 0


def _run(args, parser):
    script = _pipeline_script(args.pipeline, parser)
    saved_argv, saved_path = sys.argv, list(sys.path)
    # As 'python SCRIPT' would: the script is argv[0] and its folder is importable
    sys.argv = [script, *args.pipeline_args]
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
    pipelines = ready_pipelines()
    if name not in pipelines:
        parser.error(f"no pipeline {name!r}; the pipelines are: {', '.join(pipelines)} "
                     f"(or give the path of a .py file)")
    return str(pipelines[name])


def _storage_option_argument(parser):
    parser.add_argument("-o", "--storage-option", action="append", default=[],
                        metavar="KEY=VALUE", dest="storage_options",
                        help="an fsspec storage option of a URL store, e.g. "
                             "endpoint_url=http://127.0.0.1:9000 (VALUE is read as JSON "
                             "where it parses: anon=true, "
                             "client_kwargs='{\"region_name\": \"eu-west-1\"}'); repeat "
                             "for more")


def _storage_options(args, parser):
    """{key: value} of the -o options, or None when there are none."""
    options = {}
    for item in getattr(args, "storage_options", []):
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"a storage option is KEY=VALUE, got {item!r}")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    if options and not is_url(args.store):
        parser.error(f"storage options are for a store given as a URL, not {args.store!r}")
    return options or None


def _store(args, parser):
    """The zarr store of ``args.store`` (with its storage options), or a parser error."""
    try:
        return store_object(args.store, _storage_options(args, parser))
    except (ImportError, TypeError, ValueError) as error:
        parser.error(str(error))


def _open_root(store, parser, args=None):
    """The store's root group, or a parser error for a missing or foreign store."""
    if is_url(store):
        store = _store(args, parser)
    elif not os.path.exists(store):
        parser.error(f"no store at {store!r}")
    try:
        root = open_root(store, "r")
    except FileNotFoundError:
        parser.error(f"{describe_url(store)!r} is not a zarr store")
    except (OSError, ValueError) as error:
        parser.error(f"cannot read the store {describe_url(store)!r}: {error}")
    if "snnflow" not in root.attrs and "sweep" not in root.attrs:
        parser.error(f"{describe_url(store)!r} is not an snnflow store (no 'snnflow' or "
                     f"'sweep' attribute)")
    return root


def _inspect(args, parser):
    root = _open_root(args.store, parser, args)
    describe = describe_sweep if "sweep" in root.attrs else describe_store
    print("\n".join(describe(root, args.store)))
    if args.verify:
        print()
        return _report_verification(args.store, root.store)
    return 0


def _verify(args, parser):
    root = _open_root(args.store, parser, args)
    return _report_verification(args.store, root.store)


def _export(args, parser):
    from .store.nwb import export_nwb
    root = _open_root(args.store, parser, args)
    if "snnflow" not in root.attrs:
        parser.error(f"{args.store!r} is a sweep's store; export one of its points")
    if os.path.exists(args.output) and not args.overwrite:
        parser.error(f"{args.output!r} exists; pass --overwrite to replace it")
    try:
        summary = export_nwb(root.store, args.output, name=args.store)
    except ImportError as error:
        parser.error(str(error))
    except ValueError as error:     # an unfinished run
        parser.error(str(error))
    print(summary)
    return 0


def _report_verification(name, store=None) -> int:
    """Print what verify found; 1 if the store is damaged."""
    problems, notes = verify(name if store is None else store)
    store = name
    for note in notes:
        print(f"note: {note}")
    if problems:
        print(f"DAMAGED: {len(problems)} problem(s) in {store}")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print(f"verified: every chunk of {store} is present and intact")
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
    provenance = root.attrs.get("provenance")
    if finished:
        metrics = info.get("metrics") or {}
        # The store names outputs only; a pipeline's provenance also names their metrics
        names = {**info.get("metric_names", {}), **(provenance or {}).get("metrics", {})}
        lines.append("metrics    " + (", ".join(
            f"{output} {names[output]}: {value}" if output in names else f"{output}: {value}"
            for output, value in metrics.items()) or "none (a predict run)"))
    if provenance:
        lines += ["", "provenance"]
        lines += [f"  {field}: {value if isinstance(value, str) else json.dumps(value)}"
                  for field, value in provenance.items()]
    layout = info.get("layout", 1)
    key_groups = sorted((name, group) for name, group in root.groups()
                        if is_key_group(name, layout))
    if not key_groups:
        lines += ["", "no recordings"]
    for group_name, group in key_groups:
        describe = _describe_key if layout >= 3 else _describe_key_parts
        lines += [""] + describe(decode_key(group_name, layout), group)
    return lines


def _describe_key(key, group) -> list:
    """A key of a layout-3 store: one array per key."""
    attrs = group.attrs.asdict()
    parts = attrs.get("parts", [])
    lines = [f"key {key!r}: {_what(attrs)}",
             f"  examples   {group['example'].shape[0] if 'example' in group else 0} recorded"
             + (f" in {len(parts)} part(s)" if parts else ""),
             f"  filters    example_filter={attrs.get('example_filter')}, "
             f"timestep_filter={attrs.get('timestep_filter')}"]
    arrays = sorted(f"{name} {array.dtype} {array.shape}" for name, array in group.arrays())
    return lines + (["  arrays     " + ", ".join(arrays)] if arrays else [])


def _what(attrs) -> str:
    recorded = {"spikes": "spike times", "counts": "spike counts"}.get(
        attrs["kind"], f"variable {attrs.get('var')!r}")
    if "population" in attrs:
        neurons = attrs["neurons"]
        selected = "all neurons" if neurons == "all" else f"{len(neurons)} neurons"
        return (f"{recorded} of population {_population_name(attrs['population'])}, shape "
                f"{tuple(attrs['population_shape'])}, {selected}")
    return (f"{recorded} of connection {attrs['connection']}, {len(attrs['sources'])} "
            f"sources x {len(attrs['targets'])} targets")


def _describe_key_parts(key, group) -> list:
    """A key of a store of layout 1 or 2: one part per shard."""
    attrs = group.attrs.asdict()
    what = _what(attrs)
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


def _population_name(name) -> str:
    if AUTOMATIC_NAME.fullmatch(name):
        return f"{name} (a name snnflow gave it: create it with name=... to see yours)"
    return name


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


def describe_sweep(root, name) -> list:
    """Lines describing the sweep store whose root group is ``root``: its grid,
    its summary (once it finished) and each point, in grid order."""
    from .pipeline import POINTS, SUMMARY, point_name, read_summary

    info = root.attrs["sweep"]
    grid = info.get("grid", {})
    stored = dict(root[POINTS].groups()) if POINTS in root else {}
    names = [point_name(dict(zip(grid, values))) for values in itertools.product(*grid.values())]
    # Points of an earlier grid stay in the store beside the current grid's
    names += sorted(set(stored) - set(names))
    runs = {point: stored[point].attrs.get("snnflow", {}) for point in names if point in stored}
    finished = sum(1 for run in runs.values() if run.get("complete"))
    lines = [f"sweep      {name}",
             f"written by snnflow {info.get('snnflow', '?')}",
             "grid       " + "; ".join(f"{key}: {', '.join(map(str, values))}"
                                      for key, values in grid.items()),
             f"points     {len(names)}, {finished} finished"
             + ("" if finished == len(names) else
                " (running the sweep again completes the others)")]
    summary = read_summary(name) if SUMMARY in root else None
    if summary is None:
        lines += ["", "no summary yet: the sweep has not finished"]
    for metric in summary.data_vars if summary is not None else []:
        table = summary[metric]
        text = (table.to_pandas().to_string(float_format="{:.4f}".format)
                if table.ndim <= 2 else table.to_dataframe().to_string())
        lines += ["", f"summary: {metric}" + (f" ({' x '.join(table.dims)})"
                                              if table.ndim > 1 else "")]
        lines += [f"  {line}" for line in text.splitlines()]
    lines += ["", f"points ('snnflow inspect {os.path.join(name, POINTS, 'NAME')}' "
                  f"describes one)"]
    # A point's metrics by name from the summary; the points' own stores name
    # them by output population only
    results = {} if summary is None else {
        point_name(dict(zip(grid, values))): ", ".join(
            f"{metric} {summary[metric].sel(dict(zip(grid, values))).item():.4f}"
            for metric in summary.data_vars)
        for values in itertools.product(*grid.values())}
    width = max(map(len, names), default=0)
    for point in names:
        run = runs.get(point, {})
        if not run:
            state = "not started"
        elif not run.get("complete"):
            state = "not finished"
        else:
            state = f"{run.get('num_examples', '?')} examples, " + results.get(point, ", ".join(
                f"{output}: {value}" for output, value in (run.get("metrics") or {}).items()))
        lines.append(f"  {point:<{width}}  {state}")
    return lines


def _plot(args, parser):
    # matplotlib is optional (snnflow[plot]); only this command needs it
    try:
        from . import plot
    except ImportError as error:
        parser.error(str(error))

    root = _open_root(args.store, parser)
    if "sweep" in root.attrs:
        return _plot_sweep(args, parser, plot)
    layout = root.attrs["snnflow"].get("layout", 1) if "snnflow" in root.attrs else 2
    keys = [decode_key(name, layout) for name, _ in root.groups() if is_key_group(name, layout)]
    if args.key is None:
        parser.error(f"KEY is required for a run's store; its keys are: {_key_list(keys)}")
    key = _resolve_key(args.key, keys, parser)
    try:
        recording = plot.load(args.store, key)      # ValueError: the run did not finish
        recording.require(["spikes", "var"], "snnflow plot")
        position = recording.position(args.example)
        draw = plot.raster if recording.kind == "spikes" else plot.traces
        figure = draw(args.store, key, position)
    except (ValueError, IndexError, TypeError) as error:
        parser.error(str(error))
    # Named by the position drawn, so that --example -1 does not write "example--1"
    output = args.output or f"{_file_safe(args.key)}-example-{position}.png"
    figure.savefig(output, dpi=120)
    print(f"wrote {output}")
    return 0


def _plot_sweep(args, parser, plot):
    from .pipeline import read_summary

    try:
        summary = read_summary(args.store)
    except FileNotFoundError as error:
        parser.error(str(error))
    metrics = list(summary.data_vars)
    metric = args.key
    if metric is None:
        if len(metrics) != 1:
            parser.error(f"the sweep has several metrics; name one: {', '.join(metrics)}")
        metric = metrics[0]
    try:
        figure = plot.sweep(summary, metric)
    except (KeyError, ValueError) as error:
        parser.error(str(error.args[0]))
    output = args.output or f"{_file_safe(metric)}.png"
    figure.savefig(output, dpi=120)
    print(f"wrote {output}")
    return 0


def _key_list(keys) -> str:
    return ", ".join(sorted(k if isinstance(k, str) else repr(k) for k in keys)) or "none"


def _resolve_key(text, keys, parser):
    """The key written as ``text``: a str key equal to it, else a key whose repr it is."""
    if text in keys:
        return text
    for key in keys:
        if repr(key) == text:
            return key
    parser.error(f"no key {text!r} in the store; its keys are: {_key_list(keys)}")


def _file_safe(text) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "key"


if __name__ == "__main__":
    sys.exit(main())
