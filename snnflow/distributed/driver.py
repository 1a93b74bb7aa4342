"""The driver: plans shards, submits them, follows progress and merges results.

The driver checks every input and callback before submitting anything, and never
compiles or simulates: workers do, each on its own cached model."""
from __future__ import annotations

import copy
import os
import threading
import uuid

import numpy as np
from distributed import as_completed, span

from ..callbacks import BatchProgressBar, CallbackList
from ..callbacks.callback_list import resolve_callbacks
from ..compilers.dataset import (check_readouts, check_spike_budget, prepare_evaluation,
                                 prepare_inputs)
from ..compilers.validation import check_network
from ..connection import underlying_population
from ..store import MemoryRecording, ZarrRun, open_store, part_name
from ..store.memory import MemorySink
from ..utils.fingerprint import data_fingerprint, fingerprint
from .cluster import connect
from .merge import merge_callback_data, merge_metric_states
from .planning import batch_ranges, check_shard_size, plan_shards
from .shard import Shard, is_zarr, progress_topic, run_shard


def evaluate(network, compiler, x, y, *, metrics="sparse_categorical_accuracy",
             callbacks=("batch_progress_bar",), client=None, store=None, shard_size=None,
             overwrite=False):
    """Evaluate ``network`` as ``compiler.compile(network).evaluate(x, y, ...)`` would,
    with the examples sharded over a Dask cluster. Returns ``(metrics, cb_data)``."""
    check_network(network)
    inputs, size, outputs, metric_objects = prepare_evaluation(x, y, network, metrics)
    # Workers get populations as keys: they compare equal in every copy of the network
    outputs = {underlying_population(k): v for k, v in outputs.items()}
    user_keys = {underlying_population(k): k for k in metric_objects}
    templates = {underlying_population(k): m for k, m in metric_objects.items()}
    result = _Run(network, compiler, inputs, size, "evaluate", callbacks, client, store,
                  shard_size, overwrite, outputs=outputs, metrics=templates).execute()
    return {user_keys[pop]: metric for pop, metric in result.merged_metrics.items()}, result.cb_data


def predict(network, compiler, x, outputs, *, callbacks=("batch_progress_bar",), client=None,
            store=None, shard_size=None, overwrite=False):
    """As ``compiler.compile(network).predict(x, outputs)``, sharded over a Dask
    cluster: ``({output: array}, cb_data)``."""
    check_network(network)
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    check_readouts(outputs)
    inputs, size = prepare_inputs(x, network)
    result = _Run(network, compiler, inputs, size, "predict", callbacks, client, store,
                  shard_size, overwrite,
                  outputs={underlying_population(o): None for o in outputs}).execute()
    predictions = {}
    for output in outputs:
        name = underlying_population(output).name
        parts = [r.predictions[name] for r in result.shard_results]
        predictions[output] = np.concatenate(parts) if parts else \
            np.zeros((0,) + underlying_population(output).shape, np.float32)
    return predictions, result.cb_data


class _Description:
    """Stands in for a compiled network while callbacks are checked on the driver."""

    def __init__(self, network, compiler):
        self.network = network
        self.compiler = compiler
        self.engine = None
        self.example_timesteps = compiler.evaluate_timesteps


class _LayoutRecording(MemoryRecording):
    """Collects what every recorder will write, so the driver can lay out the store."""

    def __init__(self):
        self.layouts = {}

    def sink(self, key, layout):
        self.layouts[key] = layout
        return MemorySink(layout)


class _Run:
    def __init__(self, network, compiler, inputs, size, mode, callbacks, client, store,
                 shard_size, overwrite, outputs, metrics=None):
        self.network = network
        self.compiler = compiler
        self.inputs = inputs
        self.size = size
        self.mode = mode
        self.client = client
        # Workers may run elsewhere: a relative path must not depend on their folder
        self.store = os.path.abspath(store) if isinstance(store, (str, os.PathLike)) else store
        self.shard_size = shard_size
        self.overwrite = overwrite
        self.outputs = outputs
        self.metrics = metrics or {}
        callbacks = resolve_callbacks(callbacks)
        # Progress bars run here, fed by the workers; everything else is a template
        # copied to every shard
        self.bars = [c for c in callbacks if isinstance(c, BatchProgressBar)]
        self.templates = [c for c in callbacks if not isinstance(c, BatchProgressBar)]
        self.layouts = self._check_callbacks(callbacks)
        # What a worker's compiled model is cached under
        self.model_key = fingerprint(network, compiler.options(), compiler.backend)

    def _check_callbacks(self, callbacks):
        """Build the callback list once here (keys, filters, names) so mistakes
        surface before any task is submitted; recorders' layouts come out of it."""
        recording = _LayoutRecording()
        CallbackList(copy.deepcopy(callbacks), compiled_network=_Description(
            self.network, self.compiler), num_batches=1, num_examples=self.size,
            recording=recording)
        return recording.layouts

    def execute(self):
        check_shard_size(self.shard_size)
        run_key = fingerprint(self.network, self.compiler.options(), self.compiler.backend,
                              self.mode, self.templates, self.metrics,
                              {p.name: data_fingerprint(d) for p, d in self.inputs.items()},
                              {p.name: data_fingerprint(d) for p, d in self.outputs.items()})
        # Task keys and the progress topic are this call's own, even for a call
        # identical to one running beside it
        self.run_id = run_key[:8] + uuid.uuid4().hex[:4]
        zarr_run, stored_plan = None, None
        if self.store is not None:
            zarr_run = ZarrRun(self.store, run_key, self.overwrite)
            if zarr_run.same_run and not self.overwrite:
                stored_plan = [tuple(s) for s in zarr_run.existing.get("shards", [])]
                _check_same_plan(stored_plan, self.shard_size, self.store)
        with connect(self.client) as client:
            # A resumed run keeps its store's plan, whatever the cluster's size now
            shards = stored_plan or plan_shards(self.size, self.compiler.batch_size,
                                                self.shard_size, _num_workers(client))
            check_spike_budget(self.inputs, batch_ranges(shards, self.compiler.batch_size))
            finished = {}
            if zarr_run is not None:
                zarr_run.start(self.layouts, resume=True,
                               attrs={"dt": self.compiler.dt, "num_examples": self.size,
                                      "shards": [list(s) for s in shards]})
                finished = zarr_run.finished_shards()
            results = self._run_shards(client, shards, finished)
        self.shard_results = [results[i] for i in range(len(shards))]
        #: {output population: Metric} over every shard (empty for predict)
        self.merged_metrics = merge_metric_states(self.metrics, [r.metric_states
                                                                  for r in self.shard_results])
        self.cb_data = self._merge_callback_data()
        if zarr_run is not None:
            zarr_run.finish([part_name(i) for i in range(len(shards))],
                            {pop.name: m.result for pop, m in self.merged_metrics.items()})
            recorded = open_store(self.store)
            self.cb_data.update({k: recorded[k] for k in self.layouts})
        return self

    def _run_shards(self, client, shards, finished):
        # Unique keys (hash=False): a reused key can be released under a new run
        network, compiler = client.scatter([self.network, self.compiler], broadcast=True,
                                           hash=False)
        batch_size = self.compiler.batch_size
        batches_per_shard = [-(-(stop - start) // batch_size) for start, stop in shards]
        progress = _Progress(self.bars, sum(batches_per_shard), self.metrics)
        try:
            return self._submit_and_collect(client, shards, finished, network, compiler,
                                            batches_per_shard, progress)
        finally:
            progress.close()

    def _submit_and_collect(self, client, shards, finished, network, compiler,
                            batches_per_shard, progress):
        results, futures = {}, {}
        for index in range(len(shards)):
            if part_name(index) in finished:
                results[index] = finished[part_name(index)]
                progress.shard_done(index, batches_per_shard[index], results[index])
        client.subscribe_topic(progress_topic(self.run_id), progress.on_event)
        try:
            with span(f"snnflow-{self.mode}-{self.run_id}"):
                for index, (start, stop) in enumerate(shards):
                    if index in results:
                        continue
                    shard = Shard(self.run_id, index, start, stop, self.size, self.model_key,
                                  self.mode, self.store, part_name(index))
                    # Inside the task, not scattered: scattered data dies with its
                    # worker, and the shard could not be rerun elsewhere
                    inputs = {pop: _shard_of(data, start, stop)
                              for pop, data in self.inputs.items()}
                    outputs = {pop: None if labels is None else labels[start:stop]
                               for pop, labels in self.outputs.items()}
                    future = client.submit(run_shard, shard, network, compiler, inputs,
                                           outputs, self.metrics, self.templates,
                                           key=f"snnflow-shard-{self.run_id}-{index}",
                                           pure=False)
                    futures[future] = index
            for future in as_completed(futures):
                index = futures[future]
                try:
                    results[index] = future.result()
                except BaseException:
                    client.cancel(list(futures))
                    raise
                progress.shard_done(index, batches_per_shard[index], results[index])
        finally:
            client.unsubscribe_topic(progress_topic(self.run_id))
        return results

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
    Fed from the client's event thread and from the driver thread, hence the lock."""

    def __init__(self, bars, num_batches, metrics):
        self.bars = bars
        self.metrics = metrics
        self.done = {}
        self.states = {}
        self.lock = threading.Lock()
        for bar in bars:
            bar.set_params(num_batches=num_batches)
            bar.on_test_begin()

    def _advance(self, shard, batches, states):
        with self.lock:
            # A shard rerun after a lost worker starts again from 0, and events
            # may arrive late: count each batch once, keep the furthest state
            new = batches - self.done.get(shard, 0)
            if new <= 0:
                return
            self.done[shard] = batches
            self.states[shard] = states
            merged = merge_metric_states(self.metrics, list(self.states.values()))
            for bar in self.bars:
                for _ in range(new):
                    bar.on_batch_end(sum(self.done.values()) - 1, merged)

    def on_event(self, event):
        _, message = event
        self._advance(message["shard"], message["batches"], message["states"])

    def shard_done(self, shard, batches, result):
        self._advance(shard, batches, result.metric_states)

    def close(self):
        with self.lock:
            merged = merge_metric_states(self.metrics, list(self.states.values()))
            for bar in self.bars:
                bar.on_test_end(merged)


def _num_workers(client) -> int:
    return len(client.scheduler_info(n_workers=-1)["workers"])


def _check_same_plan(stored_plan, shard_size, store):
    """A resumed run keeps its shards; a shard_size that would cut them otherwise
    is a different configuration."""
    sizes = {stop - start for start, stop in stored_plan[:-1]} or \
        {stop - start for start, stop in stored_plan}
    if shard_size is not None and sizes != {shard_size}:
        raise FileExistsError(f"the store {store!r} holds this run cut into shards of "
                              f"{sorted(sizes)} examples, not {shard_size}; leave shard_size "
                              f"out to resume it, or pass overwrite=True to start again")


def _shard_of(data, start, stop):
    """What travels to the shard: a slice of in-memory data; zarr and dask arrays
    whole, as handles the worker reads its slice from."""
    if hasattr(data, "dask") or is_zarr(data):
        return data
    return data[start:stop]
