"""A key group's arrays (layout 3): one logical array per key, made by the driver.

Before any shard runs, the driver creates each key's coordinates (``example``,
``time``, ``neuron``, ``position_<axis>``, ``source``, ``target``) and its row
arrays (``values``, ``counts``), the latter chunked so that every shard's rows
start on a chunk boundary: each chunk has exactly one writer, and no shard ever
creates, resizes or annotates a shared array. When every shard is done, the
driver builds each spike key's index: the shards' events are linked into the
key's ``timesteps`` and ``ids`` (each shard's events start at a chunk boundary,
so its chunks move whole, never decoded or re-encoded: a hard link in a folder,
a server-side copy in an object store), and ``spans`` holds each example's
[start, stop) in them."""
from __future__ import annotations

import json
import math

import numpy as np

from .keys import encode_key
from .layout import Layout
from .zarr_io import (StoreDamagedError, array_metadata, get, group_metadata, link,
                      read_whole)
from .zarr_sink import (PARTS, _Appender, _chunk_length, event_chunk_length, is_first_part,
                        max_chunk_rows, part_path)


def row_chunk_length(row_bytes: int, boundaries) -> int:
    """Rows per chunk of an array whose regions shards write: a divisor of every
    shard boundary (in recorded rows), as large as fits in a chunk; without
    boundaries (one shard) the usual power of two."""
    common = math.gcd(*[int(b) for b in boundaries]) if len(boundaries) else 0
    limit = max_chunk_rows(row_bytes)
    if not common:
        return _chunk_length(row_bytes)
    if common <= limit:
        return common
    divisors = {d for i in range(1, math.isqrt(common) + 1) if common % i == 0
                for d in (i, common // i)}
    return max(d for d in divisors if d <= limit)


def recorded_examples(layout: Layout, num_examples: int) -> np.ndarray:
    return np.arange(num_examples, dtype=np.int64) if layout.examples is None else \
        np.asarray(layout.examples, dtype=np.int64)


def create_key_arrays(store, key, layout: Layout, plan, num_examples: int, dt: float) -> dict:
    """Write ``key``'s coordinates (with their values) and the metadata of its row
    arrays, chunked for the shards of ``plan`` ([(start, stop), ...]):
    {path: metadata} of every node written."""
    group = encode_key(key)
    nodes = {}

    def coordinate(name, values, dims):
        values = np.asarray(values)
        appender = _Appender(store, f"{group}/{name}", values.shape[1:], values.dtype,
                             dims[1:], dims[0])
        appender.append(values)
        nodes[f"{group}/{name}"] = appender.close()

    examples = recorded_examples(layout, num_examples)
    coordinate("example", examples, ("example",))
    attrs = layout.attrs
    position = []
    if "timesteps" in attrs:
        coordinate("time", np.asarray(attrs["timesteps"], np.float64) * dt, ("time",))
    if layout.rows and "population_shape" in attrs:
        shape = tuple(attrs["population_shape"])
        neurons = np.arange(math.prod(shape)) if attrs["neurons"] == "all" else \
            np.asarray(attrs["neurons"])
        coordinate("neuron", neurons.astype(np.int64), ("neuron",))
        if len(shape) > 1:
            for axis, along in enumerate(np.unravel_index(neurons, shape)):
                coordinate(f"position_{axis}", along.astype(np.int64), ("neuron",))
                position.append(f"position_{axis}")
    if "sources" in attrs:
        coordinate("source", np.asarray(attrs["sources"], np.int64), ("source",))
        coordinate("target", np.asarray(attrs["targets"], np.int64), ("target",))
    # Shard i writes rows [boundaries[i - 1], boundaries[i]) of every row array
    boundaries = np.cumsum([layout.recorded(start, stop) for start, stop in plan])[:-1]
    for name, row in layout.rows.items():
        row_bytes = math.prod(row.shape) * np.dtype(row.dtype).itemsize
        chunk = row_chunk_length(row_bytes, boundaries)
        metadata = array_metadata((len(examples),) + tuple(row.shape), row.dtype,
                                  (chunk,) + tuple(row.shape), ("example",) + tuple(row.dims))
        if position:    # CF's way of naming a variable's other coordinates, which xarray reads
            metadata = metadata.update_attributes({"coordinates": " ".join(position)})
        nodes[f"{group}/{name}"] = metadata
    if layout.events:
        nodes[f"{group}/{PARTS}"] = group_metadata()
    return nodes


def link_events(store, key, layout: Layout, parts) -> dict:
    """Put the events of every part (shard) of spike key ``key``, in order, into the
    key's event arrays, and write ``spans``: {path: metadata} of the key's arrays."""
    group = encode_key(key)
    chunk = event_chunk_length(layout)
    base, end, spans, links = 0, 0, [], {}
    for part in parts:
        path = part_path(group, part)
        raw = get(store, f"{path}/zarr.json")
        attrs = json.loads(raw).get("attributes", {}) if raw is not None else {}
        if not attrs.get("complete"):
            raise StoreDamagedError(f"{path}: the part of a finished shard is missing or "
                                    f"unfinished")
        offsets = read_whole(store, f"{path}/offsets")
        spans.append(base + np.stack([offsets[:-1], offsets[1:]], axis=1))
        if not is_first_part(part):
            for name in layout.events:
                for index in range(attrs["chunks"][name]):
                    links[f"{path}/{name}/c.{index}"] = \
                        f"{group}/{name}/c.{base // chunk + index}"
        end = max(end, base + attrs["events"])
        base += -(-attrs["events"] // chunk) * chunk
    link(store, links)
    spans = np.concatenate(spans) if spans else np.zeros((0, 2), np.int64)
    appender = _Appender(store, f"{group}/spans", (2,), "int64", ("bound",), "example")
    appender.append(spans)
    nodes = {f"{group}/spans": appender.close()}
    for name, dtype in layout.events.items():
        nodes[f"{group}/{name}"] = array_metadata((end,), dtype, (chunk,), ("event",))
    return nodes

