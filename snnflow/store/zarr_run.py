"""A run's zarr store: the driver owns the metadata, each shard writes its part.

The driver (``ZarrRun``) checks and clears the store, creates one group per
callback key with its attributes, and at the end lists each key's parts and
consolidates the metadata. A shard (``PartRecording``) writes only inside its
own part groups and, last of all, its result under ``shards/<part>``: that group
is the marker that the shard is complete. Single-process runs are one shard."""
from __future__ import annotations

import os
import pickle
import warnings

import numpy as np
import zarr

from .. import __version__
from .keys import check_keys, encode_key
from .layout import Layout
from .zarr_io import consolidated, delete, group_metadata, put_nodes
from .zarr_reader import open_root, open_store
from .zarr_sink import ZarrSink, _BackgroundWriter

SHARDS = "shards"

# Consolidated metadata is not in the zarr v3 spec yet, and zarr says so on every
# call; we know. (A module-level filter: catch_warnings is not thread-safe, and
# runs may finish in several threads at once.)
warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part",
                        category=UserWarning)


def part_name(shard: int) -> str:
    return f"p{shard:06d}"


class ZarrRun:
    """Driver side of a recording into ``store`` (a path or a zarr store).

    A store that already holds another run (a different fingerprint, or data that
    snnflow did not write) is refused unless ``overwrite=True``. A store holding
    this same run can be resumed: its complete shards are kept."""

    def __init__(self, store, fingerprint, overwrite=False):
        holds_data, existing = _contents(store)
        #: the snnflow attributes of the run the store holds (None if it holds none)
        self.existing = existing
        self.same_run = existing is not None and existing.get("fingerprint") == fingerprint
        if holds_data and not self.same_run and not overwrite:
            what = "a different run" if existing is not None else "data snnflow did not write"
            raise FileExistsError(f"the store {store!r} already holds {what}; pass "
                                  f"overwrite=True to replace it, or use another store")
        self.store = store
        self.overwrite = overwrite
        self.fingerprint = fingerprint

    def start(self, layouts: dict, resume=False, attrs=None):
        """Lay out the key groups; keep a resumable store's finished shards if ``resume``."""
        check_keys(list(layouts))
        self.layouts = layouts
        if resume and self.same_run and not self.overwrite:
            self.root = open_root(self.store, "a")
            self.info = self.root.attrs["snnflow"]
            return
        self.info = {"version": __version__, "fingerprint": self.fingerprint,
                     "complete": False, **(attrs or {})}
        # Clears the store
        self.root = open_root(self.store, "w", attributes={"snnflow": self.info})
        put_nodes(self.root.store, {SHARDS: group_metadata(), **self._key_groups([])})

    def _key_groups(self, parts):
        return {encode_key(key): group_metadata({"key": repr(key), "kind": layout.kind,
                                                 "parts": parts, **layout.attrs})
                for key, layout in self.layouts.items()}

    def finished_shards(self) -> dict:
        """{part name: the shard's pickled result} of every complete shard."""
        shards = self.root[SHARDS]
        return {name: read_shard_result(group) for name, group in shards.groups()
                if group.attrs.get("complete")}

    def finish(self, part_names, metrics=None, part_nodes=None):
        """List the parts (every shard's, all finished) in every key group, in
        example order, and seal the store with consolidated metadata. Given the
        parts' ``part_nodes`` ({path: metadata}), nothing is read back."""
        key_groups = self._key_groups(list(part_names))
        put_nodes(self.root.store, key_groups)
        # Last: the root that says the run is complete
        root = group_metadata({"snnflow": {**self.info, "complete": True,
                                           "metrics": metrics or {}}})
        if part_nodes is None:
            # Written by the shards: zarr reads them back
            put_nodes(self.root.store, {"": root})
            zarr.consolidate_metadata(self.root.store)
        else:
            put_nodes(self.root.store, {"": consolidated(
                root, {SHARDS: group_metadata(), **key_groups, **part_nodes})})


def _contents(store):
    """(holds anything, its snnflow attributes or None), creating nothing."""
    if isinstance(store, (str, os.PathLike)):
        path = os.fspath(store)
        if not os.path.exists(path):
            return False, None
        holds_files = not os.path.isdir(path) or bool(os.listdir(path))
    else:
        holds_files = False
    try:
        root = open_root(store, "r")
    except (FileNotFoundError, zarr.errors.NodeNotFoundError):
        return holds_files, None
    existing = root.attrs.asdict().get("snnflow")
    return holds_files or existing is not None or any(True for _ in root.keys()), existing


class PartRecording:
    """One shard's recording: sinks writing part ``part`` of every key's group."""

    def __init__(self, store, part: str):
        self.store = store
        self.part = part
        self.sinks = {}

    def sink(self, key, layout: Layout):
        sink = ZarrSink(key, layout)
        self.sinks[key] = sink
        return sink

    def start(self, root=None):
        """Begin the parts, in ``root`` if the store is open already."""
        self.root = root if root is not None else open_root(self.store, "a")
        # An earlier attempt at this shard may have left some of its part behind
        delete(self.root.store, [f"{encode_key(key)}/{self.part}" for key in self.sinks])
        self.writer = _BackgroundWriter()
        for sink in self.sinks.values():
            sink.open(self.root.store, self.part, self.writer)

    def end_batch(self):
        self.writer.end_batch()

    def close(self, metrics=None) -> dict:
        """Finish the parts: {path: metadata} of every node written."""
        self.writer.close()
        arrays = {}
        for sink in self.sinks.values():
            arrays.update(sink.close())
        put_nodes(self.root.store, arrays)
        # Then the part groups, which say their parts are complete
        parts = {sink.path: group_metadata({"complete": True}) for sink in self.sinks.values()}
        put_nodes(self.root.store, parts)
        return {**arrays, **parts}

    def abort(self):
        """Stop the writer after a failed run, leaving the part unfinished."""
        self.writer.abort()

    def mark_complete(self, result):
        """Write the shard's result; this group is the shard's completion marker."""
        write_shard_result(self.root[SHARDS], self.part, result)


def write_shard_result(shards, part, result):
    blob = np.frombuffer(pickle.dumps(result), dtype=np.uint8)
    group = shards.create_group(part, overwrite=True)
    group.create_array("result", data=blob, chunks=(max(1, len(blob)),))
    group.attrs["complete"] = True


def read_shard_result(group):
    return pickle.loads(group["result"][:].tobytes())


class ZarrRecording:
    """A single-process run into ``store``: the driver's and the one shard's parts."""

    def __init__(self, store, fingerprint, overwrite=False, attrs=None):
        self.run = ZarrRun(store, fingerprint, overwrite)
        self.attrs = attrs
        self.shard = PartRecording(store, part_name(0))

    def sink(self, key, layout):
        check_keys(list(self.shard.sinks) + [key])
        return self.shard.sink(key, layout)

    def start(self):
        """Clear the store and lay out every sink's groups: the run begins."""
        self.run.start({key: sink.layout for key, sink in self.shard.sinks.items()},
                       attrs=self.attrs)
        self.shard.start(self.run.root)

    def end_batch(self):
        self.shard.end_batch()

    def close(self, metrics=None):
        self.run.finish([self.shard.part], metrics, self.shard.close())
        recorded = open_store(self.run.store)
        for key, sink in self.shard.sinks.items():
            sink.recorded = recorded[key]

    def abort(self):
        self.shard.abort()
