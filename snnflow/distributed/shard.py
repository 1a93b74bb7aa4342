"""The shard task: one contiguous range of examples, run on a worker."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from distributed import get_worker

from ..callbacks.callback_list import resolve_callbacks
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

    @property
    def examples(self) -> str:
        return f"examples {self.start}..{self.stop - 1}"


@dataclass
class ShardResult:
    """Small: metric states, custom callbacks' data, predictions (predict only)."""
    metric_states: dict = field(default_factory=dict)   # {population name: state}
    callback_data: dict = field(default_factory=dict)   # {template index: (key, data)}
    predictions: dict = field(default_factory=dict)     # {population name: array}


class ShardProgress:
    """Tells the driver how far this shard is, and its metrics: at most every
    INTERVAL seconds (each message costs the scheduler and the driver CPU that
    the simulation shares), and after the shard's last batch."""

    INTERVAL = 0.25

    def __init__(self, topic, shard):
        self.topic = topic
        self.shard = shard
        self.last_sent = 0.0

    def set_params(self, num_batches, **kwargs):
        self.num_batches = num_batches

    def on_batch_end(self, batch, metrics):
        now = time.monotonic()
        if batch + 1 < self.num_batches and now - self.last_sent < self.INTERVAL:
            return
        self.last_sent = now
        get_worker().log_event(self.topic, {
            "shard": self.shard, "batches": batch + 1,
            "states": {output.name: dict(m.state) for output, m in metrics.items()}})


def progress_topic(run: str) -> str:
    return f"snnflow-progress-{run}"


class ShardView:
    """Examples [start, stop) of a zarr or dask array, read batch by batch as the
    shard runs, so a worker holds one batch of input however large the shard."""

    def __init__(self, data, start, stop):
        self.data = data
        self.start = start
        self.shape = (stop - start,) + tuple(data.shape[1:])

    def __getitem__(self, index):
        part = self.data[self.start + index.start:self.start + index.stop]
        # dask computes here, in this task's thread, without calling the cluster
        return part.compute(scheduler="synchronous") if hasattr(part, "dask") else part


def read_on_worker(data, start, stop):
    """A shard's part of an input: numpy and lists arrive sliced; zarr arrays and
    dask arrays arrive whole (they are handles) and are read here."""
    if hasattr(data, "dask") or is_zarr(data):
        return ShardView(data, start, stop)
    return data


def is_zarr(data) -> bool:
    return type(data).__module__.startswith("zarr")


def run_shard(shard: Shard, network, compiler, inputs, outputs, metrics, callbacks):
    """Simulate the shard on this worker's cached model; errors name the shard."""
    compiled, lock = model_cache(get_worker()).get(shard.model_key, network, compiler)
    size = shard.stop - shard.start
    inputs = {pop: read_on_worker(data, shard.start, shard.stop) for pop, data in inputs.items()}
    templates = resolve_callbacks(callbacks)
    callbacks = templates + [ShardProgress(progress_topic(shard.run), shard.index)]
    recording = PartRecording(shard.store, shard.part) if shard.store is not None \
        else MemoryRecording()
    try:
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
    result = ShardResult({o.name: dict(m.state) for o, m in metrics.items()}, callback_data,
                         {o.name: p for o, p in predictions.items()})
    if shard.store is not None:
        recording.mark_complete(result)
    return result
