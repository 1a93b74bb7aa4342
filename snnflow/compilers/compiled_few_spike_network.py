"""CompiledFewSpikeNetwork: evaluate and predict through a few-spike pipeline."""
from __future__ import annotations

import itertools
from collections import deque

import numpy as np

from ..utils.network import get_underlying_pop
from .compiled_inference_network import CompiledInferenceNetwork
from .dataset import batch_slice

#: What the inference loop simulates after the last batch to drain the pipeline:
#: a presentation of zero input for no examples
DRAIN = (None, 0, 0, None, 0)


class CompiledFewSpikeNetwork(CompiledInferenceNetwork):
    """A few-spike network built by FewSpikeCompiler (mlGeNN's
    CompiledFewSpikeNetwork), with CompiledInferenceNetwork's evaluate, predict and
    evaluate_batch_iter, callbacks and recording.

    Every batch is one presentation of ``k`` timesteps, padded to batch_size with
    zeros. An output at depth d (``pop_pipeline_depth``) is read at the end of the
    presentation d batches after its examples went in, so a run simulates as many
    extra presentations of zero input as the deepest output needs. Recorders see,
    in each presentation, the examples presented to the inputs then (none in the
    extra ones); a population at depth d is meanwhile working on the examples
    presented d batches before. The ``var`` readout of a FewSpikeRelu output is
    its decoded value ``Fx``."""

    def __init__(self, network, engine, compiler, name, pop_pipeline_depth, inputs):
        # Callbacks see the batch's examples; the pipeline runs every slot
        self.pipeline_engine = engine
        super().__init__(network, PresentedExamples(engine), compiler, name)
        self.k = compiler.k
        self.pop_pipeline_depth = pop_pipeline_depth
        self.inputs = inputs
        self.drain_batches = max((d for p, d in pop_pipeline_depth.items()
                                  if p.neuron.readout is not None), default=0)

    def get_readout(self, outputs):
        """The decoded value ``Fx`` of each of ``outputs`` (a list gives a list) for
        every slot of the batch: float32 (batch_size, *population shape)."""
        if isinstance(outputs, (list, tuple)):
            return [self.get_readout(o) for o in outputs]
        pop = get_underlying_pop(outputs)
        if pop.neuron.readout is None:
            raise ValueError(f"get_readout: population {pop.name} has no readout")
        return self._readout(pop, self.compiler.batch_size)

    def predict_examples(self, inputs, outputs, size, callbacks, recording, first_example=0,
                         num_examples=None):
        predictions = {o: [] for o in outputs}

        def collect(output, batch_outputs, start, stop):
            predictions[output].append(self._readout(get_underlying_pop(output), stop - start))
        _, cb_data = self._run(self._batches(inputs, size, {}, first_example),
                               self._num_batches(size), num_examples or size, {}, callbacks,
                               recording, self._pipelined(outputs, collect))
        return ({o: np.concatenate(p) if p else
                 np.zeros((0,) + get_underlying_pop(o).shape, np.float32)
                 for o, p in predictions.items()}, cb_data)

    def _score(self, metric_objects):
        def score(output, batch_outputs, start, stop):
            metric_objects[output].update(np.asarray(batch_outputs[output][start:stop]),
                                          self._readout(get_underlying_pop(output),
                                                        stop - start))
        return self._pipelined(list(metric_objects), score)

    def _pipelined(self, outputs, read):
        """The loop's after-batch step: ``read(output, batch outputs, start, stop)``
        for each output whose result for an earlier batch comes out now."""
        presented = deque(maxlen=self.drain_batches + 1)

        def after_batch(batch_outputs, start, stop):
            presented.appendleft(None if batch_outputs is None else (batch_outputs, start, stop))
            for output in outputs:
                depth = self.pop_pipeline_depth[get_underlying_pop(output)]
                if depth < len(presented) and presented[depth] is not None:
                    read(output, *presented[depth])
        return after_batch

    def _run(self, batches, num_batches, num_examples, metric_objects, callbacks, recording,
             after_batch):
        drained = itertools.chain(batches, itertools.repeat(DRAIN, self.drain_batches))
        if num_batches is not None:
            num_batches += self.drain_batches
        return super()._run(drained, num_batches, num_examples, metric_objects, callbacks,
                            recording, after_batch)

    def _start_batch(self, inputs, start, stop, first_example=0):
        """Present examples [start, stop) of ``inputs`` (None: zero input, no
        examples), padded with zeros to batch_size; the state runs on."""
        batch_size = self.compiler.batch_size
        if inputs is None:
            self.batch_examples = np.zeros(0, dtype=np.int64)
            batch = {pop: np.zeros((batch_size, pop.num_neurons), np.float32)
                     for pop in self.inputs}
        else:
            self.batch_examples = np.arange(start, stop, dtype=np.int64) + first_example
            batch = {}
            for pop, data in inputs.items():
                values = np.zeros((batch_size, pop.num_neurons), np.float32)
                values[:stop - start] = batch_slice(data, start, stop, pop)
                batch[pop] = values
        self.engine.examples = len(self.batch_examples)
        self.pipeline_engine.start_batch(batch, np.arange(batch_size, dtype=np.int64))

    def _readout(self, pop, count):
        """The decoded value Fx of the first ``count`` slots."""
        return self.pipeline_engine.get_var(pop, "fx")[:count].reshape(
            (count,) + pop.shape).copy()


class PresentedExamples:
    """The pipeline's engine as callbacks see it: the slots of the examples presented
    in the batch running, not the padding (nor any slot while the pipeline drains)."""

    def __init__(self, engine):
        self._engine = engine
        self.examples = 0

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def spikes(self, pop):
        return self._engine.spikes(pop)[:self.examples]

    def batch_spikes(self, pop):
        timesteps, ids, counts = self._engine.batch_spikes(pop)
        kept = int(counts[:self.examples].sum())
        return timesteps[:kept], ids[:kept], counts[:self.examples]

    def get_var(self, pop, name):
        return self._engine.get_var(pop, name)[:self.examples]

    def get_value(self, pop, name):
        return self._engine.get_value(pop, name)[:self.examples]

    def readout(self, pop):
        return self._engine.readout(pop)[:self.examples]
