"""CompiledInferenceNetwork: evaluate and predict, as in mlGeNN."""
from __future__ import annotations

import math

import numpy as np

from ..utils.callback_list import resolve_callbacks
from ..utils.network import get_underlying_pop
from ..metrics import get_metrics
from ..store import metric_names, open_recording
from .compiled_network import CompiledNetwork
from .dataset import (batches_of, check_readouts, check_spike_budget, prepare_evaluation,
                      prepare_inputs, prepare_outputs)

DEFAULT_CALLBACKS = ("batch_progress_bar",)


class CompiledInferenceNetwork(CompiledNetwork):
    def evaluate(self, x: dict, y: dict, metrics="sparse_categorical_accuracy",
                 callbacks=DEFAULT_CALLBACKS, store=None, overwrite=False,
                 storage_options=None):
        """Run every example of ``x`` and score the readouts against ``y``.

        Returns ``(metrics, cb_data)``: {output: Metric} (``.result`` is the value)
        and {callback key: recorded data}. With ``store`` (a path, an object store's
        URL such as ``"s3://bucket/run.zarr"`` with fsspec's ``storage_options``, or
        a zarr store) recorders stream into it and cb_data holds lazy sequences read
        from it."""
        inputs, size, outputs, metric_objects = prepare_evaluation(x, y, self.network, metrics)
        check_spike_budget(inputs, batches_of(size, self.compiler.batch_size))
        callbacks = resolve_callbacks(callbacks)
        recording = self._open_recording(callbacks, inputs, size, store, overwrite,
                                         storage_options)
        return self.evaluate_examples(inputs, outputs, size, metric_objects, callbacks,
                                      recording)

    def evaluate_batch(self, x: dict, y: dict, metrics="sparse_categorical_accuracy",
                       callbacks=()):
        """Evaluate one batch of at most batch_size examples, as mlGeNN's
        evaluate_batch (no progress bar unless given): ``(metrics, cb_data)``."""
        _, size = prepare_inputs(x, self.network)
        if size > self.compiler.batch_size:
            raise ValueError(f"evaluate_batch: x holds {size} examples, more than "
                             f"batch_size={self.compiler.batch_size}; use evaluate")
        return self.evaluate(x, y, metrics, list(callbacks))

    def evaluate_batch_iter(self, inputs, outputs, data, num_batches=None,
                            metrics="sparse_categorical_accuracy", callbacks=DEFAULT_CALLBACKS):
        """Evaluate batches drawn from ``data``, an iterable of ``(x, y)`` pairs
        (dicts {population: batch data}, sequences in ``inputs``/``outputs`` order,
        or single arrays), each of at most batch_size examples."""
        inputs = _as_list(inputs)
        outputs = _as_list(outputs)
        metric_objects = get_metrics(metrics, outputs)

        def batches():
            first = 0
            for x_batch, y_batch in data:
                batch_inputs, size = prepare_inputs(_keyed(x_batch, inputs), self.network)
                if size > self.compiler.batch_size:
                    raise ValueError(f"a batch from data holds {size} examples, more than "
                                     f"batch_size={self.compiler.batch_size}")
                batch_outputs, _ = prepare_outputs(_keyed(y_batch, outputs), self.network,
                                                   lambda outs: metric_objects)
                yield batch_inputs, 0, size, batch_outputs, first
                first += size
        return self._run(batches(), num_batches, None, metric_objects, callbacks,
                         open_recording(), self._score(metric_objects))

    def predict(self, x: dict, outputs, callbacks=DEFAULT_CALLBACKS, store=None,
                overwrite=False, storage_options=None):
        """Readouts of ``outputs`` for every example: ``({output: array}, cb_data)``
        with arrays of shape (examples, *population shape). ``store`` and
        ``storage_options`` as for ``evaluate``."""
        outputs = _as_list(outputs)
        check_readouts(outputs)
        inputs, size = prepare_inputs(x, self.network)
        check_spike_budget(inputs, batches_of(size, self.compiler.batch_size))
        callbacks = resolve_callbacks(callbacks)
        recording = self._open_recording(callbacks, inputs, size, store, overwrite,
                                         storage_options)
        return self.predict_examples(inputs, outputs, size, callbacks, recording)

    def evaluate_examples(self, inputs, outputs, size, metric_objects, callbacks, recording,
                          first_example=0, num_examples=None):
        """Evaluate checked ``inputs``/``outputs`` of ``size`` examples whose global
        indices start at ``first_example`` (of ``num_examples`` in the whole run)."""
        return self._run(self._batches(inputs, size, outputs, first_example),
                         self._num_batches(size), num_examples or size, metric_objects,
                         callbacks, recording, self._score(metric_objects))

    def predict_examples(self, inputs, outputs, size, callbacks, recording, first_example=0,
                         num_examples=None):
        """Predict checked ``inputs`` (see evaluate_examples): ({output: array}, cb_data)."""
        predictions = {o: [] for o in outputs}

        def collect(batch_outputs, start, stop):
            for output in outputs:
                predictions[output].append(self.engine.readout(get_underlying_pop(output)))
        _, cb_data = self._run(self._batches(inputs, size, {}, first_example),
                               self._num_batches(size), num_examples or size, {}, callbacks,
                               recording, collect)
        return ({o: np.concatenate(p) if p else
                 np.zeros((0,) + get_underlying_pop(o).shape, np.float32)
                 for o, p in predictions.items()}, cb_data)

    def _num_batches(self, size):
        return math.ceil(size / self.compiler.batch_size)

    def _batches(self, inputs, size, outputs, first_example=0):
        batch_size = self.compiler.batch_size
        for start in range(0, size, batch_size):
            yield inputs, start, min(start + batch_size, size), outputs, first_example

    def _score(self, metric_objects):
        def score(outputs, start, stop):
            for output, metric in metric_objects.items():
                metric.update(np.asarray(outputs[output][start:stop]),
                              self.engine.readout(get_underlying_pop(output)))
        return score

    def _run(self, batches, num_batches, num_examples, metric_objects, callbacks, recording,
             after_batch):
        """The inference loop shared by evaluate and predict."""
        callback_list = self._callback_list(callbacks, num_batches, num_examples, recording)
        recording.start()
        try:
            self._test(callback_list, batches, metric_objects, after_batch)
        except BaseException:
            # The recording stays unfinished; its writer must not outlive the run
            recording.abort()
            raise
        recording.close({k.name: m.result for k, m in metric_objects.items()},
                        metric_names({get_underlying_pop(k): m
                                      for k, m in metric_objects.items()}))
        return metric_objects, callback_list.get_data()

    def _test(self, callback_list, batches, metric_objects, after_batch):
        """Simulate ``batches`` between on_test_begin and on_test_end."""
        callback_list.call("on_test_begin")
        for batch, (inputs, start, stop, outputs, first) in enumerate(batches):
            self._start_batch(inputs, start, stop, first)
            callback_list.call("on_batch_begin", batch)
            self._simulate(callback_list, self.compiler.evaluate_timesteps)
            after_batch(outputs, start, stop)
            callback_list.end_batch(batch, metric_objects)
        callback_list.call("on_test_end", metric_objects)


def _as_list(populations):
    if isinstance(populations, (list, tuple)):
        return list(populations)
    return [populations]


def _keyed(batch, keys):
    """Batch data given as a dict, a sequence in ``keys`` order, or one array."""
    if isinstance(batch, dict):
        return batch
    if len(keys) == 1 and not isinstance(batch, (list, tuple)):
        return {keys[0]: batch}
    return dict(zip(keys, batch, strict=True))
