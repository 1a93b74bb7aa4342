"""Writing many keys to a zarr store at little cost: chunks and metadata documents.

zarr's own write path makes a round trip through its asyncio event loop for every
key, about a millisecond of interpreter time, more than storing a chunk or a
metadata document costs. A recording writes dozens of both, so here zarr encodes
(codecs, metadata classes) and the bytes are stored directly: as plain files in a
local store, and all keys of one call in a single round trip in any other store."""
from __future__ import annotations

import asyncio
import dataclasses
import errno
import inspect
import json
import os
import shutil
import threading

import google_crc32c
import numcodecs
import numpy as np
import zarr
from zarr.core.buffer import default_buffer_prototype
from zarr.core.group import ConsolidatedMetadata, GroupMetadata
from zarr.core.metadata.v3 import ArrayV3Metadata
from zarr.core.sync import sync
from zarr.storage import LocalStore

#: Fast compression (about a GB/s per core): recording must not slow simulation
BLOSC_LZ4 = {"cname": "lz4", "clevel": 5}


def compressed(dtype) -> bool:
    """Whether arrays of ``dtype`` are compressed. Integers (spike steps and ids,
    offsets, counts, indices) shrink several times under byte shuffle and LZ4;
    float32 state traces only about 1.3 times, at about 850 MB/s a core: slower
    than the engine records them, so they are stored as they are."""
    return np.dtype(dtype).kind != "f"


def encode_chunk(array: np.ndarray) -> bytes:
    """A chunk's stored bytes, as ``array_metadata``'s codecs make them: the
    little-endian C-order bytes, Blosc-compressed where ``compressed``, then the
    crc32c."""
    array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    if compressed(array.dtype):
        encoded = numcodecs.Blosc(**BLOSC_LZ4, shuffle=numcodecs.Blosc.SHUFFLE,
                                  typesize=array.dtype.itemsize).encode(array)
    else:
        encoded = array.tobytes()
    return with_checksum(encoded)


def array_metadata(shape, dtype, chunks, dimension_names) -> ArrayV3Metadata:
    """The metadata zarr.create_array gives an array of these properties, with
    fill value 0, Blosc (BLOSC_LZ4, byte shuffle) compression where
    ``compressed``, a crc32c checksum on every chunk and "." between a chunk
    key's coordinates."""
    dtype = np.dtype(dtype)
    blosc = [zarr.codecs.BloscCodec(**BLOSC_LZ4, shuffle="shuffle",
                                    typesize=dtype.itemsize).to_dict()] if compressed(dtype) else []
    return ArrayV3Metadata.from_dict({
        "zarr_format": 3, "node_type": "array", "shape": list(shape),
        "data_type": dtype.name, "fill_value": 0, "attributes": {},
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
        # "c.0.0": chunks are files side by side, with no directory to create per chunk
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "."}},
        "codecs": [zarr.codecs.BytesCodec().to_dict(), *blosc,
                   zarr.codecs.Crc32cCodec().to_dict()],
        "dimension_names": list(dimension_names), "storage_transformers": []})


def read_whole(store, path) -> np.ndarray:
    """The whole of the array at ``path`` that snnflow wrote (``array_metadata``'s
    codecs), read and decoded here, without zarr's event-loop round trips (a few
    milliseconds per read: the driver reads every shard's offsets when a run
    ends). A missing chunk or a failed checksum raises StoreDamagedError; an
    array with other codecs is read through zarr."""
    from zarr.core.metadata.v3 import ArrayV3Metadata
    raw = get(store, f"{path}/zarr.json")
    if raw is None:
        raise StoreDamagedError(f"{path!r}: the array is missing from the store")
    metadata = ArrayV3Metadata.from_dict(json.loads(raw))
    dtype = np.dtype(metadata.data_type.to_native_dtype()).newbyteorder("<")
    chunks = metadata.chunks
    ours = array_metadata(metadata.shape, dtype, chunks, [None] * len(chunks))
    if metadata.codecs != ours.codecs:
        from .zarr_reader import read_checked
        array = zarr.open_array(store, path=path, mode="r")
        return read_checked(array, 0, array.shape[0])
    length = metadata.shape[0]
    pieces = []
    for index in range(-(-length // chunks[0])):
        key = f"{path}/{metadata.encode_chunk_key((index,) + (0,) * (len(chunks) - 1))}"
        raw = get(store, key)
        if raw is None:
            raise StoreDamagedError(f"chunk {key!r} is missing: the store is damaged "
                                    f"(`snnflow verify STORE` lists all damage)")
        encoded = raw[:-4]
        if raw[-4:] != checksum(encoded):
            raise StoreDamagedError(f"chunk {key!r} fails its checksum: the store is damaged")
        if compressed(dtype):
            encoded = numcodecs.Blosc().decode(encoded)
        pieces.append(np.frombuffer(encoded, dtype=dtype).reshape(chunks))
    whole = np.concatenate(pieces) if pieces else np.zeros((0,) + tuple(chunks[1:]), dtype)
    return whole[:length].astype(dtype.newbyteorder("="))


def checksum(encoded: bytes) -> bytes:
    """The crc32c that zarr's crc32c codec stores after a chunk's ``encoded`` bytes."""
    return np.uint32(google_crc32c.value(encoded)).tobytes()


def with_checksum(encoded: bytes) -> bytes:
    """``encoded`` followed by its crc32c, as zarr's crc32c codec stores a chunk."""
    return encoded + checksum(encoded)


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


def consolidate(store, root: GroupMetadata):
    """Write ``root`` as the store's root group, carrying every node below it, read
    back from the store, as consolidated metadata: the document
    zarr.consolidate_metadata writes. A local store's nodes are read here, file
    by file: zarr reads them through its event loop, which took 0.2 s for the
    400-odd nodes of a run of 32 shards. Another store's are read by zarr."""
    if not isinstance(store, LocalStore):
        put_nodes(store, {"": root})
        zarr.consolidate_metadata(store)
        return
    base = os.fspath(store.root)
    members = {}
    for folder, _, files in os.walk(base):
        if folder != base and "zarr.json" in files:
            with open(os.path.join(folder, "zarr.json"), "rb") as file:
                node = json.loads(file.read())
            if node.get("node_type") == "group":
                # zarr lists a group member with consolidated metadata of its own, empty
                node["consolidated_metadata"] = _INLINE
            members[os.path.relpath(folder, base).replace(os.sep, "/")] = node
    document = root.to_dict()
    # zarr's order: parents before children, then by name
    document["consolidated_metadata"] = {**_INLINE, "metadata": {
        path: members[path] for path in sorted(members, key=lambda p: (p.count("/"), p))}}
    put(store, {"zarr.json": json.dumps(document, indent=zarr.config.get("json_indent"),
                                        allow_nan=True).encode()}, atomic=True)


_INLINE = {"kind": "inline", "must_understand": False, "metadata": {}}


def put(store, items: dict, atomic=False):
    """Store ``{key: bytes}`` (keys relative to the store's root), in order for a
    local store. ``atomic``: a file is never seen half-written (what replaces a
    metadata document must be; a chunk is trusted only once its part is complete)."""
    if isinstance(store, LocalStore):
        for key, value in items.items():
            path = inside(store, key)
            written = path + f".partial-{os.getpid()}-{threading.get_ident()}" if atomic \
                else path
            try:
                _write_file(written, value)
            except FileNotFoundError:   # its directory's first file
                os.makedirs(os.path.dirname(path), exist_ok=True)
                inside(store, key)
                _write_file(written, value)
            if atomic:
                os.replace(written, path)
        return
    buffer = default_buffer_prototype().buffer

    async def put_all():
        await asyncio.gather(*(store.set(key, buffer.from_bytes(value))
                               for key, value in items.items()))
    sync(put_all())


def make_folders(store, keys):
    """Create the folders of a local store that ``keys`` (each a folder's key) name,
    ahead of the files written into them (nothing for other stores, which have no
    folders). Creating a folder costs a file system journal entry, which takes up
    to a millisecond while the disk is busy writing."""
    if isinstance(store, LocalStore):
        for key in keys:
            os.makedirs(inside(store, key), exist_ok=True)


def link(store, pairs: dict):
    """Make each ``{source key: target key}``'s target hold the source's bytes without
    passing them through this process where the store allows: a hard link in a
    folder, a server-side copy in an object store. A target already there is kept
    (a finish run again after a stop)."""
    if not pairs:
        return
    if isinstance(store, LocalStore):
        for source, target in pairs.items():
            target_path = inside(store, target)
            os.makedirs(os.path.dirname(target_path), exist_ok=True)
            try:
                os.link(inside(store, source), target_path)
            except FileExistsError:
                pass
            except OSError as error:    # a file system without hard links
                if error.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP):
                    raise
                put(store, {target: get(store, source)}, atomic=True)
        return
    if isinstance(store, zarr.storage.FsspecStore):
        _forget_listings(store)

        async def copy_all():
            await asyncio.gather(*(store.fs._cp_file(f"{store.path}/{source}",
                                                     f"{store.path}/{target}")
                                   for source, target in pairs.items()))
        sync(copy_all())
        return
    put(store, {target: get(store, source) for source, target in pairs.items()})


def inside(store: LocalStore, key: str) -> str:
    """The file of ``key`` in a local store, checked to lie inside the store: no
    folder on the way to it may be a symbolic link (which could lead out of it)."""
    root = os.fspath(store.root)
    path = os.path.join(root, key)
    folder = os.path.dirname(key)
    while folder:
        if os.path.islink(os.path.join(root, folder)):
            raise StoreDamagedError(f"{os.path.join(root, folder)!r} is a symbolic link; "
                                    f"snnflow neither writes nor deletes through links in a "
                                    f"store")
        folder = os.path.dirname(folder)
    if os.path.islink(path):
        raise StoreDamagedError(f"{path!r} is a symbolic link; snnflow neither writes nor "
                                f"deletes through links in a store")
    return path


def put_if_absent(store, key: str, value: bytes) -> bool:
    """Store ``value`` under ``key`` unless something is there already, atomically
    (one writer wins); True if this call wrote it."""
    if isinstance(store, LocalStore):
        path = inside(store, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        partial = path + f".partial-{os.getpid()}-{threading.get_ident()}"
        _write_file(partial, value)
        try:
            os.link(partial, path)      # fails if path exists: exclusive and atomic
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(partial)

    async def set_once():
        if await store.exists(key):
            return False
        if not await _create_exclusive(store, key, value):
            await store.set_if_not_exists(key, default_buffer_prototype().buffer.from_bytes(value))
        # Whoever's bytes are there won (the documents written this way name their writer)
        got = await store.get(key, default_buffer_prototype())
        return got is not None and got.to_bytes() == value
    return sync(set_once())


async def _create_exclusive(store, key, value) -> bool:
    """Write ``key`` only if absent, atomically, where the object store can (S3's
    conditional write, If-None-Match: *, through s3fs): True if this was tried (the
    caller reads back who won), False where the store has no such write."""
    if not isinstance(store, zarr.storage.FsspecStore) or \
            "mode" not in inspect.signature(store.fs._pipe_file).parameters:
        return False
    try:
        await store.fs._pipe_file(f"{store.path}/{key}", value, mode="create")
    except FileExistsError:
        pass
    except (NotImplementedError, ValueError, TypeError):
        return False
    except OSError as error:    # a server that answers 412 without naming the condition
        if getattr(error, "errno", None) != errno.EINVAL:
            raise
    return True


def get(store, key: str):
    """The bytes stored under ``key``, or None."""
    if isinstance(store, LocalStore):
        try:
            with open(inside(store, key), "rb") as file:
                return file.read()
        except (FileNotFoundError, NotADirectoryError):
            return None
    value = sync(store.get(key, default_buffer_prototype()))
    return None if value is None else value.to_bytes()


def exists(store, key: str) -> bool:
    if isinstance(store, LocalStore):
        return os.path.isfile(os.path.join(store.root, key))
    return sync(store.exists(key))


def list_prefix(store, prefix: str) -> list:
    """Every key under ``prefix`` (a folder, ending in '/'); links are not followed."""
    if isinstance(store, LocalStore):
        keys = []
        base = os.path.join(store.root, prefix)
        for folder, dirs, files in os.walk(base):
            relative = os.path.relpath(folder, store.root).replace(os.sep, "/")
            relative = "" if relative == "." else relative + "/"
            keys += [relative + name for name in files + [d for d in dirs if os.path.islink(
                os.path.join(folder, d))]]
        return keys

    _forget_listings(store)

    async def collect():
        return [key async for key in store.list_prefix(prefix)]
    return sync(collect())


def _forget_listings(store):
    """Drop an fsspec file system's cached listings of ``store``: other processes
    (the workers) write it, so what this one listed before may be stale."""
    if isinstance(store, zarr.storage.FsspecStore):
        store.fs.invalidate_cache()


class StoreDamagedError(OSError):
    """A store holds something snnflow did not write there, or lacks what it did:
    a missing chunk, a failed checksum, a symbolic link."""


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
    """Remove everything under each of ``paths`` (nothing there is fine), never
    following a symbolic link: a link is removed, not what it points at."""
    if isinstance(store, LocalStore):
        for path in paths:
            full = os.path.join(store.root, path)
            inside(store, os.path.join(os.path.dirname(path), "_"))   # the folders above
            if os.path.islink(full) or os.path.isfile(full):
                os.unlink(full)
            elif os.path.exists(full):
                shutil.rmtree(full)     # rmtree removes links inside, never follows them
        return

    async def delete_all():
        await asyncio.gather(*(store.delete_dir(path) for path in paths))
    sync(delete_all())


def list_dirs(store, prefix: str) -> list:
    """The names of the folders (groups and arrays) directly under ``prefix``."""
    if isinstance(store, LocalStore):
        base = os.path.join(store.root, prefix)
        try:
            return sorted(name for name in os.listdir(base)
                          if os.path.isdir(os.path.join(base, name))
                          and not os.path.islink(os.path.join(base, name)))
        except FileNotFoundError:
            return []

    _forget_listings(store)

    async def collect():
        return sorted({key.rstrip("/") async for key in store.list_dir(prefix + "/")
                       if "." not in key.rstrip("/") or key.endswith("/")} - {"zarr.json"})
    return sync(collect())


def clear(store, keep=()):
    """Remove everything in the store but the keys in ``keep`` (at its root),
    never following a symbolic link."""
    if isinstance(store, LocalStore):
        root = os.fspath(store.root)
        if os.path.islink(root.rstrip("/")):
            raise StoreDamagedError(f"{root!r} is a symbolic link; give the store's real path")
        if not os.path.exists(root):
            return
        delete(store, [name for name in os.listdir(root) if name not in keep])
        return

    _forget_listings(store)

    async def clear_all():
        keys = [key async for key in store.list() if key not in keep]
        await asyncio.gather(*(store.delete(key) for key in keys))
    sync(clear_all())
