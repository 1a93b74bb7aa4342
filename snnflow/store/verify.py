"""``verify``: read every chunk of a store and report what is damaged."""
from __future__ import annotations

import itertools
import math
import os

import zarr
from zarr.storage import LocalStore

from .keys import is_key_group
from .lease import LEASE_KEY, _alive, describe, read_lease
from .zarr_io import checksum, get, list_prefix
from .zarr_reader import store_object


def verify(store, storage_options=None) -> tuple:
    """(problems, notes): every sign of damage found in ``store`` (a missing chunk,
    a failed checksum, an undecodable chunk, a symbolic link, a listed part or
    shard that is not there), and what else a reader should know (an unfinished
    run, a live lease). An empty ``problems`` means every chunk was read intact.
    ``store``: a path, a URL with fsspec's ``storage_options``, or a zarr store."""
    zarr_store = store_object(store, storage_options)
    problems, notes = [], []
    if isinstance(zarr_store, LocalStore):
        problems += _links(os.fspath(zarr_store.root))
    try:
        root = zarr.open_group(zarr_store, mode="r", use_consolidated=False)
    except (FileNotFoundError, zarr.errors.NodeNotFoundError):
        return problems + ["no zarr group at the store's root"], notes
    info = root.attrs.get("snnflow")
    if info is None:
        return problems + ["not an snnflow store (no 'snnflow' attribute)"], notes
    layout = info.get("layout", 1)
    if not info.get("complete"):
        notes.append("the run did not finish (running it again completes it)")
    lease = read_lease(zarr_store)
    if lease is not None and _alive(lease):
        notes.append(f"being written now by {describe(lease)}")
    if lease is None and layout >= 2:
        problems.append(f"{LEASE_KEY} is missing")
    if layout < 2:
        notes.append("written by an older snnflow (layout 1): chunks carry no checksums")
    for path, node in root.members(max_depth=None):
        if isinstance(node, zarr.Array):
            problems += _check_array(zarr_store, node)
        elif "chunks" in node.attrs and node.attrs.get("complete"):
            for name, count in node.attrs["chunks"].items():
                if name not in node:
                    problems.append(f"{path}/{name}: listed in its part's manifest, missing")
                elif _chunk_counts(node[name]) != count:
                    problems.append(f"{path}/{name}: {_chunk_counts(node[name])} chunks in its "
                                    f"shape, {count} in its part's manifest")
    if info.get("complete"):
        for name, group in root.groups():
            if not is_key_group(name, layout):
                continue
            # Layout 3 keeps a spike key's parts in its group "parts"
            parts = group["parts"] if layout >= 3 and "parts" in group else group
            for part in group.attrs.get("parts", []):
                if part not in parts or not parts[part].attrs.get("complete"):
                    problems.append(f"{parts.path}/{part}: listed as complete, missing or "
                                    f"unfinished")
        if "shards" in info and layout >= 2:
            for index in range(len(info["shards"])):
                if get(zarr_store, f"shards/p{index:06d}/zarr.json") is None:
                    problems.append(f"shards/p{index:06d}: the shard's marker is missing")
    return problems, notes


def _links(root) -> list:
    found = []
    if os.path.islink(root.rstrip("/")):
        found.append(f"{root}: the store itself is a symbolic link")
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            if os.path.islink(os.path.join(folder, name)):
                found.append(f"{os.path.relpath(os.path.join(folder, name), root)}: a symbolic "
                             f"link (snnflow never writes one)")
    return found


def _chunk_counts(array) -> int:
    length = array.metadata.chunk_grid.chunk_shape[0] if array.ndim else 1
    return math.ceil(array.shape[0] / length) if array.ndim else 1


def missing_chunks(store, array) -> list:
    """A problem for each chunk of ``array`` that is not in ``store`` (one listing)."""
    metadata = array.metadata
    grid = [range(math.ceil(n / c)) for n, c in zip(array.shape, metadata.chunk_grid.chunk_shape)]
    present = set(list_prefix(store, array.path + "/"))
    return [f"{array.path}/{key}: missing chunk (it would read as {metadata.fill_value})"
            for coords in itertools.product(*grid)
            if f"{array.path}/{(key := metadata.encode_chunk_key(coords))}" not in present]


def _check_array(store, array) -> list:
    metadata = array.metadata
    checksummed = any(type(codec).__name__ == "Crc32cCodec" for codec in metadata.codecs)
    chunk_shape = metadata.chunk_grid.chunk_shape
    grid = [range(math.ceil(n / c)) for n, c in zip(array.shape, chunk_shape)]
    problems = []
    for coords in itertools.product(*grid):
        key = metadata.encode_chunk_key(coords)
        raw = get(store, f"{array.path}/{key}")
        if raw is None:
            problems.append(f"{array.path}/{key}: missing chunk (it would read as "
                            f"{metadata.fill_value})")
            continue
        if checksummed and raw[-4:] != checksum(raw[:-4]):
            problems.append(f"{array.path}/{key}: checksum mismatch")
            continue
        try:
            array.get_block_selection(coords)
        except Exception as error:  # any decoding failure is damage to report
            problems.append(f"{array.path}/{key}: cannot be decoded ({error})")
    return problems
