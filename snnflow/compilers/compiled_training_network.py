"""CompiledTrainingNetwork: train and train_validate with EventProp, as in mlGeNN."""
from __future__ import annotations

import copy
import hashlib
import heapq

import numpy as np

from ..backends.numpy.event_prop import EventProp
from ..callbacks import BatchProgressBar
from ..losses import MeanSquareError
from ..network import DELAY_SUFFIX
from ..readouts import Var
from ..utils.data import split_dataset
from ..utils.callback_list import resolve_callbacks
from ..utils.network import get_underlying_pop
from ..serialisers import get_serialiser
from ..store import open_recording
from .compiled_inference_network import DEFAULT_CALLBACKS, CompiledInferenceNetwork
from .dataset import prepare_evaluation

DEFAULT_METRIC = "sparse_categorical_accuracy"


class TrainingData:
    """x and y checked and held as arrays, so shuffled batches can be gathered.

    A mean_square_error output with a ``var`` readout may have a target trace per
    example, (examples, timesteps, neurons): each step is trained on its own
    target, and its metric compares the final V with the final target."""

    def __init__(self, x, y, network, metrics, losses, timesteps=None):
        y, per_step = _per_step_targets(y, losses, timesteps)
        if metrics == DEFAULT_METRIC and per_step:
            # Accuracy means nothing against voltage traces: score them as mlGeNN's
            # users read them, by their squared error
            metrics = {key: "mean_square_error" if get_underlying_pop(key) in per_step
                       else DEFAULT_METRIC for key in y}
        metric_y = {key: labels[:, -1] if get_underlying_pop(key) in per_step else labels
                    for key, labels in y.items()}
        inputs, self.size, outputs, self.metrics = prepare_evaluation(x, metric_y, network,
                                                                      metrics)
        outputs = {key: y[key] for key in outputs}
        self.per_step = per_step
        self.inputs = {pop: list(data) if pop.neuron.input_kind == "spikes" else
                       np.asarray(data, dtype=np.float32).reshape(self.size, pop.num_neurons)
                       for pop, data in inputs.items()}
        self.labels = {}
        for key, labels in outputs.items():
            pop = get_underlying_pop(key)
            if pop not in losses:
                raise ValueError(f"y[{pop.name}]: population has no loss to train")
            losses[pop].check(labels[:, -1] if pop in per_step else labels, pop,
                              f"y[{pop.name}]")
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

    def metric_labels(self, labels):
        """Per-step targets reduced to the final step's, which metrics score."""
        return {pop: values[:, -1] if pop in self.per_step else values
                for pop, values in labels.items()}

    def batch(self, examples):
        """({population: inputs}, {population: labels}) of the given examples."""
        inputs = {pop: [data[i] for i in examples] if isinstance(data, list) else data[examples]
                  for pop, data in self.inputs.items()}
        return inputs, {pop: labels[examples] for pop, labels in self.labels.items()}


def _per_step_targets(y, losses, timesteps):
    """(y with per-step target traces as float32 arrays, the populations that have
    them); a trace of the wrong length is refused."""
    if not isinstance(y, dict):
        return y, set()
    converted, per_step = {}, set()
    for key, labels in y.items():
        pop = get_underlying_pop(key)
        loss = losses.get(pop)
        if (isinstance(loss, MeanSquareError) and isinstance(pop.neuron.readout, Var)
                and timesteps is not None and np.ndim(labels[0]) >= 2):
            traces = np.asarray(labels, dtype=np.float32)
            expected = (timesteps, pop.num_neurons)
            if traces.shape[1:] != expected:
                raise ValueError(f"y[{pop.name}]: per-timestep targets have shape "
                                 f"{traces.shape[1:]} per example, expected "
                                 f"(example_timesteps, neurons) = {expected}")
            converted[key] = traces
            per_step.add(pop)
        else:
            converted[key] = labels
    return converted, per_step


class TrainedVariable:
    """One trained variable of a connection, shown as pygenn shows it to mlGeNN's
    scripts: ``pull_from_device`` copies what the engine uses into ``view`` (a
    flat float32 array: a Dense matrix row by row, sparse synapses in CSR order,
    a convolution's kernel, as ``weights()`` holds them); ``push_to_device``
    makes the engine use ``view``'s values from the next batch on."""

    def __init__(self, read, write):
        self._read, self._write = read, write
        self.view = np.array(read(), dtype=np.float32).reshape(-1)

    @property
    def values(self) -> np.ndarray:
        return self.view

    def pull_from_device(self):
        self.view[...] = self._read().reshape(-1)

    def push_to_device(self):
        self._write(self.view)


class TrainedConnection:
    """mlGeNN's ``connection_populations[conn]``, as far as snnflow has it:
    ``vars`` holds "g" (the weights) and, where delays are learnt, "d"."""

    def __init__(self, variables):
        self.vars = variables


class CompiledTrainingNetwork(CompiledInferenceNetwork):
    """A network compiled by EventPropCompiler: trains its weights in place, and
    evaluates and predicts with them (as the inference network does)."""

    def __init__(self, network, engine, compiler, losses, name=None):
        super().__init__(network, engine, compiler, name)
        self.losses = losses
        # Schedules change the optimiser's parameters: each compiled network has its own
        self.optimiser = copy.deepcopy(compiler.optimiser)
        self.communicator = compiler.communicator
        reg_lambdas = {pop: compiler.reg_lambdas(pop) for pop in network.populations
                       if pop.neuron.input_kind is None and pop.neuron.readout is None}
        self.event_prop = EventProp(engine, losses, reg_lambdas, compiler.reg_nu_upper,
                                    compiler.max_spikes, compiler.per_timestep_loss,
                                    self._reduce_sum,
                                    {conn: conn.max_delay_steps
                                     for conn in compiler.delay_learn_conns})
        self._optimiser_state = {conn: self.optimiser.state(weight.shape)
                                 for conn, weight in self.event_prop.weights().items()}
        # As mlGeNN's: without a delay optimiser, delays share the weights' one
        self.delay_optimiser = (self.optimiser if compiler.delay_optimiser is None
                                else copy.deepcopy(compiler.delay_optimiser))
        self._delay_optimiser_state = {
            conn: self.delay_optimiser.state(delays.shape)
            for conn, delays in self.event_prop.delays().items()}
        if self.communicator is not None:
            self._agree_across_ranks()

    @property
    def optimisers(self) -> list:
        """[(optimiser, [trained weight arrays])], then (delay optimiser, [learnt
        delay arrays]) where delays are learnt, as mlGeNN's (callbacks change the
        optimisers' parameters through it). The weight arrays are the engine's: take
        them again after a batch that learnt delays (the engine rebuilds them)."""
        optimisers = [(self.optimiser, list(self.event_prop.weights().values()))]
        delays = self.event_prop.delays()
        if delays:
            optimisers.append((self.delay_optimiser, list(delays.values())))
        return optimisers

    @property
    def connection_populations(self) -> dict:
        """{Connection: TrainedConnection}: the trained weights ("g") and learnt
        delays ("d") through pygenn's ``vars[name].pull_from_device()``, ``.view``
        and ``.push_to_device()``, for mlGeNN scripts that change them between
        epochs. GeNN's other variables have no equivalent here."""
        def variable(arrays, conn):
            def write(values):
                target = arrays()[conn]
                target[...] = values.reshape(target.shape)
                self.event_prop.sync()
            return TrainedVariable(lambda: arrays()[conn], write)

        delays = self.event_prop.delays()
        return {conn: TrainedConnection(
                    {"g": variable(self.event_prop.weights, conn),
                     **({"d": variable(self.event_prop.delays, conn)} if conn in delays
                        else {})})
                for conn in self.event_prop.weights()}

    def _reduce_sum(self, value):
        return value if self.communicator is None else self.communicator.reduce_sum(value)

    def _agree_across_ranks(self):
        """Every rank must build the same network and start from the same weights:
        refuse a mismatch, then take rank 0's weights."""
        comm = self.communicator
        description = repr([(p.name, p.shape, repr(p.neuron)) for p in self.network.populations]
                           + [(c.name, c.source.name, c.target.name, w.shape)
                              for c, w in self.event_prop.weights().items()]
                           + [self.compiler.full_batch_size, self.compiler.evaluate_timesteps,
                              self.compiler.dt, repr(self.optimiser)])
        mine = hashlib.sha256(description.encode()).hexdigest()
        digests = comm.all_gather(mine)
        differing = [rank for rank, digest in enumerate(digests) if digest != digests[0]]
        if differing:
            raise ValueError(f"communicator: rank(s) {differing} built a different network "
                             f"or compiler than rank 0 (populations, connections, batch "
                             f"size, timesteps, dt or optimiser differ); every rank must "
                             f"run the same script")
        for weight in self.event_prop.weights().values():
            comm.broadcast(weight, 0)
        for delays in self.event_prop.delays().values():
            comm.broadcast(delays, 0)
        self.event_prop.sync()

    def train(self, x, y, num_epochs, start_epoch=0, shuffle=True,
              metrics="sparse_categorical_accuracy", callbacks=DEFAULT_CALLBACKS,
              validation_callbacks=DEFAULT_CALLBACKS, validation_split=0.0,
              validation_x=None, validation_y=None):
        """Train for ``num_epochs`` epochs on ``x``/``y``; returns ``(metrics,
        cb_data)`` with the metrics of the last epoch. As mlGeNN's: with
        ``validation_x``/``validation_y``, or ``validation_split`` (the last such
        fraction of x and y, held out), it validates after every epoch as
        ``train_validate`` does and returns ``(metrics, validation_metrics,
        cb_data, validation_cb_data)``."""
        if isinstance(validation_split, bool) or \
                not isinstance(validation_split, (int, float)) or \
                not 0.0 <= validation_split < 1.0:
            raise ValueError(f"validation_split must be a number in [0, 1), got "
                             f"{validation_split!r}")
        if validation_split:
            if validation_x is not None or validation_y is not None:
                raise ValueError("give validation_split or validation_x/validation_y, "
                                 "not both")
            x, validation_x = split_dataset(x, validation_split)
            y, validation_y = split_dataset(y, validation_split)
        if (validation_x is None) != (validation_y is None):
            raise ValueError("validation_x and validation_y go together: got only "
                             + ("validation_x" if validation_y is None else "validation_y"))
        if validation_x is not None:
            return self.train_validate(x, y, validation_x, validation_y, num_epochs,
                                       start_epoch, shuffle, metrics, None, callbacks,
                                       validation_callbacks)
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
                                  validation_metrics or metrics, self.losses,
                                  self.compiler.evaluate_timesteps)
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

    def compute_gradients(self, x, y, delays=False):
        """``(loss, {Connection: float64 gradient})`` of the batch-mean loss over the
        examples of ``x``/``y`` (at most batch_size), leaving the weights as they are;
        with ``delays=True``, ``(loss, weight gradients, {Connection: float64
        dL/d delay in steps})`` for the connections that learn delays."""
        data = TrainingData(x, y, self.network, None, self.losses,
                            self.compiler.evaluate_timesteps)
        if data.size > self.compiler.batch_size:
            raise ValueError(f"compute_gradients takes at most batch_size="
                             f"{self.compiler.batch_size} examples, got {data.size}")
        callback_list = self._callback_list([], 1, data.size, open_recording())
        loss, gradients, delay_gradients = self._forward_backward(
            data, np.arange(data.size), 0, callback_list)
        return (loss, gradients, delay_gradients) if delays else (loss, gradients)

    def save(self, keys, serialiser="numpy"):
        """Save every trained weight under ``keys`` (e.g. ``(epoch,)``), and the learnt
        delays (in steps, unrounded) as ``"<connection name>:delay"``; restore them
        into a description with ``network.load(keys, serialiser)``."""
        arrays = {conn.name: weight.copy() for conn, weight in self.event_prop.weights().items()}
        for conn, delays in self.event_prop.delays().items():
            name = conn.name + DELAY_SUFFIX
            if name in arrays:
                raise ValueError(f"cannot save: connection {name!r} and the learnt delays of "
                                 f"connection {conn.name!r} would share a name; rename one")
            arrays[name] = delays.copy()
        get_serialiser(serialiser).serialise(keys, arrays)

    def _start_training(self, x, y, num_epochs, metrics, callbacks):
        if isinstance(num_epochs, bool) or not isinstance(num_epochs, int) or num_epochs < 1:
            raise ValueError(f"num_epochs must be an int >= 1, got {num_epochs!r}")
        data = TrainingData(x, y, self.network, metrics, self.losses,
                            self.compiler.evaluate_timesteps)
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
        num_batches = -(-data.size // batch_size)
        if self.communicator is not None:
            # Ranks may hold different numbers of examples: all step together, a
            # rank out of examples contributing nothing to a batch
            num_batches = max(self.communicator.all_gather(num_batches))
        for batch in range(num_batches):
            examples = order[batch * batch_size:(batch + 1) * batch_size]
            # Taken again every batch: learning delays rebuilds the engine's arrays
            weights, delays = self.event_prop.weights(), self.event_prop.delays()
            if len(examples):
                _, gradients, delay_gradients = self._forward_backward(
                    data, examples, batch, callback_list)
            else:
                gradients = {conn: np.zeros(w.shape) for conn, w in weights.items()}
                delay_gradients = {conn: np.zeros(d.shape) for conn, d in delays.items()}
            if self.communicator is not None:
                gradients = {conn: self._reduce_sum(g) for conn, g in gradients.items()}
                delay_gradients = {conn: self._reduce_sum(g)
                                   for conn, g in delay_gradients.items()}
            for conn, gradient in gradients.items():
                self.optimiser.step(weights[conn], gradient, self._optimiser_state[conn])
            for conn, gradient in delay_gradients.items():
                self.delay_optimiser.step(delays[conn], gradient,
                                          self._delay_optimiser_state[conn])
            self.event_prop.sync()
            if len(examples):
                callback_list.end_batch(batch, data.metrics)
        if self.communicator is not None:
            for metric in data.metrics.values():
                metric.state = {k: self._reduce_sum(v) for k, v in metric.state.items()}

    def _forward_backward(self, data, examples, batch, callback_list):
        """Simulate ``examples`` (indices into x) as one batch, score them and return
        the loss, weight gradients and delay gradients."""
        inputs, labels = data.batch(examples)
        # Recorders see examples by their index in x, whatever the shuffle
        self.batch_examples = examples
        self.engine.start_batch(inputs, examples)
        callback_list.call("on_batch_begin", batch)
        self.event_prop.start_batch()
        self._simulate(callback_list, self.compiler.evaluate_timesteps,
                       self.event_prop.record_step)
        self.event_prop.check_spike_budget()
        self._update_metrics(data, data.metric_labels(labels))
        if self.communicator is None:
            return self.event_prop.gradients(labels)
        # Each rank's share of the whole batch's mean
        total = self._reduce_sum(len(examples))
        return self.event_prop.gradients(labels, len(examples) / total, total)

    def _validate(self, validation, callback_list):
        for metric in validation.metrics.values():
            metric.reset()

        def score(outputs, start, stop):
            self._update_metrics(validation, validation.metric_labels(
                {pop: labels[start:stop] for pop, labels in validation.labels.items()}))
        self._test(callback_list, self._batches(validation.inputs, validation.size, None),
                   validation.metrics, score)

    def _update_metrics(self, data, labels):
        for key, metric in data.metrics.items():
            pop = data.outputs[key]
            metric.update(labels[pop], self.engine.readout(pop))


def _progress_bars(callback_list) -> list:
    return [c for c in callback_list.callbacks if isinstance(c, BatchProgressBar)]
