"""The shard task: one contiguous range of examples, run on a worker."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
from distributed import get_worker

from ..utils.callback_list import resolve_callbacks
from ..callbacks.recorder import Recorder
from ..store import MemoryRecording, PartRecording
from .worker import model_cache


@dataclass
class Shard:
    """What a shard task needs besides the network, compiler and data."""
    run: str            # the run's id (task keys, progress topic)
    index: int
    start: int
    stop: int
    num_examples: int   # of the whole run, for global example filters
    model_key: str
    mode: str           # "evaluate" or "predict"
    store: object = None
    part: str = ""
    writer: str = None  # the id of the run's lease on the store
    #: whether the driver shows progress bars that this shard's batches feed
    report_progress: bool = True

    @property
    def examples(self) -> str:
        return f"examples {self.start}..{self.stop - 1}"


@dataclass
class ShardResult:
    """Small: metric states, custom callbacks' data, predictions (predict only)."""
    metric_states: dict = field(default_factory=dict)   # {population name: state}
    callback_data: dict = field(default_factory=dict)   # {template index: (key, data)}
    predictions: dict = field(default_factory=dict)     # {population name: array}
    #: seconds this shard spent building its model (0 when the worker had it),
    #: simulating, and waiting on the store outside the simulation loop
    timings: dict = field(default_factory=dict)         # {"build", "simulate", "write"}


class ShardProgress:
    """Tells the driver how far this shard is, and its metrics, every INTERVAL
    seconds of the shard's run. Each message costs the scheduler and the driver
    CPU that the simulation shares, so a shard shorter than INTERVAL sends none,
    and none is sent after the last batch: the shard's result carries that."""

    INTERVAL = 0.25

    def __init__(self, topic, shard):
        self.topic = topic
        self.shard = shard

    def set_params(self, num_batches, **kwargs):
        self.num_batches = num_batches
        self.last_sent = time.monotonic()

    def on_batch_end(self, batch, metrics):
        now = time.monotonic()
        if batch + 1 == self.num_batches or now - self.last_sent < self.INTERVAL:
            return
        self.last_sent = now
        get_worker().log_event(self.topic, {
            "shard": self.shard, "batches": batch + 1,
            "states": {output.name: dict(m.state) for output, m in metrics.items()}})


def progress_topic(run: str) -> str:
    return f"snnflow-progress-{run}"


class ShardView:
    """Examples [start, stop) of a zarr or dask array, read a chunk at a time as the
    shard runs: a worker holds about one chunk of input however large the shard,
    and reads (or computes) each chunk once however small the batches."""

    def __init__(self, data, start, stop):
        self.data = data
        self.start = start
        self.stop = stop
        self.shape = (stop - start,) + tuple(data.shape[1:])
        self.rows = None
        self.span = (0, 0)  # the global examples self.rows holds

    def __getitem__(self, index):
        begin, end = self.start + index.start, self.start + index.stop
        if not (self.span[0] <= begin and end <= self.span[1]):
            read_end = min(self.stop, max(end, _chunk_end(self.data, begin)))
            self.rows = read(self.data, begin, read_end)
            self.span = (begin, read_end)
        return self.rows[begin - self.span[0]:end - self.span[0]]


def _chunk_end(data, example) -> int:
    """The end of the chunk (along the examples) that holds ``example``."""
    if hasattr(data, "dask"):
        return int(next(end for end in np.cumsum(data.chunks[0]) if end > example))
    return (example // data.chunks[0] + 1) * data.chunks[0]


def read(data, start, stop) -> np.ndarray:
    """Examples [start, stop) of a zarr or dask array, in memory."""
    part = data[start:stop]
    # dask computes here, in this task's thread, without calling the cluster
    return np.asarray(part.compute(scheduler="synchronous") if hasattr(part, "dask") else part)


def is_lazy(data) -> bool:
    """Whether ``data`` is a handle (a zarr or dask array) rather than data in memory."""
    return hasattr(data, "dask") or is_zarr(data)


def labels_on_worker(labels, shard, metric, pop):
    """A shard's labels: in memory, its rows, checked on the driver already; zarr
    and dask labels arrive whole and are read and checked here, as the driver
    would have."""
    if not is_lazy(labels):
        return labels
    start, stop = shard.start, shard.stop
    labels = read(labels, start, stop)
    if metric is not None:
        metric.check(labels, pop, f"y[{pop.name}] (examples {start}..{stop - 1})")
    return labels


def is_zarr(data) -> bool:
    return type(data).__module__.startswith("zarr")


class TimedRecording:
    """A recording that adds up the seconds its start and close take: laying out
    the shard's parts and draining its writer, the store time the simulation
    does not overlap."""

    def __init__(self, recording):
        self.recording = recording
        self.seconds = 0.0

    def __getattr__(self, name):
        # The rest of the recording's interface (sink, abort, ...) passes through
        return getattr(self.recording, name)

    def start(self):
        began = time.perf_counter()
        self.recording.start()
        self.seconds += time.perf_counter() - began

    def close(self, metrics=None, metric_names=None):
        began = time.perf_counter()
        self.recording.close(metrics, metric_names)
        self.seconds += time.perf_counter() - began


def run_shards(shards, rows, model, inputs, outputs):
    """A task: consecutive ``shards``, one after the other; [ShardResult, ...].
    ``rows``: their examples of the in-memory inputs and labels ({pop: rows},
    {pop: rows}); ``model``: (network, compiler, metric templates, callback
    templates); ``inputs`` and ``outputs``: the run's zarr and dask arrays, which
    each shard reads its own examples from (None for those in memory)."""
    first = shards[0].start
    return [run_shard(shard, tuple({pop: r[shard.start - first:shard.stop - first]
                                    for pop, r in part.items()} for part in rows),
                      model, inputs, outputs)
            for shard in shards]


def run_shard(shard: Shard, rows, model, inputs, outputs):
    """Simulate the shard on this worker's cached model; errors name the shard
    (arguments as run_shards', ``rows`` the shard's own).
    A shard the store holds finished already (Dask reruns a task whose result
    was lost with its worker) is not run again: its stored result is returned."""
    network, compiler, metrics, callbacks = model
    if shard.store is not None:
        stored = PartRecording(shard.store, shard.part, shard.writer).finished()
        if stored is not None:
            return stored
    began = time.perf_counter()
    compiled, lock = model_cache(get_worker()).get(shard.model_key, network, compiler)
    build = time.perf_counter() - began
    size = shard.stop - shard.start
    x_rows, y_rows = rows
    inputs = {pop: x_rows[pop] if data is None else ShardView(data, shard.start, shard.stop)
              for pop, data in inputs.items()}
    outputs = {pop: y_rows.get(pop, labels) for pop, labels in outputs.items()}
    # The templates arrive once per worker, shared by its shards: each shard
    # runs its own copies, as if it were a run of its own
    metrics = copy.deepcopy(metrics)
    templates = resolve_callbacks(copy.deepcopy(callbacks))
    callbacks = templates + ([ShardProgress(progress_topic(shard.run), shard.index)]
                             if shard.report_progress else [])
    recording = TimedRecording(PartRecording(shard.store, shard.part, shard.writer,
                                             (shard.start, shard.stop))
                               if shard.store is not None else MemoryRecording())
    try:
        outputs = {pop: labels_on_worker(labels, shard, metrics.get(pop), pop)
                   for pop, labels in outputs.items()} if shard.mode == "evaluate" else outputs
        began = time.perf_counter()
        with lock:
            if shard.mode == "evaluate":
                metrics, cb_data = compiled.evaluate_examples(
                    inputs, outputs, size, metrics, callbacks, recording,
                    first_example=shard.start, num_examples=shard.num_examples)
                predictions = {}
            else:
                predictions, cb_data = compiled.predict_examples(
                    inputs, list(outputs), size, callbacks, recording,
                    first_example=shard.start, num_examples=shard.num_examples)
                metrics = {}
        simulate = time.perf_counter() - began - recording.seconds
    except Exception as error:
        note = f"in snnflow shard {shard.index} ({shard.examples})"
        if not hasattr(error, "add_note"):  # Python 3.10
            raise RuntimeError(f"{error!r} {note}") from error
        error.add_note(note)
        raise
    # {template index: (key, data)}; with a store, recorders' data is in the store
    # and only other callbacks' data travels
    callback_data = {index: callback.get_data() for index, callback in enumerate(templates)
                     if hasattr(callback, "get_data")
                     and not (shard.store is not None and isinstance(callback, Recorder))}
    timings = {"build": build, "simulate": simulate, "write": recording.seconds}
    result = ShardResult({o.name: dict(m.state) for o, m in metrics.items()}, callback_data,
                         {o.name: p for o, p in predictions.items()}, timings)
    if shard.store is not None:
        began = time.perf_counter()
        # A duplicate attempt that finished first wins; its result is the one kept
        result = recording.recording.mark_complete(result)
        # The marker holds the result, so its own write time reaches only the caller
        timings["write"] += time.perf_counter() - began
    return result
