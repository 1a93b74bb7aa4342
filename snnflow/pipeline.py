"""Pipeline and Sweep: the declarative layer users script against.

A :class:`Pipeline` names everything one evaluation needs (the data, a function
that builds the network from parameters, the compiler's options, metrics,
callbacks, the store and the cluster) and runs it with
``snnflow.distributed``. A :class:`Sweep` runs a pipeline at every point of a
grid of parameters, all points' shards at once on one cluster, each point
recorded into its own group of the sweep's store, and sums the results up in an
xarray Dataset. A :class:`Dataset` is a named data set that the workers generate
chunk by chunk, so that a million examples never pass through the driver.
"""
from __future__ import annotations

import inspect
import itertools
import numbers
import os
import threading
import time
from dataclasses import dataclass

import dask.array as da
import numpy as np
import xarray as xr
import zarr
from tqdm.auto import tqdm

from . import __version__
from .callbacks import BatchProgressBar
from .utils.callback_list import resolve_callbacks
from .compilers import InferenceCompiler
from .distributed.cluster import check_client, connect, logger
from .distributed.driver import log_reuse, prepare_evaluate, run_together
from .network import Network
from .utils.data import _YIN_YANG_BLOCK_SIZE, yin_yang_dataset
from .utils.fingerprint import data_fingerprint, fingerprint
from .utils.module import snake_case

#: Named data sets: {name: (generator, chunk)}. ``generator(size, seed=, start=,
#: **options)`` returns examples [start, start + size) as (x, labels); a chunk is
#: the number of examples it draws at once (reading whole chunks draws each once).
DATASETS = {"yin_yang": (yin_yang_dataset, _YIN_YANG_BLOCK_SIZE)}

#: The compiler options a pipeline (and a sweep's grid) may set
COMPILER_OPTIONS = tuple(inspect.signature(InferenceCompiler).parameters)

#: Where a sweep keeps its points' stores and its summary, inside its store
POINTS, SUMMARY = "points", "summary"


class Dataset:
    """A named data set generated on the workers, chunk by chunk, never on the driver.

    ``Dataset("yin_yang", size=1_000_000, seed=0)`` is the Yin-Yang set of
    :func:`snnflow.utils.data.yin_yang_dataset`; further keywords go to the
    generator (``r_small``, ``r_big``). Its features drive the network's one input
    population as values (the currents of an ``IntegrateFireInput``: x, y, 1 - x,
    1 - y) and its labels are scored at the one output population. The same
    arguments give the same examples on any cluster."""

    def __init__(self, name, size, seed=0, **options):
        if name not in DATASETS:
            raise KeyError(f"unknown data set {name!r}; expected one of {sorted(DATASETS)}")
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(f"Dataset size must be an int, got {size!r}")
        if size < 1:
            raise ValueError(f"Dataset size must be >= 1, got {size!r}")
        generate, self.chunk = DATASETS[name]
        # One example drawn here checks the seed and options now and gives the shapes
        self.sample = generate(1, seed=seed, **options)
        self.name, self.size, self.seed, self.options = name, int(size), seed, options

    def arrays(self):
        """(x, labels) as dask arrays whose chunks the workers generate."""
        rows = tuple(min(self.chunk, self.size - start)
                     for start in range(0, self.size, self.chunk))
        # Named by content, so that a rerun fingerprints (and resumes) the same data
        token = fingerprint(self.name, self.size, self.seed, self.options)[:16]
        return tuple(
            da.map_blocks(_generate_chunk, self.name, self.seed, self.options, part,
                          chunks=(rows,) + tuple((n,) for n in sample.shape[1:]),
                          dtype=sample.dtype, meta=sample[:0],
                          name=f"snnflow-{self.name}-{('x', 'labels')[part]}-{token}")
            for part, sample in enumerate(self.sample))

    def __repr__(self):
        options = "".join(f", {key}={value!r}" for key, value in self.options.items())
        return f"Dataset({self.name!r}, size={self.size}, seed={self.seed}{options})"


def _generate_chunk(name, seed, options, part, block_info=None):
    """One chunk of x (``part`` 0) or of the labels (1), made on a worker."""
    start, stop = block_info[None]["array-location"][0]
    generate, _ = DATASETS[name]
    return generate(stop - start, seed=seed, start=start, **options)[part]


@dataclass
class PipelineResult:
    """What ``Pipeline.run`` returns."""
    metrics: dict   # {output population: Metric}, as snnflow.distributed.evaluate
    cb_data: dict   # {callback key: data}, read lazily from the store when there is one
    store: str      # absolute path of the store, or None
    #: seconds: "build", "simulate", "write" summed over the shards (worker
    #: time), "merge" on the driver, "wall" for the whole run() call
    timings: dict


class Pipeline:
    """One distributed evaluation, described once and run with ``run()``.

    ``network`` is a function of keyword parameters returning ``(network, inputs,
    outputs)``: inputs and outputs are a population or a list of populations.
    ``data`` is ``(x, y)``, with x (y) an array (NumPy, zarr or dask) or a list of
    arrays in the order of inputs (outputs), or a :class:`Dataset`. ``params`` are
    the keyword arguments of ``network``, ``compiler`` the keyword arguments of
    ``InferenceCompiler``. ``callbacks`` is a list, or a function of the built
    network returning one (recorders need its populations). ``metrics``,
    ``callbacks``, ``store``, ``shard_size`` and ``overwrite`` mean what they mean
    for ``snnflow.distributed.evaluate``;
    ``cluster`` is its ``client``: a ``distributed.Client``, a scheduler address,
    or None for an embedded LocalCluster per run, which ``keep_cluster=True``
    keeps up after the run for its dashboard until Enter is pressed."""

    def __init__(self, network, data, *, params=None, compiler=None,
                 metrics="sparse_categorical_accuracy", callbacks=("batch_progress_bar",),
                 store=None, cluster=None, shard_size=None, overwrite=False,
                 keep_cluster=False):
        if not callable(network):
            raise TypeError(f"network must be a function of parameters returning (network, "
                            f"inputs, outputs), got {network!r}")
        self.network = network
        self.params = dict(params or {})
        for key in self.params:
            _check_network_parameter(network, key, "params")
        self.compiler = dict(compiler or {})
        for key in self.compiler:
            if key not in COMPILER_OPTIONS:
                raise KeyError(f"compiler has no option {key!r}; its options are "
                               f"{list(COMPILER_OPTIONS)}")
        InferenceCompiler(**self.compiler)
        _check_data(data, "data")
        self.data = data
        self.metrics = metrics
        self.callbacks = callbacks
        if store is not None and not isinstance(store, (str, os.PathLike)):
            raise TypeError(f"store must be a path or None, got {store!r}")
        self.store = None if store is None else os.path.abspath(store)
        check_client(cluster, keep_cluster, "cluster")
        self.cluster = cluster
        self.keep_cluster = keep_cluster
        self.shard_size = shard_size
        self.overwrite = overwrite

    def run(self) -> PipelineResult:
        """Evaluate, write the provenance record into the store, return the result."""
        began = time.perf_counter()
        point = self._point({}, self.store)
        with connect(self.cluster, keep_cluster=self.keep_cluster) as client:
            for _ in run_together(client, [point.run]):
                pass
            point.write_provenance(client)
        log_reuse(point.run)
        timings = dict(point.run.timings, wall=time.perf_counter() - began)
        return PipelineResult(point.run.metrics, point.run.cb_data, self.store, timings)

    def _point(self, settings, store, batch_bar=None) -> "_Point":
        """The checked, unsubmitted evaluation at ``settings`` ({grid key: value}),
        with ``batch_bar`` in place of any BatchProgressBar."""
        params = dict(self.params)
        options = dict(self.compiler)
        data = self.data
        for key, value in settings.items():
            if key == "data":
                data = value
            elif key in COMPILER_OPTIONS:
                options[key] = value
            else:
                params[key] = value
        built = self.network(**params)
        if not (isinstance(built, tuple) and len(built) == 3 and isinstance(built[0], Network)):
            raise TypeError(f"the network function must return (network, inputs, outputs), "
                            f"got {built!r:.100}")
        network, inputs, outputs = built
        compiler = InferenceCompiler(**options)
        callbacks = self.callbacks(network) if callable(self.callbacks) else self.callbacks
        if batch_bar is not None:
            callbacks = [c for c in resolve_callbacks(callbacks)
                         if not isinstance(c, BatchProgressBar)] + [batch_bar]
        x, y = data.arrays() if isinstance(data, Dataset) else data
        x, y = _keyed(x, inputs, "input"), _keyed(y, outputs, "output")
        run = prepare_evaluate(network, compiler, x, y, metrics=self.metrics,
                               callbacks=callbacks, store=store, shard_size=self.shard_size,
                               overwrite=self.overwrite)
        record = {"snnflow": __version__,
                  "parameters": {key: _json(value) for key, value in
                                 {**params, **compiler.options()}.items()},
                  "data": repr(data) if isinstance(data, Dataset) else _describe(x, y),
                  "data_fingerprint": fingerprint([data_fingerprint(a) for a in
                                                   [*x.values(), *y.values()]]),
                  "engine": compiler.backend,
                  "metrics": {pop.name: snake_case(type(metric).__name__)
                              for pop, metric in run.metric_templates.items()}}
        return _Point(run, record)


@dataclass
class _Point:
    run: object         # snnflow.distributed.driver.Run
    provenance: dict    # all but the cluster, known when the run is done

    def write_provenance(self, client):
        """Put the provenance record into the finished store's root attributes."""
        if self.run.store is None:
            return
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
        record = dict(self.provenance, cluster={
            "workers": len(workers), "threads": sum(w["nthreads"] for w in workers)})
        root = zarr.open_group(self.run.store, mode="r+")
        root.attrs["provenance"] = record
        zarr.consolidate_metadata(self.run.store)


class Sweep:
    """A pipeline run at every point of ``grid``, {key: [values]}: a key is a
    parameter of the network function, an option of the compiler, or "data"
    (then the values are {label: data}, data as for Pipeline).

    ``run()`` submits every point's shards at once to one cluster, records each
    point into its own group ``points/<key=value,...>`` of the pipeline's store,
    writes the summary (an xarray Dataset: one dimension per key, one variable
    per metric) to the group ``summary`` and returns it. A point whose group holds
    its finished run is not run again, and an unfinished one resumes with the
    shards it lacks, so rerunning a sweep that stopped finishes it."""

    def __init__(self, pipeline, grid):
        if not isinstance(pipeline, Pipeline):
            raise TypeError(f"pipeline must be a Pipeline, got {pipeline!r}")
        if pipeline.store is None:
            raise ValueError("a Sweep records every point into its store: give the "
                             "Pipeline store=PATH")
        if not isinstance(grid, dict) or not grid:
            raise TypeError(f"grid must be a non-empty dict {{key: [values]}}, got {grid!r}")
        self.pipeline = pipeline
        #: {key: [values]}: the coordinates of the summary (data labels for "data")
        self.coords = {key: _check_grid_values(pipeline, key, values)
                       for key, values in grid.items()}
        self.data = grid.get("data", {})
        self.store = pipeline.store

    def run(self) -> xr.Dataset:
        with tqdm(total=len(self._points()), desc="points", unit="point") as done, \
                _SharedBatchBar() as batches:
            # Every point is built and checked before the cluster is asked for
            # anything; one bar of batches over every point stands in for the
            # pipeline's bars
            points = [(coords, self.pipeline._point(self._settings(coords),
                                                     self._point_store(coords), batches))
                      for coords in self._points()]
            self._open_store()
            by_run = {point.run: point for _, point in points}
            with connect(self.pipeline.cluster, keep_cluster=self.pipeline.keep_cluster) \
                    as client:
                for run in run_together(client, list(by_run)):
                    by_run[run].write_provenance(client)
                    done.update(1)
        self._log_reuse(list(by_run))
        summary = self._summary({tuple(coords.values()): point.run.metrics
                                 for coords, point in points})
        # Consolidated at the sweep's root, where xarray looks; points are opened
        # by their own paths, so this snapshot of their metadata misleads no one
        summary.to_zarr(self.store, group=SUMMARY, mode="w")
        return summary

    def _log_reuse(self, runs):
        """Tell how much of a rerun came from the sweep's store, if anything did."""
        whole = sum(1 for run in runs if run.reused == len(run.shards))
        partly = [run for run in runs if 0 < run.reused < len(run.shards)]
        if not whole and not partly:
            return
        message = (f"{self.store}: {whole} of {len(runs)} points came from the store, "
                   f"finished by an earlier run")
        if partly:
            message += (f"; {len(partly)} more resumed with "
                        f"{sum(run.reused for run in partly)} of their "
                        f"{sum(len(run.shards) for run in partly)} shards from the store")
        logger.info(message)

    def _points(self) -> list:
        """{key: coordinate} of every point, the last key varying fastest."""
        return [dict(zip(self.coords, values))
                for values in itertools.product(*self.coords.values())]

    def _settings(self, coords) -> dict:
        """What a point sets: its coordinates, with the data for a data label."""
        return {key: self.data[value] if key == "data" else value
                for key, value in coords.items()}

    def _point_store(self, coords) -> str:
        return os.path.join(self.store, POINTS, point_name(coords))

    def _open_store(self):
        """Create the sweep's root and points groups; refuse a store holding
        anything but a sweep."""
        if os.path.exists(self.store) and os.listdir(self.store):
            try:
                is_sweep = "sweep" in zarr.open_group(self.store, mode="r").attrs
            except (FileNotFoundError, zarr.errors.NodeNotFoundError):
                is_sweep = False
            if not is_sweep:
                raise FileExistsError(f"the store {self.store!r} holds something other than "
                                      f"an snnflow sweep; use another store")
        root = zarr.open_group(self.store, mode="a")
        root.attrs["sweep"] = {"snnflow": __version__,
                               "grid": {key: [_json(v) for v in values]
                                        for key, values in self.coords.items()}}
        root.require_group(POINTS)

    def _summary(self, results) -> xr.Dataset:
        """results: {coordinates: {output: Metric}}."""
        shape = tuple(len(values) for values in self.coords.values())
        variables = {}
        for coords, metrics in results.items():
            index = tuple(values.index(value)
                          for values, value in zip(self.coords.values(), coords))
            for output, metric in metrics.items():
                name = snake_case(type(metric).__name__)
                if len(metrics) > 1:
                    name = f"{output.name}_{name}"
                grid = variables.setdefault(name, np.full(shape, np.nan))
                grid[index] = np.nan if metric.result is None else metric.result
        dims = list(self.coords)
        # Labels as variable-length strings: zarr has no stable fixed-length ones
        coords = {key: np.array(values, dtype=object if isinstance(values[0], str) else None)
                  for key, values in self.coords.items()}
        return xr.Dataset({name: (dims, grid) for name, grid in variables.items()},
                          coords=coords)


def point_name(coords) -> str:
    """The name of the group of a sweep's point at ``coords``, {grid key: value}."""
    return _safe_name(",".join(f"{key}={value}" for key, value in coords.items()))


def read_summary(store) -> xr.Dataset:
    """The summary a finished Sweep wrote into ``store``, loaded into memory.
    FileNotFoundError when the store has none (the sweep has not finished)."""
    if not os.path.isdir(os.path.join(store, SUMMARY)):
        raise FileNotFoundError(f"the sweep store {os.fspath(store)!r} has no summary: the "
                                f"sweep has not finished (running it again completes it)")
    with xr.open_zarr(store, group=SUMMARY) as summary:
        return summary.load()


class _SharedBatchBar(BatchProgressBar):
    """The batches of all of a sweep's points on one bar: every point's run adds
    its batches to the total when it starts and advances the bar as they finish.
    Copies (the checks deep-copy callbacks) are this same bar."""

    def __init__(self):
        self.lock = threading.Lock()
        self.bar = tqdm(total=0, desc="batches", unit="batch")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()

    def __deepcopy__(self, memo):
        return self

    def set_params(self, num_batches, **kwargs):
        self.num_batches = num_batches

    def on_test_begin(self):
        with self.lock:
            self.bar.total += self.num_batches
            self.bar.refresh()

    def on_batch_end(self, batch, metrics):
        with self.lock:
            self.bar.update(1)

    def on_test_end(self, metrics):
        pass


def _check_network_parameter(network, key, what):
    signature = inspect.signature(network)
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    if key not in signature.parameters and not takes_any:
        raise KeyError(f"{what} key {key!r} is not a parameter of the network function "
                       f"{getattr(network, '__name__', network)!r}; its parameters are "
                       f"{list(signature.parameters)}")


def _check_grid_values(pipeline, key, values) -> list:
    """The coordinates of grid key ``key``, checked: distinct values of one kind."""
    if key == "data":
        if not isinstance(values, dict) or not values:
            raise TypeError(f"grid['data'] must be a non-empty dict {{label: data}}, "
                            f"got {values!r:.100}")
        for label, data in values.items():
            if not isinstance(label, str):
                raise TypeError(f"grid['data'] labels must be str, got {label!r}")
            _check_data(data, f"grid['data'][{label!r}]")
        return list(values)
    if key in COMPILER_OPTIONS:
        if key in inspect.signature(pipeline.network).parameters:
            raise ValueError(f"grid key {key!r} names both a compiler option and a "
                             f"parameter of the network function; rename the parameter")
    else:
        try:
            _check_network_parameter(pipeline.network, key, "grid")
        except KeyError:
            raise KeyError(f"grid key {key!r} is neither 'data', a compiler option "
                           f"{list(COMPILER_OPTIONS)}, nor a parameter of the network "
                           f"function {list(inspect.signature(pipeline.network).parameters)}"
                           ) from None
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple, np.ndarray)):
        raise TypeError(f"grid[{key!r}] must be a list of values, got {values!r}")
    values = [v.item() if isinstance(v, np.generic) else v for v in values]
    if not values:
        raise ValueError(f"grid[{key!r}] is empty; give it at least one value")
    kinds = {_kind(v) for v in values}
    if None in kinds or len(kinds) > 1:
        raise TypeError(f"grid[{key!r}] must hold numbers, strings or bools, all of one "
                        f"kind, got {values!r}")
    for index, value in enumerate(values):
        if value in values[:index]:
            raise ValueError(f"grid[{key!r}] holds {value!r} twice; values must be distinct")
    if key in COMPILER_OPTIONS:
        for value in values:    # the compiler names the option and the value
            InferenceCompiler(**{**pipeline.compiler, key: value})
    return values


def _kind(value):
    if isinstance(value, bool):
        return bool
    if isinstance(value, numbers.Real):
        return numbers.Real
    if isinstance(value, str):
        return str
    return None


def _check_data(data, what):
    if not (isinstance(data, Dataset) or (isinstance(data, tuple) and len(data) == 2)):
        raise TypeError(f"{what} must be a tuple (x, y) or a Dataset, got {data!r:.100}")


def _keyed(data, populations, what) -> dict:
    """{population: data}: one population takes ``data`` whole, a list of them a
    list of as many arrays, in order."""
    if not isinstance(populations, (list, tuple)):
        return {populations: data}
    if not isinstance(data, (list, tuple)) or len(data) != len(populations):
        raise ValueError(f"the network function returned {len(populations)} {what} "
                         f"populations, so the data must give a list of {len(populations)} "
                         f"{what} arrays, got {type(data).__name__}")
    return dict(zip(populations, data))


def _describe(x, y) -> str:
    """What x and y hold, for people: "x[Pop0]: ndarray (100, 4); ..."."""
    def shape(data):
        return tuple(data.shape) if hasattr(data, "shape") else (len(data),)
    return "; ".join(f"{what}[{pop.name}]: {type(data).__name__} {shape(data)}"
                     for what, arrays in (("x", x), ("y", y)) for pop, data in arrays.items())


def _json(value):
    """``value`` as JSON can hold it: numbers, strings, bools and None as they
    are, anything else as its repr."""
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, (str, numbers.Real, type(None))) else repr(value)


def _safe_name(text) -> str:
    """``text`` as a file and zarr node name: ASCII letters, digits and ``._=,+-``
    kept, any other byte written %XX, so distinct texts stay distinct."""
    return "".join(chr(b) if chr(b).isalnum() and b < 128 or chr(b) in "._=,+-" else f"%{b:02X}"
                   for b in text.encode())
