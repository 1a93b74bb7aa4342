"""Plots of recordings, sweeps and training histories (needs matplotlib: ``snnflow[plot]``).

Every function returns a matplotlib ``Figure`` built without pyplot,
so plotting works headless and from several threads at once; save it with
``figure.savefig("raster.png")`` or show it in a notebook.

``source`` is where a recording comes from:

- ``cb_data``, the dictionary ``evaluate`` returns (in memory or read from a store),
  or the dictionary ``snnflow.store.open(path)`` returns;
- the path of a finished store. The store also says what the dictionaries cannot:
  each key's ``dt``, recorded timesteps and neurons, population and example
  indices, so plots from a path have their time axis in ms and their neurons
  and examples named by their real indices.

``example`` is a position in the recorded examples, as in ``cb_data[key][example]``
(negative positions count from the end); with an ``example_filter`` that is not
the example's index in the data set, which plots from a store show in the title.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

try:
    from matplotlib.figure import Figure
except ImportError as error:
    raise ImportError("snnflow.plot needs matplotlib: pip install 'snnflow[plot]'") from error

from .store import open as open_store
from .store.keys import encode_key
from .store.sequence import RecordedSequence
from .store.zarr_reader import ZarrReader, open_root

KIND_NAMES = {"spikes": "spike times and ids (a SpikeRecorder)",
              "counts": "spike counts (a SpikeRecorder with record_counts=True)",
              "var": "a variable (a VarRecorder)",
              "conn_var": "a connection variable (a ConnVarRecorder)"}


@dataclass
class RecordedKey:
    """One key's data and what is known about it."""
    key: object
    data: object
    kind: str                       # a key of KIND_NAMES
    attrs: dict                     # the key group's attributes; {} in memory
    examples: np.ndarray | None     # global example indices; None in memory

    def __len__(self):
        return len(self.data[0] if self.kind == "spikes" else self.data)

    def position(self, example: int) -> int:
        """``example`` as a non-negative position, or IndexError."""
        count = len(self)
        if isinstance(example, bool) or not isinstance(example, (int, np.integer)):
            raise TypeError(f"example must be an int, got {example!r}")
        if not -count <= example < count:
            raise IndexError(f"example {example} is out of range: key {self.key!r} holds "
                             f"{count} recorded examples{self._global_range()}")
        return int(example) % count

    def _global_range(self) -> str:
        if self.examples is None or len(self.examples) == 0:
            return ""
        return (f" (positions 0 to {len(self.examples) - 1}, data-set examples "
                f"{_abbreviate(self.examples)})")

    def example_label(self, position: int) -> str:
        if self.examples is None:
            return f"recorded example {position}"
        return f"example {self.examples[position]}"

    def require(self, kinds, function):
        if self.kind not in kinds:
            advice = {"counts": "; stack them with np.stack(cb_data[key]) to plot counts",
                      "conn_var": "; index cb_data[key][example][:, source, target] for "
                                  "one synapse's trace"}.get(self.kind, "")
            wanted = " or ".join(KIND_NAMES[k] for k in kinds)
            raise TypeError(f"{function} needs {wanted}, but key {self.key!r} holds "
                            f"{KIND_NAMES[self.kind]}{advice}")


def load(source, key) -> RecordedKey:
    """The recording of ``key`` in ``source`` (cb_data, or the path of a finished
    store). KeyError if there is no such key; TypeError if it holds data that no
    recorder wrote."""
    if isinstance(source, (str, os.PathLike)):
        return _load_from_store(source, key)
    if not hasattr(source, "keys"):
        raise TypeError(f"source must be cb_data (a dict) or the path of a store, "
                        f"got {type(source).__name__}")
    if key not in source:
        raise KeyError(_unknown_key(key, source.keys()))
    data = source[key]
    return RecordedKey(key, data, _kind_of(key, data), {}, None)


def _load_from_store(path, key) -> RecordedKey:
    if not os.path.exists(path):
        raise FileNotFoundError(f"no store at {os.fspath(path)!r}")
    cb_data = open_store(path)
    if key not in cb_data:
        raise KeyError(_unknown_key(key, cb_data.keys()))
    reader = ZarrReader(open_root(path, "r")[encode_key(key)])
    attrs = reader.attrs
    kind = "conn_var" if attrs["kind"] == "var" and "connection" in attrs else attrs["kind"]
    return RecordedKey(key, cb_data[key], kind, attrs, reader.examples)


def _kind_of(key, data) -> str:
    """The recorder kind, from the shape of what it returned: (times, ids) for
    spikes, else one array per example: 1-D counts, 2-D (time, neuron) or 3-D
    (time, source, target) variables."""
    if isinstance(data, tuple) and len(data) == 2:
        return "spikes"
    if isinstance(data, (list, RecordedSequence)):
        if len(data) == 0:
            raise IndexError(f"key {key!r} holds no recorded examples")
        kind = {1: "counts", 2: "var", 3: "conn_var"}.get(np.ndim(data[0]))
        if kind is not None:
            return kind
    raise TypeError(f"key {key!r} holds {type(data).__name__} data that no snnflow "
                    f"recorder wrote; only SpikeRecorder and VarRecorder keys can be plotted")


def _unknown_key(key, keys) -> str:
    known = ", ".join(sorted(repr(k) for k in keys)) or "none"
    return f"no recording with key {key!r}; the keys are: {known}"


def _abbreviate(values, limit=6) -> str:
    values = [int(v) for v in values]
    if len(values) <= limit:
        return ", ".join(map(str, values))
    return ", ".join(map(str, values[:limit - 1])) + f", ..., {values[-1]}"


def _title(recording, position) -> str:
    population = recording.attrs.get("population")
    what = f"{population} ({recording.key!r})" if population else repr(recording.key)
    return f"{what}, {recording.example_label(position)}"


def raster(source, key, example=0, *, figsize=(8, 4)) -> Figure:
    """Spike raster of one recorded example: spike time (ms) against neuron id.

    ``key`` must hold a SpikeRecorder's times and ids; a key recorded with
    ``record_counts=True`` has no times and raises TypeError. From a store, the
    y axis spans the whole population."""
    recording = load(source, key)
    recording.require(["spikes"], "raster")
    position = recording.position(example)
    times, ids = (np.asarray(recording.data[0][position]),
                  np.asarray(recording.data[1][position]))

    figure = Figure(figsize=figsize, layout="constrained")
    axes = figure.subplots()
    axes.scatter(times, ids, marker="|", s=40, linewidths=1, color="black")
    axes.set_xlabel("time (ms)")
    axes.set_ylabel("neuron")
    axes.set_title(_title(recording, position))
    axes.set_xlim(left=0.0)
    axes.yaxis.get_major_locator().set_params(integer=True)
    if "population_shape" in recording.attrs:
        axes.set_ylim(-0.5, int(np.prod(recording.attrs["population_shape"])) - 0.5)
    if len(times) == 0:
        axes.text(0.5, 0.5, "no spikes", transform=axes.transAxes, ha="center")
    return figure


def traces(source, key, example=0, neurons=None, *, dt=None, figsize=(8, 4)) -> Figure:
    """A recorded variable of one example against time, one line per neuron.

    ``neurons`` picks which to draw: neuron ids (flat indices into the population)
    from a store, positions in the recorded array from in-memory data, whose
    neuron filter is not known here; None draws every recorded neuron.

    From a store the time axis is in ms, each row at its recorded timestep times
    the store's ``dt``. In-memory rows are taken as consecutive steps 0, 1, ...;
    pass ``dt`` (ms) to label them in ms, otherwise the x axis counts timesteps.
    """
    recording = load(source, key)
    recording.require(["var"], "traces")
    position = recording.position(example)
    values = np.asarray(recording.data[position])

    recorded_ids = recording.attrs.get("neurons", "all")
    ids = np.arange(values.shape[1]) if recorded_ids == "all" else np.asarray(recorded_ids)
    columns = _columns(ids, neurons, key)

    steps = np.asarray(recording.attrs.get("timesteps", np.arange(values.shape[0])))
    step_ms = recording.attrs.get("dt") if dt is None else dt
    figure = Figure(figsize=figsize, layout="constrained")
    axes = figure.subplots()
    for column in columns:
        time = steps if step_ms is None else steps * step_ms
        axes.plot(time, values[:, column], label=f"neuron {ids[column]}")
    axes.set_xlabel("timestep" if step_ms is None else "time (ms)")
    axes.set_ylabel(recording.attrs.get("var", "value"))
    axes.set_title(_title(recording, position))
    if 0 < len(columns) <= 10:
        axes.legend(loc="best", fontsize="small")
    return figure


def _columns(ids, neurons, key) -> list:
    """Columns of the recorded array holding ``neurons`` (all when None)."""
    if neurons is None:
        return list(range(len(ids)))
    column_of = {int(n): c for c, n in enumerate(ids)}
    wanted = np.atleast_1d(np.asarray(neurons))
    if wanted.dtype.kind not in "iu":
        raise TypeError(f"neurons must be neuron ids (ints), got {neurons!r}")
    missing = [int(n) for n in wanted if int(n) not in column_of]
    if missing:
        raise IndexError(f"neurons {missing} were not recorded under key {key!r}; "
                         f"recorded: {_abbreviate(ids)}")
    return [column_of[int(n)] for n in wanted]


def sweep(summary, metric, *, figsize=(6, 4.5)) -> Figure:
    """``metric`` of a parameter sweep against its swept parameters.

    ``summary`` is the sweep's xarray Dataset (what ``Sweep.run`` returns), or the
    path of a finished sweep's store: one dimension per swept parameter, one data
    variable per metric. One dimension gives a line of the metric against
    the parameter; two give a heat-map (first dimension on the y axis) with each
    cell's value written in it. Points without a value (NaN) stay blank."""
    if isinstance(summary, (str, os.PathLike)):
        from .pipeline import read_summary
        summary = read_summary(summary)
    if not hasattr(summary, "data_vars"):
        raise TypeError(f"summary must be the sweep's xarray Dataset or its store's path, got "
                        f"{type(summary).__name__}")
    if metric not in summary.data_vars:
        known = ", ".join(map(repr, summary.data_vars)) or "none"
        raise KeyError(f"the sweep summary has no metric {metric!r}; its metrics: {known}")
    values = summary[metric]
    figure = Figure(figsize=figsize, layout="constrained")
    axes = figure.subplots()
    if values.ndim == 1:
        (dim,) = values.dims
        axes.plot(values[dim].values, values.values, marker="o")
        axes.set_xlabel(dim)
        axes.set_ylabel(metric)
    elif values.ndim == 2:
        _heat_map(figure, axes, values, metric)
    else:
        raise ValueError(f"sweep plots a metric over one or two swept parameters, but "
                         f"{metric!r} has dimensions {values.dims}; select or average the "
                         f"others first, e.g. summary.mean({values.dims[-1]!r})")
    axes.set_title(f"{metric} over the sweep")
    return figure


def _heat_map(figure, axes, values, metric):
    rows, columns = values.dims
    grid = np.asarray(values.values, dtype=float)
    # Swept values are often uneven (1, 2, 5, 10): one cell per point, labelled
    # with its value, reads better than a true-to-scale axis
    image = axes.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    axes.set_xticks(range(grid.shape[1]), [_format(v) for v in values[columns].values])
    axes.set_yticks(range(grid.shape[0]), [_format(v) for v in values[rows].values])
    axes.set_xlabel(columns)
    axes.set_ylabel(rows)
    figure.colorbar(image, ax=axes, label=metric)
    finite = grid[np.isfinite(grid)]
    middle = (finite.min() + finite.max()) / 2 if finite.size else 0.0
    for (row, column), value in np.ndenumerate(grid):
        if np.isfinite(value):
            # Dark text on the bright end of viridis, light text on the dark end
            axes.text(column, row, f"{value:.3g}", ha="center", va="center",
                      color="black" if value > middle else "white", fontsize="small")


def _format(value) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def learning_curve(history, *, ylabel="accuracy", figsize=(6, 4)) -> Figure:
    """Metrics per epoch, epochs counted from 1.

    ``history`` is either a sequence of values, one per epoch (one curve), or a
    dict of such sequences, one curve per entry named by its key, e.g.
    ``{"train": [0.61, 0.78, 0.83], "validation": [0.58, 0.74, 0.80]}``. Curves
    may have different lengths.

    A callback can collect the history while training:

        class History(Callback):
            def __init__(self, output):
                self.output, self.accuracy = output, []

            def on_epoch_end(self, epoch, metrics):
                self.accuracy.append(metrics[self.output].result)
    """
    curves = history if isinstance(history, Mapping) else {None: history}
    if not curves:
        raise ValueError("history is empty: give a list of per-epoch values or a dict "
                         "of such lists")
    figure = Figure(figsize=figsize, layout="constrained")
    axes = figure.subplots()
    for name, values in curves.items():
        values = np.asarray(values)
        if values.ndim != 1 or values.size == 0 or values.dtype.kind not in "iuf":
            which = "history" if name is None else f"history[{name!r}]"
            raise ValueError(f"{which} must be a non-empty list of numbers, one per epoch, "
                             f"got {values!r:.80}")
        axes.plot(np.arange(1, len(values) + 1), values, marker="o", label=name)
    axes.set_xlabel("epoch")
    axes.set_ylabel(ylabel)
    axes.xaxis.get_major_locator().set_params(integer=True)
    if len(curves) > 1 or None not in curves:
        axes.legend(loc="best")
    return figure
