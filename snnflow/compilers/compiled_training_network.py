"""CompiledTrainingNetwork: train and train_validate with EventProp, as in mlGeNN."""
from __future__ import annotations

import copy
import heapq

import numpy as np

from ..backends.numpy.event_prop import EventProp
from ..callbacks import BatchProgressBar
from ..utils.callback_list import resolve_callbacks
from ..utils.network import get_underlying_pop
from ..serialisers import get_serialiser
from ..store import open_recording
from .compiled_inference_network import DEFAULT_CALLBACKS, CompiledInferenceNetwork
from .dataset import prepare_evaluation


class TrainingData:
    """x and y checked and held as arrays, so shuffled batches can be gathered."""

    def __init__(self, x, y, network, metrics, losses):
        inputs, self.size, outputs, self.metrics = prepare_evaluation(x, y, network, metrics)
        self.inputs = {pop: list(data) if pop.neuron.input_kind == "spikes" else
                       np.asarray(data, dtype=np.float32).reshape(self.size, pop.num_neurons)
                       for pop, data in inputs.items()}
        self.labels = {}
        for key, labels in outputs.items():
            pop = get_underlying_pop(key)
            if pop not in losses:
                raise ValueError(f"y[{pop.name}]: population has no loss to train")
            losses[pop].check(labels, pop, f"y[{pop.name}]")
            self.labels[pop] = np.asarray(labels)
        missing = [pop.name for pop in losses if pop not in self.labels]
        if missing:
            raise ValueError(f"y has no labels for output population(s) {missing}")
        self.outputs = {key: get_underlying_pop(key) for key in outputs}

    def check_spike_budget(self, batch_size):
        """Shuffling puts any examples together: refuse data whose busiest possible
        batch exceeds a SpikeInput's max_spikes."""
        for pop, trains in self.inputs.items():
            if pop.neuron.input_kind != "spikes":
                continue
            busiest = sum(heapq.nlargest(batch_size, (len(t.spike_times) for t in trains)))
            if busiest > pop.neuron.max_spikes:
                raise ValueError(f"x[{pop.name}]: the {batch_size} examples with most spikes "
                                 f"hold {busiest}, more than SpikeInput max_spikes="
                                 f"{pop.neuron.max_spikes} (a shuffled batch may hold them)")

    def batch(self, examples):
        """({population: inputs}, {population: labels}) of the given examples."""
        inputs = {pop: [data[i] for i in examples] if isinstance(data, list) else data[examples]
                  for pop, data in self.inputs.items()}
        return inputs, {pop: labels[examples] for pop, labels in self.labels.items()}


class CompiledTrainingNetwork(CompiledInferenceNetwork):
    """A network compiled by EventPropCompiler: trains its weights in place, and
    evaluates and predicts with them (as the inference network does)."""

    def __init__(self, network, engine, compiler, losses, name=None):
        super().__init__(network, engine, compiler, name)
        self.losses = losses
        # Schedules change the optimiser's parameters: each compiled network has its own
        self.optimiser = copy.deepcopy(compiler.optimiser)
        self.event_prop = EventProp(engine, losses, compiler.reg_lambda_upper,
                                    compiler.reg_nu_upper)
        self._optimiser_state = {conn: self.optimiser.state(weight.shape)
                                 for conn, weight in self.event_prop.weights().items()}

    def train(self, x, y, num_epochs, start_epoch=0, shuffle=True,
              metrics="sparse_categorical_accuracy", callbacks=DEFAULT_CALLBACKS):
        """Train for ``num_epochs`` epochs on ``x``/``y``; returns ``(metrics,
        cb_data)`` with the metrics of the last epoch."""
        data, callback_list = self._start_training(x, y, num_epochs, metrics, callbacks)
        for epoch in range(start_epoch, start_epoch + num_epochs):
            self._train_epoch(epoch, data, callback_list, shuffle)
            callback_list.call("on_epoch_end", epoch, data.metrics)
        callback_list.call("on_train_end", data.metrics)
        return data.metrics, callback_list.get_data()

    def train_validate(self, x, y, validation_x, validation_y, num_epochs, start_epoch=0,
                       shuffle=True, metrics="sparse_categorical_accuracy",
                       validation_metrics=None, callbacks=DEFAULT_CALLBACKS,
                       validation_callbacks=DEFAULT_CALLBACKS):
        """Train as ``train`` does, evaluating ``validation_x``/``validation_y`` after
        each epoch's training (before on_epoch_end, as Keras does) with their own
        callbacks. Returns ``(metrics, validation_metrics, cb_data,
        validation_cb_data)``, the metrics of the last epoch."""
        validation = TrainingData(validation_x, validation_y, self.network,
                                  validation_metrics or metrics, self.losses)
        validation_list = self._callback_list(resolve_callbacks(validation_callbacks),
                                              self._num_batches(validation.size),
                                              validation.size, open_recording())
        for bar in _progress_bars(validation_list):
            # Shown only while it runs: the epoch's line ends with its results
            bar.description, bar.leave = "validation", False
        data, callback_list = self._start_training(x, y, num_epochs, metrics, callbacks)
        for epoch in range(start_epoch, start_epoch + num_epochs):
            self._train_epoch(epoch, data, callback_list, shuffle)
            self._validate(validation, validation_list)
            for bar in _progress_bars(callback_list):
                bar.show_validation(validation.metrics)
            callback_list.call("on_epoch_end", epoch, data.metrics)
        callback_list.call("on_train_end", data.metrics)
        return (data.metrics, validation.metrics, callback_list.get_data(),
                validation_list.get_data())

    def compute_gradients(self, x, y):
        """``(loss, {Connection: float64 gradient})`` of the batch-mean loss over the
        examples of ``x``/``y`` (at most batch_size), leaving the weights as they are."""
        data = TrainingData(x, y, self.network, None, self.losses)
        if data.size > self.compiler.batch_size:
            raise ValueError(f"compute_gradients takes at most batch_size="
                             f"{self.compiler.batch_size} examples, got {data.size}")
        callback_list = self._callback_list([], 1, data.size, open_recording())
        return self._forward_backward(data, np.arange(data.size), 0, callback_list)

    def save(self, keys, serialiser="numpy"):
        """Save every trained weight under ``keys`` (e.g. ``(epoch,)``); restore them
        into a description with ``network.load(keys, serialiser)``."""
        get_serialiser(serialiser).serialise(
            keys, {conn.name: weight.copy() for conn, weight in self.event_prop.weights().items()})

    def _start_training(self, x, y, num_epochs, metrics, callbacks):
        if isinstance(num_epochs, bool) or not isinstance(num_epochs, int) or num_epochs < 1:
            raise ValueError(f"num_epochs must be an int >= 1, got {num_epochs!r}")
        data = TrainingData(x, y, self.network, metrics, self.losses)
        data.check_spike_budget(self.compiler.batch_size)
        callback_list = self._callback_list(resolve_callbacks(callbacks),
                                            self._num_batches(data.size), data.size,
                                            open_recording())
        callback_list.call("on_train_begin")
        return data, callback_list

    def _train_epoch(self, epoch, data, callback_list, shuffle):
        for metric in data.metrics.values():
            metric.reset()
        callback_list.call("on_epoch_begin", epoch)
        # Seeded by (rng_seed, epoch): training is reproducible, and resumable
        # with start_epoch
        order = (np.random.default_rng([self.compiler.rng_seed, epoch]).permutation(data.size)
                 if shuffle else np.arange(data.size))
        batch_size = self.compiler.batch_size
        weights = self.event_prop.weights()
        for batch, start in enumerate(range(0, data.size, batch_size)):
            _, gradients = self._forward_backward(data, order[start:start + batch_size],
                                                  batch, callback_list)
            for conn, gradient in gradients.items():
                self.optimiser.step(weights[conn], gradient, self._optimiser_state[conn])
            callback_list.end_batch(batch, data.metrics)

    def _forward_backward(self, data, examples, batch, callback_list):
        """Simulate ``examples`` (indices into x) as one batch, score them and return
        the loss and gradients."""
        inputs, labels = data.batch(examples)
        # Recorders see examples by their index in x, whatever the shuffle
        self.batch_examples = examples
        self.engine.start_batch(inputs, examples)
        callback_list.call("on_batch_begin", batch)
        self.event_prop.start_batch()
        self._simulate(callback_list, self.compiler.evaluate_timesteps,
                       self.event_prop.record_step)
        self._update_metrics(data, labels)
        return self.event_prop.gradients(labels)

    def _validate(self, validation, callback_list):
        for metric in validation.metrics.values():
            metric.reset()

        def score(outputs, start, stop):
            self._update_metrics(validation, {pop: labels[start:stop] for pop, labels
                                              in validation.labels.items()})
        self._test(callback_list, self._batches(validation.inputs, validation.size, None),
                   validation.metrics, score)

    def _update_metrics(self, data, labels):
        for key, metric in data.metrics.items():
            pop = data.outputs[key]
            metric.update(labels[pop], self.engine.readout(pop))


def _progress_bars(callback_list) -> list:
    return [c for c in callback_list.callbacks if isinstance(c, BatchProgressBar)]
