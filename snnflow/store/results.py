"""A shard's result as JSON and zarr arrays: no pickle anywhere in a store.

``to_json`` turns a value made of dicts, lists, tuples, str, int, float, bool, None
and numeric numpy arrays and scalars into JSON, each array replaced by a reference
``{"array": name}`` to a zarr array stored beside it; ``from_json`` reverses it
exactly (tuples, dict keys of any of those types, dtypes and shapes). Anything
else raises TypeError naming the value's type."""
from __future__ import annotations

import math

import numpy as np

from .zarr_io import array_metadata, encode_chunk, get, put, put_nodes


def to_json(value, arrays: dict):
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"an array of dtype {value.dtype} cannot be kept in a store: "
                            f"only bool, int, uint and float arrays")
        name = f"a{len(arrays)}"
        arrays[name] = value
        return {"array": name}
    if isinstance(value, np.generic):
        return {"scalar": to_json(value.item(), arrays), "dtype": value.dtype.str}
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, tuple):
        return {"tuple": [to_json(v, arrays) for v in value]}
    if isinstance(value, list):
        return [to_json(v, arrays) for v in value]
    if isinstance(value, dict):
        return {"dict": [[to_json(k, arrays), to_json(v, arrays)] for k, v in value.items()]}
    raise TypeError(f"a {type(value).__name__} cannot be kept in a store (no pickle): return "
                    f"dicts, lists, tuples, numbers, strings and numeric numpy arrays from "
                    f"get_data")


def from_json(value, arrays):
    """``arrays(name)`` gives the array stored under ``name``."""
    if isinstance(value, list):
        return [from_json(v, arrays) for v in value]
    if isinstance(value, dict):
        if "array" in value:
            return arrays(value["array"])
        if "scalar" in value:
            return np.dtype(value["dtype"]).type(from_json(value["scalar"], arrays))
        if "float" in value:
            return float(value["float"])
        if "tuple" in value:
            return tuple(from_json(v, arrays) for v in value["tuple"])
        return {_hashable(from_json(k, arrays)): from_json(v, arrays) for k, v in value["dict"]}
    return value


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


def write_arrays(store, path, arrays: dict):
    """Each array as a zarr array of one chunk under ``path``: {array path: metadata}."""
    nodes, chunks = {}, {}
    for name, array in arrays.items():
        array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        shape = array.shape
        metadata = array_metadata(shape, array.dtype, tuple(max(1, n) for n in shape),
                                  [f"{name}_{axis}" for axis in range(array.ndim)])
        if array.size:
            chunks[f"{path}/{name}/{metadata.encode_chunk_key((0,) * array.ndim)}"] = \
                encode_chunk(array)
        nodes[f"{path}/{name}"] = metadata
    put(store, chunks, atomic=True)
    put_nodes(store, nodes)
    return nodes


def array_reader(group):
    """``arrays(name)`` for from_json: the arrays of a zarr group, read checked."""
    from .zarr_reader import read_checked

    def arrays(name):
        array = group[name]
        return read_checked(array, 0, array.shape[0] if array.ndim else None)
    return arrays


__all__ = ["to_json", "from_json", "write_arrays", "array_reader", "get"]
