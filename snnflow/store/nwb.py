"""Export a finished run's store to NWB (Neurodata Without Borders), with pynwb.

What goes where (times in seconds, NWB's unit; the store counts timesteps of
``dt`` ms):

- example k occupies the trial [k*T*dt, (k+1)*T*dt) (T timesteps per example), so
  every recorded time is global: (k*T + timestep)*dt;
- trials: one per example, with the column ``example`` (its index) and, where the
  store holds predictions (runs of ``predict``), ``prediction_<population>``, the
  index of the largest output. The store keeps no labels: there is no label column;
- units: one per recorded neuron of each spike key, with its spike times and the
  columns ``key``, ``population`` and ``neuron`` (its index in the population);
- spike counts (``record_counts``) and variables: one TimeSeries each in the
  acquisition group, named after the key, data (time, neuron) flattened to 2-D;
- the run's metrics and what the store does not say go in the file's notes."""
from __future__ import annotations

import datetime
import json
import math

import numpy as np

from .keys import decode_key, is_key_group
from .zarr_reader import describe_store, key_reader, open_root, open_store, store_object


def _pynwb():
    try:
        import pynwb
    except ImportError:
        raise ImportError("snnflow export nwb needs pynwb: pip install 'snnflow[nwb]'") from None
    return pynwb


def _timesteps_per_example(info, groups) -> tuple:
    """(T, how it was found): stored by snnflow since the NWB export, else the
    latest timestep any key recorded, plus one (a lower bound)."""
    if "timesteps" in info:
        return int(info["timesteps"]), None
    latest = 0
    for group in groups.values():
        latest = max([latest] + [t + 1 for t in group.attrs.get("timesteps", [])])
    return latest, ("the store does not say how many timesteps an example has; trials "
                    f"are {latest} timesteps long, the latest recorded timestep plus one")


def export_nwb(store, output, name=None, storage_options=None) -> str:
    """Write the finished run in ``store`` as the NWB file ``output``; returns a
    one-line summary."""
    pynwb = _pynwb()
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    name = name or describe_store(store)
    zarr_store = store_object(store, storage_options)
    recorded = open_store(zarr_store, name=name)     # ValueError if the run did not finish
    root = open_root(zarr_store, "r")
    info = root.attrs["snnflow"]
    layout = info.get("layout", 1)
    groups = {decode_key(key, layout): group for key, group in root.groups()
              if is_key_group(key, layout)}
    dt = float(info.get("dt", 1.0))
    steps, guessed = _timesteps_per_example(info, groups)
    seconds = dt / 1000.0
    num_examples = int(info.get("num_examples", 0))
    notes = [f"exported by snnflow from {name}; dt = {dt} ms, {steps} timesteps per "
             f"example; example k is the trial [k*T*dt, (k+1)*T*dt)",
             "the store holds no labels: trials have no label column"]
    if guessed:
        notes.append(guessed)
    if info.get("metrics"):
        notes.append("metrics: " + json.dumps(info["metrics"]))
    started = datetime.datetime.fromtimestamp(0, datetime.timezone.utc)
    nwb = NWBFile(session_description=f"snnflow run {info.get('fingerprint', '')[:16]}",
                  identifier=str(info.get("writer") or info.get("fingerprint") or name),
                  session_start_time=started, notes="\n".join(notes),
                  source_script=f"snnflow {info.get('version', '')}",
                  source_script_file_name="snnflow")

    nwb.add_trial_column("example", "the example's index in the data set")
    predictions = _predictions(zarr_store, info)
    for population in predictions:
        nwb.add_trial_column(f"prediction_{population}",
                             f"index of the largest output of {population} (predict)")
    for k in range(num_examples):
        nwb.add_trial(start_time=k * steps * seconds, stop_time=(k + 1) * steps * seconds,
                      example=k, **{f"prediction_{p}": int(v[k]) for p, v in predictions.items()})

    units = 0
    for key, group in groups.items():
        attrs = group.attrs.asdict()
        data = recorded[key]
        label = key if isinstance(key, str) else repr(key)
        examples = _examples(group, layout)
        if attrs["kind"] == "spikes":
            units += _add_units(nwb, label, attrs, key_reader(group, layout), examples, steps,
                                    seconds)
        else:
            values = [np.asarray(data[i]) for i in range(len(data))]
            if attrs["kind"] == "counts":
                timestamps = examples * steps * seconds
                array = np.stack(values) if values else np.zeros((0, 0), np.int32)
                description = "spike counts per example (stamped at its trial's start)"
            else:
                local = np.asarray(attrs.get("timesteps", []), np.float64)
                timestamps = (examples[:, None] * steps + local[None, :]).ravel() * seconds
                array = np.concatenate(values) if values else np.zeros((0, 0), np.float32)
                array = array.reshape(len(timestamps), -1)
                description = (f"variable {attrs.get('var')} of "
                               f"{attrs.get('population') or attrs.get('connection')}")
            nwb.add_acquisition(TimeSeries(
                name=label, data=array, unit="n/a", timestamps=timestamps,
                description=f"{description}; snnflow key {label!r}; recorded "
                            f"neurons: {json.dumps(attrs.get('neurons', 'all'))}"))
    with NWBHDF5IO(str(output), "w") as io:
        io.write(nwb)
    del pynwb
    return (f"wrote {output}: {num_examples} trials, {units} units, "
            f"{len(nwb.acquisition)} time series")


def _examples(group, layout) -> np.ndarray:
    return np.asarray(key_reader(group, layout).examples, np.int64)


def _add_units(nwb, label, attrs, reader, examples, steps, seconds) -> int:
    """One unit per recorded neuron of a spike key: the units it added."""
    steps_per_example, ids_per_example = reader.events("timesteps"), reader.events("ids")
    neurons = attrs.get("neurons", "all")
    if neurons == "all":
        neurons = list(range(math.prod(attrs.get("population_shape", [0]))))
    if nwb.units is None or "key" not in nwb.units.colnames:
        nwb.add_unit_column("key", "the snnflow callback key that recorded the unit")
        nwb.add_unit_column("population", "the population of the neuron")
        nwb.add_unit_column("neuron", "the neuron's index in its population")
    all_steps, all_ids = [], []
    for position, example in enumerate(examples):
        local = np.asarray(steps_per_example[position], np.int64)
        all_steps.append((example * steps + local) * seconds)
        all_ids.append(np.asarray(ids_per_example[position], np.int64))
    times = np.concatenate(all_steps) if all_steps else np.zeros(0)
    ids = np.concatenate(all_ids) if all_ids else np.zeros(0, np.int64)
    order = np.lexsort((times, ids))
    times, ids = times[order], ids[order]
    bounds = np.searchsorted(ids, neurons), np.searchsorted(ids, neurons, side="right")
    for neuron, start, stop in zip(neurons, *bounds):
        nwb.add_unit(spike_times=times[start:stop], key=label,
                     population=str(attrs.get("population", "")), neuron=int(neuron))
    return len(neurons)


def _predictions(zarr_store, info) -> dict:
    """{population: the index of each example's largest output}, where every shard
    stored predictions (a predict run); else {}."""
    from .zarr_run import part_name, read_shard_result
    shards = info.get("shards", [])
    results = [read_shard_result(zarr_store, part_name(i)) for i in range(len(shards))]
    if not results or any(r is None or not r.predictions for r in results):
        return {}
    return {population: np.concatenate([np.asarray(r.predictions[population]).reshape(
                len(np.asarray(r.predictions[population])), -1).argmax(axis=1)
                for r in results]) for population in results[0].predictions}
