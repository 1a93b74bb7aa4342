"""Checking and slicing the x and y dictionaries users pass to evaluate/predict.

Everything here runs before the first timestep, so a mistake costs no simulation.
Arrays are only sliced per batch, never copied whole."""
from __future__ import annotations

import numpy as np

from ..utils.network import get_underlying_pop


def _population(key, network, what):
    pop = get_underlying_pop(key)
    if pop not in network.populations:
        raise ValueError(f"{what} key {pop.name} is not a population of this network")
    return pop


def _check_spike_trains(trains, pop):
    for index, train in enumerate(trains):
        ends = np.asarray(getattr(train, "end_spikes", None))
        times = getattr(train, "spike_times", None)
        if times is None or ends.shape != (pop.num_neurons,):
            raise ValueError(f"x[{pop.name}][{index}] must be PreprocessedSpikes for "
                             f"{pop.num_neurons} neurons (see utils.data.preprocess_spikes), "
                             f"got {train!r:.80}")
        if ends[-1] != len(times) or np.any(np.diff(ends) < 0) or ends[0] < 0:
            raise ValueError(f"x[{pop.name}][{index}]: end_spikes must be non-decreasing "
                             f"and end at the number of spike times ({len(times)})")


def check_input(key, data, network):
    """``data`` for input population ``key``, its shape checked for the model."""
    pop = _population(key, network, "x")
    kind = pop.neuron.input_kind
    if kind is None:
        raise ValueError(f"x[{pop.name}]: {type(pop.neuron).__name__} is not an input "
                         f"neuron model (use e.g. IntegrateFireInput or SpikeInput)")
    if kind == "spikes":
        _check_spike_trains(data, pop)
    else:
        shape = np.shape(data)
        frames = _frames(pop)
        if frames == 1 and shape[1:] not in (pop.shape, (pop.num_neurons,)):
            raise ValueError(f"x[{pop.name}] has shape {shape}, expected "
                             f"(examples, *{pop.shape})")
        if frames > 1 and shape[1:] not in ((frames,) + pop.shape, (frames, pop.num_neurons)):
            raise ValueError(f"x[{pop.name}] has shape {shape}, expected (examples, "
                             f"input_frames={frames}, *{pop.shape})")
    return data


def _frames(pop) -> int:
    return getattr(pop.neuron, "input_frames", 1)


def prepare_inputs(x, network) -> tuple[dict, int]:
    """{population: data} with every input population present and shapes checked."""
    if not isinstance(x, dict) or not x:
        raise TypeError(f"x must be a non-empty dict {{input population: data}}, got {x!r:.80}")
    inputs = {get_underlying_pop(key): check_input(key, data, network)
              for key, data in x.items()}
    missing = [p.name for p in network.populations
               if p.neuron.input_kind is not None and p not in inputs]
    if missing:
        raise ValueError(f"x has no data for input population(s) {missing}")
    return inputs, common_size(inputs, "x")


def prepare_outputs(y, network, metrics_for) -> dict:
    """{population: labels}; each must be a readout population whose labels the
    metric can score."""
    if not isinstance(y, dict) or not y:
        raise TypeError(f"y must be a non-empty dict {{output population: labels}}, "
                        f"got {y!r:.80}")
    outputs = {}
    for key, labels in y.items():
        pop = _population(key, network, "y")
        if pop.neuron.readout is None:
            raise ValueError(f"y[{pop.name}]: population has no readout; give its neuron "
                             f"model readout='spike_count' (or another readout)")
        outputs[key] = labels
    metrics = metrics_for(list(outputs))
    for key, metric in metrics.items():
        pop = get_underlying_pop(key)
        metric.check(outputs[key], pop, f"y[{pop.name}]")
    return outputs, metrics


def prepare_evaluation(x, y, network, metrics):
    """Checked inputs, their size, outputs and fresh metrics for an evaluation
    (none for ``metrics=None``)."""
    from ..metrics import get_metrics
    inputs, size = prepare_inputs(x, network)
    outputs, metric_objects = prepare_outputs(
        y, network, lambda outs: {} if metrics is None else get_metrics(metrics, outs))
    labels = num_examples(next(iter(outputs.values())))
    if labels != size:
        raise ValueError(f"x has {size} examples but y has {labels}")
    return inputs, size, outputs, metric_objects


def check_readouts(outputs):
    """Predictions are readouts: every output needs one."""
    for output in outputs:
        pop = get_underlying_pop(output)
        if pop.neuron.readout is None:
            raise ValueError(f"predict output {pop.name} has no readout")


def num_examples(data) -> int:
    """Examples in one entry of x or y: an array (numpy, zarr, dask) or a list."""
    return data.shape[0] if hasattr(data, "shape") else len(data)


def common_size(data: dict, what: str) -> int:
    sizes = {getattr(k, "name", k): num_examples(v) for k, v in data.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"{what} entries differ in number of examples: {sizes}")
    return next(iter(sizes.values()))


def batches_of(size, batch_size):
    """(start, stop) of each batch of a run of ``size`` examples."""
    return [(start, min(start + batch_size, size)) for start in range(0, size, batch_size)]


def check_spike_budget(inputs, batches):
    """GeNN sizes a SpikeInput's buffer for one batch: refuse a batch that needs more.
    ``batches`` are the (start, stop) example ranges the run will simulate together."""
    for pop, trains in inputs.items():
        if pop.neuron.input_kind != "spikes":
            continue
        counts = np.array([len(t.spike_times) for t in trains])
        for start, stop in batches:
            total = int(counts[start:stop].sum())
            if total > pop.neuron.max_spikes:
                raise ValueError(f"x[{pop.name}]: batch of examples {start}..{stop - 1} has "
                                 f"{total} spikes, more than SpikeInput max_spikes="
                                 f"{pop.neuron.max_spikes}")


def batch_slice(data, start, stop, pop):
    """One batch of one population's data, as the engine takes it."""
    if pop.neuron.input_kind == "spikes":
        return list(data[start:stop])
    frames = _frames(pop)
    shape = (stop - start, pop.num_neurons) if frames == 1 else \
        (stop - start, frames, pop.num_neurons)
    return np.asarray(data[start:stop], dtype=np.float32).reshape(shape)
