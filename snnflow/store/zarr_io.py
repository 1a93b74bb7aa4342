"""Writing many keys to a zarr store at little cost: chunks and metadata documents.

zarr's own write path makes a round trip through its asyncio event loop for every
key, about a millisecond of interpreter time, more than storing a chunk or a
metadata document costs. A recording writes dozens of both, so here zarr encodes
(codecs, metadata classes) and the bytes are stored directly: as plain files in a
local store, and all keys of one call in a single round trip in any other store."""
from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil

import numpy as np
import zarr
from zarr.core.buffer import default_buffer_prototype
from zarr.core.group import ConsolidatedMetadata, GroupMetadata
from zarr.core.metadata.v3 import ArrayV3Metadata
from zarr.core.sync import sync
from zarr.storage import LocalStore

#: Fast compression (about a GB/s per core): recording must not slow simulation
BLOSC_LZ4 = {"cname": "lz4", "clevel": 5}


def array_metadata(shape, dtype, chunks, dimension_names) -> ArrayV3Metadata:
    """The metadata zarr.create_array gives an array of these properties, with
    fill value 0, Blosc (BLOSC_LZ4, byte shuffle) compression and "." between a
    chunk key's coordinates."""
    dtype = np.dtype(dtype)
    blosc = zarr.codecs.BloscCodec(**BLOSC_LZ4, shuffle="shuffle", typesize=dtype.itemsize)
    return ArrayV3Metadata.from_dict({
        "zarr_format": 3, "node_type": "array", "shape": list(shape),
        "data_type": dtype.name, "fill_value": 0, "attributes": {},
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
        # "c.0.0": chunks are files side by side, with no directory to create per chunk
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "."}},
        "codecs": [zarr.codecs.BytesCodec().to_dict(), blosc.to_dict()],
        "dimension_names": list(dimension_names), "storage_transformers": []})


def group_metadata(attributes=None) -> GroupMetadata:
    return GroupMetadata(attributes=attributes or {})


def consolidated(root: GroupMetadata, nodes: dict) -> GroupMetadata:
    """``root`` carrying ``nodes`` ({path: metadata}, every node below the root) as
    consolidated metadata: what zarr.consolidate_metadata writes, without reading
    the nodes back from the store."""
    children = {"": {}}
    for path in sorted(nodes, key=lambda p: p.count("/")):
        parent, _, name = path.rpartition("/")
        children[parent][name] = path
        if isinstance(nodes[path], GroupMetadata):
            children[path] = {}

    def nest(path, node):
        if not isinstance(node, GroupMetadata):
            return node
        members = {name: nest(child, nodes[child]) for name, child in children[path].items()}
        return dataclasses.replace(node, consolidated_metadata=ConsolidatedMetadata(members))
    return nest("", root)


def put(store, items: dict, atomic=False):
    """Store ``{key: bytes}`` (keys relative to the store's root), in order for a
    local store. ``atomic``: a file is never seen half-written (what replaces a
    metadata document must be; a chunk is trusted only once its part is complete)."""
    if isinstance(store, LocalStore):
        for key, value in items.items():
            path = os.path.join(store.root, key)
            written = path + ".partial" if atomic else path
            try:
                _write_file(written, value)
            except FileNotFoundError:   # its directory's first file
                os.makedirs(os.path.dirname(path), exist_ok=True)
                _write_file(written, value)
            if atomic:
                os.replace(written, path)
        return
    buffer = default_buffer_prototype().buffer

    async def put_all():
        await asyncio.gather(*(store.set(key, buffer.from_bytes(value))
                               for key, value in items.items()))
    sync(put_all())


def _write_file(path, value):
    with open(path, "wb") as file:
        file.write(value)


def put_nodes(store, nodes: dict):
    """Write ``{path: ArrayV3Metadata or GroupMetadata}`` as the nodes' zarr.json."""
    prototype = default_buffer_prototype()
    put(store, {f"{path}/zarr.json" if path else "zarr.json":
                node.to_buffer_dict(prototype)["zarr.json"].to_bytes()
                for path, node in nodes.items()}, atomic=True)


def delete(store, paths):
    """Remove everything under each of ``paths`` (nothing there is fine)."""
    if isinstance(store, LocalStore):
        for path in paths:
            if (store.root / path).exists():
                shutil.rmtree(store.root / path)
        return

    async def delete_all():
        await asyncio.gather(*(store.delete_dir(path) for path in paths))
    sync(delete_all())
