"""The driver: plans shards, submits them, follows progress and merges results.

The driver checks every input and callback before submitting anything, and never
compiles or simulates: workers do, each on its own cached model. ``run_together``
submits the shards of several runs at once, so that they share the cluster."""
from __future__ import annotations

import copy
import json
import os
import threading
import time
import uuid

import numpy as np
from distributed import as_completed, span
from distributed.client import FutureCancelledError
from zarr.storage import LocalStore

from ..callbacks import BatchProgressBar
from ..utils.callback_list import CallbackList
from ..utils.callback_list import resolve_callbacks
from ..compilers.dataset import (check_readouts, check_spike_budget, prepare_evaluation,
                                 prepare_inputs)
from ..compilers.validation import check_network
from ..utils.network import get_underlying_pop
from ..store import MemoryRecording, ZarrRun, metric_names, open_store, part_name
from ..store.lease import LEASE_KEY, read_lease
from ..store.zarr_reader import describe_store, is_url
from ..store.memory import MemorySink
from ..utils.fingerprint import data_fingerprint, fingerprint
from .cluster import check_client, connect, logger
from .merge import add_metric_states, merge_callback_data, merge_metric_states
from .planning import batch_ranges, check_shard_size, plan_shards, plan_tasks
from .shard import Shard, is_lazy, progress_topic, run_shards

#: What ShardResult.timings holds, summed over a run's shards
SHARD_STAGES = ("build", "simulate", "write")

#: How many times a shard is resubmitted after Dask cancelled it for inputs lost
#: with their workers, before the run fails
RESUBMITS = 3


def evaluate(network, compiler, x, y, *, metrics="sparse_categorical_accuracy",
             callbacks=("batch_progress_bar",), client=None, store=None, shard_size=None,
             overwrite=False, keep_cluster=False, storage_options=None):
    """Evaluate ``network`` as ``compiler.compile(network).evaluate(x, y, ...)`` would,
    with the examples sharded over a Dask cluster. Returns ``(metrics, cb_data)``.

    ``client``: a running ``distributed.Client``, a scheduler address, or None for
    an embedded LocalCluster (its dashboard link is logged; ``keep_cluster=True``
    keeps it up after the run until Enter is pressed). See ``connect``.

    ``store``: a path, an object store's URL (``"s3://bucket/run.zarr"``, with
    fsspec's ``storage_options``, e.g. ``{"endpoint_url": ..., "key": ...,
    "secret": ...}``) or a zarr store; workers write into it directly."""
    check_client(client, keep_cluster)
    run = prepare_evaluate(network, compiler, x, y, metrics=metrics, callbacks=callbacks,
                           store=store, shard_size=shard_size, overwrite=overwrite,
                           storage_options=storage_options)
    with connect(client, keep_cluster=keep_cluster) as connected:
        for _ in run_together(connected, [run]):
            pass
    log_reuse(run)
    return run.metrics, run.cb_data


def prepare_evaluate(network, compiler, x, y, *, metrics="sparse_categorical_accuracy",
                     callbacks=("batch_progress_bar",), store=None, shard_size=None,
                     overwrite=False, storage_options=None) -> "Run":
    """The checked, not yet submitted Run of an ``evaluate`` call (see run_together)."""
    check_network(network)
    inputs, size, outputs, metric_objects = prepare_evaluation(x, _label_shapes(y), network,
                                                               metrics)
    # Workers get populations as keys: they compare equal in every copy of the network
    outputs = {get_underlying_pop(k): y[k] for k in outputs}
    templates = {get_underlying_pop(k): m for k, m in metric_objects.items()}
    return Run(network, compiler, inputs, size, "evaluate", callbacks, store, shard_size,
               overwrite, outputs=outputs, metrics=templates,
               user_keys={get_underlying_pop(k): k for k in metric_objects},
               storage_options=storage_options)


def predict(network, compiler, x, outputs, *, callbacks=("batch_progress_bar",), client=None,
            store=None, shard_size=None, overwrite=False, keep_cluster=False,
            storage_options=None):
    """As ``compiler.compile(network).predict(x, outputs)``, sharded over a Dask
    cluster: ``({output: array}, cb_data)``. ``client``, ``keep_cluster``, ``store``
    and ``storage_options`` as for ``evaluate``."""
    check_client(client, keep_cluster)
    check_network(network)
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    check_readouts(outputs)
    inputs, size = prepare_inputs(x, network)
    run = Run(network, compiler, inputs, size, "predict", callbacks, store, shard_size,
              overwrite, outputs={get_underlying_pop(o): None for o in outputs},
              storage_options=storage_options)
    with connect(client, keep_cluster=keep_cluster) as connected:
        for _ in run_together(connected, [run]):
            pass
    log_reuse(run)
    predictions = {}
    for output in outputs:
        name = get_underlying_pop(output).name
        parts = [r.predictions[name] for r in run.shard_results]
        predictions[output] = np.concatenate(parts) if parts else \
            np.zeros((0,) + get_underlying_pop(output).shape, np.float32)
    return predictions, run.cb_data


def run_together(client, runs):
    """Submit the shards of every run in ``runs``, then yield each run as soon as its
    last shard is in and its results are merged. The runs' shards share the
    cluster: a worker that finishes one run's shard takes the next queued shard,
    of whichever run. A failed shard cancels every run's shards and raises."""
    futures = {}
    try:
        for run in runs:
            futures.update({future: (run, task) for future, task in run.submit(client)})
        for run in runs:
            if run.remaining == 0:
                yield run.finish()
        # On the client's own event loop: as_completed would otherwise take the
        # default client's, which may be another (even a closed) client's
        completed = as_completed(futures, loop=client.loop)
        for future in completed:
            run, task = futures.pop(future)
            try:
                results = future.result()
            except FutureCancelledError as error:
                # Its scattered inputs died with a worker: sent again. (Caught, not
                # tested for with cancelled(): the state can change in between)
                retry = run.resubmit(client, task, error)
                futures[retry] = (run, task)
                completed.add(retry)
                continue
            # Released at once: a future still held would have Dask recompute the
            # task if the worker holding its result died, while the driver merges
            del future
            if run.task_done(task, results):
                yield run.finish()
    finally:
        client.cancel([future for future in futures if not future.done()])
        futures.clear()
        for run in runs:
            run.close()
            run.release()


def log_reuse(run):
    """Tell how much of a rerun came from its store, if anything did."""
    if run.reused:
        logger.info(f"{run.store}: {run.reused} of {len(run.shards)} shards came from the "
                    f"store, finished by an earlier run; ran {len(run.shards) - run.reused}")


def _label_shapes(y):
    """``y`` with each zarr or dask array of labels replaced by a stand-in of its
    shape and dtype that costs no memory (one element, broadcast): the driver
    checks shapes, and the workers check the values as they read them."""
    if not isinstance(y, dict):
        return y
    return {key: np.broadcast_to(np.zeros((), labels.dtype), labels.shape)
            if is_lazy(labels) else labels for key, labels in y.items()}


class _NoEngine:
    """The driver simulates nothing: recorders set up against it read nothing."""
    records_vars = False


class _Description:
    """Stands in for a compiled network while callbacks are checked on the driver."""

    def __init__(self, network, compiler):
        self.network = network
        self.compiler = compiler
        self.engine = _NoEngine()
        self.example_timesteps = compiler.evaluate_timesteps


class _LayoutRecording(MemoryRecording):
    """Collects what every recorder will write, so the driver can lay out the store."""

    def __init__(self):
        self.layouts = {}

    def sink(self, key, layout):
        self.layouts[key] = layout
        return MemorySink(layout)


class Run:
    """One evaluate or predict call: checked (inputs, callbacks, store) when made,
    submitted by run_together, merged when its last shard is in."""

    def __init__(self, network, compiler, inputs, size, mode, callbacks, store, shard_size,
                 overwrite, outputs, metrics=None, user_keys=None, storage_options=None):
        check_shard_size(shard_size)
        if not isinstance(overwrite, bool):
            raise TypeError(f"overwrite must be True or False, got {overwrite!r}")
        self.network = network
        self.compiler = compiler
        self.inputs = inputs
        self.size = size
        self.mode = mode
        # Workers may run elsewhere: a relative path must not depend on their folder
        self.store = os.path.abspath(store) if isinstance(store, (str, os.PathLike)) and \
            not is_url(store) else store
        self.shard_size = shard_size
        self.overwrite = overwrite
        self.outputs = outputs
        self.metric_templates = metrics or {}
        self.user_keys = user_keys or {}
        callbacks = resolve_callbacks(callbacks)
        # Progress bars run here, fed by the workers; everything else is a template
        # copied to every shard
        self.bars = [c for c in callbacks if isinstance(c, BatchProgressBar)]
        self.templates = [c for c in callbacks if not isinstance(c, BatchProgressBar)]
        self.layouts = self._check_callbacks(callbacks)
        # What a worker's compiled model is cached under. Populations compare by
        # their network's identity, so a model serves this network and its copies
        # only: another network of equal content (built again by the same code)
        # has populations the model does not know
        self.model_key = fingerprint(network._uid, network, compiler.options(),
                                     compiler.backend)
        # What decides whether a store may be reused: only a store needs it, and
        # hashing every input costs about as much as a shard's scheduling
        self.run_key = None if self.store is None else fingerprint(
            network, compiler.options(), compiler.backend, mode, self.templates,
            self.metric_templates, {p.name: data_fingerprint(d) for p, d in inputs.items()},
            {p.name: data_fingerprint(d) for p, d in outputs.items()})
        # Task keys and the progress topic are this call's own, even for a call
        # identical to one running beside it
        self.run_id = self.run_key[:8] + uuid.uuid4().hex[:4] if self.run_key else \
            uuid.uuid4().hex[:12]
        # The store is checked now, before any cluster is started or task submitted
        self.zarr_run, self.stored_plan = None, None
        if self.store is None and storage_options:
            raise ValueError("storage_options are for a store given as a URL; no store "
                             "was given")
        if self.store is not None:
            self.zarr_run = ZarrRun(self.store, self.run_key, overwrite, storage_options)
            if self.zarr_run.same_run and not overwrite:
                self.stored_plan = [tuple(s) for s in self.zarr_run.existing.get("shards", [])]
                _check_same_plan(self.stored_plan, shard_size, self.store)
        #: What the shards open: a local store's path, else the zarr store object
        #: (an object store's carries its storage options to the workers)
        self.worker_store = None if self.zarr_run is None else \
            self.store if isinstance(self.zarr_run.zarr_store, LocalStore) else \
            self.zarr_run.zarr_store
        self.progress = None
        self.subscribed = None  # the client whose progress events this run follows
        #: what every shard's task receives of the inputs and labels: zarr and
        #: dask arrays (handles); None for those in memory, sent as rows (see _submit)
        self.handles = tuple({pop: data if is_lazy(data) else None for pop, data in d.items()}
                             for d in (inputs, outputs))
        self.rows = {}                       # {task: its scattered rows}
        self.scattered_model = None          # future of network, compiler, templates
        self.resubmits = {}                  # {task: times resubmitted}

    def _check_callbacks(self, callbacks):
        """Build the callback list once here (keys, filters, names) so mistakes
        surface before any task is submitted; recorders' layouts come out of it."""
        recording = _LayoutRecording()
        CallbackList(copy.deepcopy(callbacks), compiled_network=_Description(
            self.network, self.compiler), num_batches=1, num_examples=self.size,
            recording=recording)
        return recording.layouts

    def submit(self, client):
        """Lay out the store and submit the shards it does not hold finished:
        [(future, its task: a tuple of shard indices), ...]."""
        workers = _num_workers(client)
        # A resumed run keeps its store's plan, whatever the cluster's size now
        self.shards = self.stored_plan or plan_shards(self.size, self.compiler.batch_size,
                                                      self.shard_size, workers)
        check_spike_budget(self.inputs, batch_ranges(self.shards, self.compiler.batch_size))
        finished = {}
        if self.zarr_run is not None:
            self.zarr_run.start(self.layouts, resume=True,
                                attrs={"dt": self.compiler.dt, "num_examples": self.size,
                                       "timesteps": self.compiler.evaluate_timesteps,
                                       "shards": [list(s) for s in self.shards]})
            finished = self.zarr_run.finished_shards()
            _check_workers_see(client, self.zarr_run)
        batch_size = self.compiler.batch_size
        self.batches_per_shard = [-(-(stop - start) // batch_size)
                                  for start, stop in self.shards]
        self.progress = _Progress(self.bars, sum(self.batches_per_shard),
                                  self.metric_templates)
        self.results = {}
        for index in range(len(self.shards)):
            if part_name(index) in finished:
                self.task_done((index,), [finished[part_name(index)]])
        self.remaining = len(self.shards) - len(self.results)
        #: shards whose results came from the store, finished by an earlier run
        self.reused = len(self.results)
        if not self.remaining:
            return []
        if self.bars:
            client.subscribe_topic(progress_topic(self.run_id), self.progress.on_event)
            self.subscribed = client
        tasks = plan_tasks([i for i in range(len(self.shards)) if i not in self.results],
                           workers)
        submitted = []
        with span(f"snnflow-{self.mode}-{self.run_id}"):
            # One task per worker at a time: the workers start on the first tasks
            # while the next ones are sent
            for begin in range(0, len(tasks), workers):
                block = tasks[begin:begin + workers]
                submitted.extend(zip(self._submit(client, block), block))
        return submitted

    def resubmit(self, client, task, error):
        """A new future for ``task`` (its shard indices), which Dask cancelled
        because data it needed was lost with a worker (``error``): scattered data
        has no task to recompute it from, so the driver sends it again. Raises
        ``error`` (noted) for a task cancelled RESUBMITS times already."""
        self.resubmits[task] = self.resubmits.get(task, 0) + 1
        name = _task_name(task)
        if self.resubmits[task] > RESUBMITS:
            note = f"snnflow {name} was cancelled {RESUBMITS + 1} times"
            if not hasattr(error, "add_note"):  # Python 3.10
                raise RuntimeError(f"{error!r} {note}") from error
            error.add_note(note)
            raise error
        logger.info(f"snnflow {name} ({self.shards[task[0]][0]}..{self.shards[task[-1]][1] - 1}"
                    f") lost its inputs with a worker; sending them again")
        self.rows.pop(task, None)
        if self.scattered_model is not None and self.scattered_model.status != "finished":
            self.scattered_model = None     # lost too: scattered again
        with span(f"snnflow-{self.mode}-{self.run_id}"):
            return self._submit(client, [task], f"-retry{self.resubmits[task]}")[0]

    def _submit(self, client, tasks, suffix=""):
        """Scatter the in-memory rows of ``tasks`` (each a tuple of consecutive
        shard indices) and submit them; their futures. Each task's rows (inputs
        and labels) are one piece: Dask spreads the pieces over the workers, and a
        task then runs where its rows are, with nothing to fetch."""
        if self.scattered_model is None:
            # What every shard needs besides its rows, sent once to every worker, as
            # a future: client.map would put a large template into the graph under
            # its argument's name, once for every call. Its key is this scatter's
            # own (a reused key can be released under a new run)
            model = (self.network, self.compiler, self.metric_templates, self.templates)
            self.scattered_model = client.scatter(
                {f"snnflow-model-{self.run_id}-{uuid.uuid4().hex[:4]}": model},
                broadcast=True).popitem()[1]
        ranges = [(self.shards[task[0]][0], self.shards[task[-1]][1]) for task in tasks]
        # In memory: what the task receives as rows; zarr and dask arrays stay
        # handles, which each shard reads its own rows from
        in_memory = [({pop: data[start:stop] for pop, data in self.inputs.items()
                       if not is_lazy(data)},
                      {pop: labels[start:stop] for pop, labels in self.outputs.items()
                       if labels is not None and not is_lazy(labels)})
                     for start, stop in ranges]
        # (Dask's scheduler fails on an empty scatter: all inputs may be handles)
        rows = list(client.scatter({_task_key(self.run_id, task, "rows") + suffix: part
                                    for task, part in zip(tasks, in_memory)}).values()) \
            if any(x or y for x, y in in_memory) else in_memory
        self.rows.update(zip(tasks, rows))
        shards = [[Shard(self.run_id, index, *self.shards[index], self.size, self.model_key,
                         self.mode, self.worker_store, part_name(index),
                         self.zarr_run.writer if self.zarr_run is not None else None,
                         report_progress=bool(self.bars)) for index in task]
                  for task in tasks]
        return client.map(run_shards, shards, rows, model=self.scattered_model,
                          inputs=self.handles[0], outputs=self.handles[1], pure=False,
                          key=[_task_key(self.run_id, task) + suffix for task in tasks])

    def task_done(self, task, results) -> bool:
        """Take the results of ``task``'s shards; True once every shard's is in."""
        self.rows.pop(task, None)   # Dask then frees them on the worker
        for index, result in zip(task, results):
            self.results[index] = result
            self.progress.shard_done(index, self.batches_per_shard[index], result)
        self.remaining = len(self.shards) - len(self.results)
        return not self.remaining

    def finish(self) -> "Run":
        """Merge the shards' results (and seal the store): metrics, cb_data and
        timings, {stage: seconds}, the shards' summed over shards plus the
        driver's "merge"."""
        self.close()
        began = time.perf_counter()
        self.shard_results = [self.results[i] for i in range(len(self.shards))]
        #: {output population: Metric} over every shard (empty for predict)
        self.merged_metrics = merge_metric_states(self.metric_templates,
                                                  [r.metric_states for r in self.shard_results])
        #: {output as the caller gave it: Metric}
        self.metrics = {self.user_keys[pop]: metric
                        for pop, metric in self.merged_metrics.items()}
        self.cb_data = self._merge_callback_data()
        if self.zarr_run is not None:
            self.zarr_run.finish([part_name(i) for i in range(len(self.shards))],
                                 {pop.name: m.result for pop, m in self.merged_metrics.items()},
                                 metric_names=metric_names(self.merged_metrics))
            recorded = open_store(self.zarr_run.zarr_store, name=describe_store(self.store))
            self.cb_data.update({k: recorded[k] for k in self.layouts})
        self.timings = {stage: sum(r.timings[stage] for r in self.shard_results)
                        for stage in SHARD_STAGES}
        self.timings["merge"] = time.perf_counter() - began
        return self

    def release(self):
        """Give the store's lease back (once the run has finished or failed)."""
        if self.zarr_run is not None:
            self.zarr_run.release()

    def close(self):
        """Stop following progress (once), the bars showing what was done, and
        let go of the rows scattered for shards that will not run now."""
        self.rows = {}
        self.scattered_model = None
        if self.subscribed is not None:
            self.subscribed.unsubscribe_topic(progress_topic(self.run_id))
            self.subscribed = None
        if self.progress is not None:
            self.progress.close()
            self.progress = None

    def _merge_callback_data(self):
        """Each template's data from its shard copies, under the key get_data gave."""
        merged = {}
        for index, template in enumerate(self.templates):
            parts = [r.callback_data.get(index) for r in self.shard_results]
            if not parts or parts[0] is None:
                continue
            key = parts[0][0]
            if key in merged:
                raise KeyError(f"two callbacks returned data under the key {key!r}")
            merged[key] = merge_callback_data(template, [value for _, value in parts])
        return merged


class _Progress:
    """The driver's progress bars: batches done over all shards, merged metrics.
    Fed from the client's event thread and from the driver thread, hence the lock.

    The metrics of finished shards are merged once, as each finishes, so that an
    update merges only the states of the shards still running (at most one per
    worker thread), however many shards the run has."""

    def __init__(self, bars, num_batches, metrics):
        self.bars = bars
        self.metrics = metrics
        self.done = {}
        self.batches_done = 0
        self.running = {}   # {shard: its latest metric states}
        self.finished_shards = set()
        self.finished = merge_metric_states(metrics, [])   # their states, merged
        self.lock = threading.Lock()
        for bar in bars:
            bar.set_params(num_batches=num_batches)
            bar.on_test_begin()

    def _advance(self, shard, batches, states, finished):
        with self.lock:
            if shard in self.finished_shards:
                return          # a late event of a shard merged already
            # A shard rerun after a lost worker starts again from 0, and events
            # may arrive late: count each batch once, keep the furthest state
            new = batches - self.done.get(shard, 0)
            if finished:
                self.finished_shards.add(shard)
                self.running.pop(shard, None)
                self.finished = add_metric_states(self.finished, [states])
            elif new > 0:
                self.running[shard] = states
            if new <= 0:
                return
            self.done[shard] = batches
            self.batches_done += new
            if self.bars:
                merged = self._merged()
                for bar in self.bars:
                    for batch in range(self.batches_done - new, self.batches_done):
                        bar.on_batch_end(batch, merged)

    def _merged(self):
        return add_metric_states(self.finished, list(self.running.values()))

    def on_event(self, event):
        _, message = event
        self._advance(message["shard"], message["batches"], message["states"], False)

    def shard_done(self, shard, batches, result):
        self._advance(shard, batches, result.metric_states, True)

    def close(self):
        with self.lock:
            merged = self._merged()
            for bar in self.bars:
                bar.on_test_end(merged)


def _task_key(run_id, task, kind="shard") -> str:
    """The Dask key of ``task``: ``snnflow-shard-<run id>-<i>`` for shard i alone,
    ``...-<i>-<j>`` for shards i..j (the dashboard groups them all under the
    name before the id, ``snnflow-shard``); ``kind="rows"``: of its rows."""
    shards = str(task[0]) if len(task) == 1 else f"{task[0]}-{task[-1]}"
    return f"snnflow-{kind}-{run_id}-{shards}"


def _task_name(task) -> str:
    return f"shard {task[0]}" if len(task) == 1 else f"shards {task[0]}..{task[-1]}"


def _num_workers(client) -> int:
    return len(client.scheduler_info(n_workers=-1)["workers"])


def _check_workers_see(client, zarr_run):
    """ValueError, before any shard runs, if a local store's folder is not the
    same folder on every worker (workers on other machines without a shared
    file system): they would write stores of their own that the driver never sees;
    ConnectionError if a worker cannot read an object store's lease (no route to
    the endpoint, no s3fs, no credentials there)."""
    store = zarr_run.zarr_store
    if not isinstance(store, LocalStore):
        seen = client.run(_object_lease_owner, store)
        failed = {worker: found for worker, found in seen.items() if found != zarr_run.writer}
        if failed:
            raise ConnectionError(
                f"workers cannot read the store {describe_store(store)!r} that the driver "
                f"writes: " + "; ".join(f"{worker}: {found or 'another lease'}"
                                        for worker, found in sorted(failed.items())))
        return
    lease = os.path.join(store.root, LEASE_KEY)
    owner = zarr_run.writer
    seen = client.run(_lease_owner, lease)
    blind = sorted(worker for worker, found in seen.items() if found != owner)
    if blind:
        raise ValueError(f"the store {str(store.root)!r} is a local path that workers "
                         f"{', '.join(blind)} do not see (not the same folder there); put "
                         f"it on a file system every worker shares, or use an object store "
                         f"(store='s3://bucket/run.zarr')")


def _object_lease_owner(store):
    """The owner of ``store``'s lease as a worker reads it, or what went wrong."""
    try:
        return (read_lease(store) or {}).get("owner")
    except Exception as error:  # reported to the driver, which raises
        return f"{type(error).__name__}: {error}"


def _lease_owner(path):
    try:
        with open(path) as file:
            return json.load(file).get("owner")
    except (OSError, ValueError):
        return None


def _check_same_plan(stored_plan, shard_size, store):
    """A resumed run keeps its shards; a shard_size that would cut them otherwise
    is a different configuration."""
    sizes = {stop - start for start, stop in stored_plan[:-1]} or \
        {stop - start for start, stop in stored_plan}
    if shard_size is not None and sizes != {shard_size}:
        raise FileExistsError(f"the store {store!r} holds this run cut into shards of "
                              f"{sorted(sizes)} examples, not {shard_size}; leave shard_size "
                              f"out to resume it, or pass overwrite=True to start again")
