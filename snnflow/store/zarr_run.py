"""A run's zarr store: the driver owns the metadata, each shard writes its part.

The driver (``ZarrRun``) takes the store's lease, checks and clears the store,
creates one group per callback key with its attributes, and at the end lists each
key's parts and consolidates the metadata. A shard (``PartRecording``) writes only
inside its own part groups and, last of all, its result as the attributes of
``shards/<part>``: that group's zarr.json, created once and never replaced, is the
marker that the shard is complete. Single-process runs are one shard."""
from __future__ import annotations

import json
import os
import warnings

import zarr
from zarr.core.sync import sync
from zarr.storage import LocalStore

from .. import __version__
from .key_arrays import create_key_arrays, link_events
from .keys import check_keys, encode_key
from .layout import Layout
from .lease import Lease, StoreInUseError
from .results import array_reader, from_json, to_json, write_arrays
from .zarr_io import (clear, consolidate, consolidated, get, group_metadata, list_dirs,
                      put_if_absent, put_nodes)
from .zarr_reader import LAYOUT, describe_store, open_root, open_store, store_object
from .zarr_sink import ZarrSink, _BackgroundWriter

SHARDS = "shards"

# Consolidated metadata is not in the zarr v3 spec yet, and zarr says so on every
# call; we know. (A module-level filter: catch_warnings is not thread-safe, and
# runs may finish in several threads at once.)
warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part",
                        category=UserWarning)
# The lease document sits beside the hierarchy, and zarr says so when it lists the root
warnings.filterwarnings("ignore", message="Object at snnflow.lease.json is not recognized")


def part_name(shard: int) -> str:
    return f"p{shard:06d}"


class ZarrRun:
    """Driver side of a recording into ``store`` (a path, a URL with fsspec's
    ``storage_options``, or a zarr store).

    A store that already holds another run (a different fingerprint, or data that
    snnflow did not write) is refused unless ``overwrite=True``. A store holding
    this same run can be resumed: its complete shards are kept."""

    def __init__(self, store, fingerprint, overwrite=False, storage_options=None):
        self.store = store
        self.overwrite = overwrite
        self.fingerprint = fingerprint
        self.zarr_store = store_object(store, storage_options)
        self._check()
        self.lease = Lease(self.zarr_store, _name(store))

    def _check(self):
        holds_data, existing = _contents(self.store, self.zarr_store)
        #: the snnflow attributes of the run the store holds (None if it holds none)
        self.existing = existing
        self.same_run = existing is not None and existing.get("fingerprint") == self.fingerprint
        if holds_data and not self.same_run and not self.overwrite:
            what = "a different run" if existing is not None else "data snnflow did not write"
            raise FileExistsError(f"the store {_name(self.store)!r} already holds {what}; pass "
                                  f"overwrite=True to replace it, or use another store")
        if self.same_run and not self.overwrite and existing.get("layout", 1) < LAYOUT:
            raise FileExistsError(
                f"the store {_name(self.store)!r} holds this run in the layout of an older "
                f"snnflow ({existing.get('version')}), which this one does not resume; pass "
                f"overwrite=True to run it again into it, or use another store")

    @property
    def writer(self) -> str:
        """The id of this run's lease, which the store names as its writer."""
        return self.lease.owner

    def start(self, layouts: dict, resume=False, attrs=None):
        """Take the lease, lay out the key groups and their arrays; keep a resumable
        store's finished shards if ``resume``. ``attrs`` hold ``dt``,
        ``num_examples`` and, for a sharded run, its plan (``shards``)."""
        check_keys(list(layouts))
        self.layouts = layouts
        self.lease.acquire()
        try:
            # Under the lease now: what the store holds may have changed since __init__
            self._check()
            self.store_handle = self.zarr_store
            if resume and self.same_run and not self.overwrite:
                self.root = open_root(self.zarr_store, "a")
                self.info = {**self.root.attrs["snnflow"], "writer": self.writer,
                             "complete": False}
                put_nodes(self.zarr_store, {"": group_metadata({"snnflow": self.info})})
            else:
                self.info = {"version": __version__, "layout": LAYOUT,
                             "fingerprint": self.fingerprint, "writer": self.writer,
                             "complete": False, **(attrs or {})}
                clear(self.zarr_store, keep=("snnflow.lease.json",))
                put_nodes(self.zarr_store, {"": group_metadata({"snnflow": self.info}),
                                            SHARDS: group_metadata(), **self._key_groups()})
                self.root = open_root(self.zarr_store, "a")
            # Written again on a resume (the same bytes): a run stopped while laying
            # them out is completed
            plan = self.info.get("shards") or [(0, self.info["num_examples"])]
            self.key_nodes = {}
            for key, layout in layouts.items():
                self.key_nodes.update(create_key_arrays(self.zarr_store, key, layout, plan,
                                                        self.info["num_examples"],
                                                        self.info["dt"]))
            put_nodes(self.zarr_store, self.key_nodes)
        except BaseException:
            self.lease.release()
            raise

    def _key_groups(self, parts=()):
        """The key groups, listing ``parts`` in those of spike keys."""
        return {encode_key(key): group_metadata({
                    "key": repr(key), "kind": layout.kind,
                    "parts": list(parts) if layout.events else [], **layout.attrs})
                for key, layout in self.layouts.items()}

    def finished_shards(self) -> dict:
        """{part name: the shard's result} of every complete shard."""
        return {name: result for name in list_dirs(self.zarr_store, SHARDS)
                if (result := read_shard_result(self.zarr_store, name)) is not None}

    def finish(self, part_names, metrics=None, part_nodes=None, metric_names=None):
        """Index every spike key's parts (every shard's, all finished, in example
        order) and seal the store with consolidated metadata. Given the parts'
        ``part_nodes`` ({path: metadata}), nothing is read back. Releases the lease."""
        try:
            self.lease.check()
            nodes = dict(self.key_nodes)
            for key, layout in self.layouts.items():
                if layout.events:
                    nodes.update(link_events(self.zarr_store, key, layout, part_names))
            put_nodes(self.zarr_store, nodes)
            key_groups = self._key_groups(part_names)
            put_nodes(self.zarr_store, key_groups)
            # Last: the root that says the run is complete
            root = group_metadata({"snnflow": {**self.info, "complete": True,
                                               "metrics": metrics or {},
                                               "metric_names": metric_names or {}}})
            if part_nodes is None:
                # Written by the shards: read back
                consolidate(self.zarr_store, root)
            else:
                put_nodes(self.zarr_store, {"": consolidated(
                    root, {SHARDS: group_metadata(), **key_groups, **nodes, **part_nodes})})
        finally:
            self.release()

    def release(self):
        self.lease.release()


def _name(store) -> str:
    return describe_store(store)


def _contents(store, zarr_store):
    """(holds anything, its snnflow attributes or None), creating nothing."""
    if isinstance(zarr_store, LocalStore):
        path = os.fspath(zarr_store.root)
        if not os.path.exists(path):
            return False, None
        holds_files = not os.path.isdir(path) or bool(
            set(os.listdir(path)) - {"snnflow.lease.json"})
    else:
        holds_files = _holds_objects(zarr_store, _name(store))
    try:
        root = open_root(zarr_store, "r")
    except (FileNotFoundError, zarr.errors.NodeNotFoundError):
        return holds_files, None
    existing = root.attrs.asdict().get("snnflow")
    return holds_files or existing is not None or any(True for _ in root.keys()), existing


def _holds_objects(zarr_store, name) -> bool:
    """Whether a store that is not a local folder holds any key but the lease; the
    first access to it, so an unreachable store fails here, before anything runs."""
    async def first_keys():
        found = []
        async for key in zarr_store.list():
            if key != "snnflow.lease.json":
                found.append(key)
                break
        return found
    try:
        return bool(sync(first_keys()))
    except (FileNotFoundError, ImportError, TypeError, ValueError):
        raise
    except Exception as error:
        raise ConnectionError(f"cannot reach the store {name!r}: {type(error).__name__}: "
                              f"{error} (check its URL and storage_options: endpoint_url, "
                              f"key, secret)") from error


class PartRecording:
    """One shard's recording: sinks writing part ``part`` of every key's group.
    ``writer``: the id of the run's lease, checked before the shard is marked done;
    ``examples``: the shard's global examples (start, stop), where known."""

    def __init__(self, store, part: str, writer=None, examples=None):
        self.store = store
        self.part = part
        self.writer = writer
        self.examples = examples
        self.sinks = {}

    def sink(self, key, layout: Layout):
        sink = ZarrSink(key, layout)
        self.sinks[key] = sink
        return sink

    def finished(self):
        """The shard's result if it is marked complete already (a rerun of a
        finished shard, after a lost worker), else None."""
        return read_shard_result(store_object(self.store), self.part)

    def start(self, root=None):
        """Begin the parts, in ``root`` if the store is open already. Nothing is
        deleted: an earlier attempt at this shard wrote the same chunks, which this
        one replaces, each atomically."""
        # The store itself, not its root group: opening that through zarr costs a
        # shard milliseconds, and the sinks check what they need (the key arrays)
        self.zarr_store = root.store if root is not None else store_object(self.store)
        self.writer_thread = _BackgroundWriter()
        for sink in self.sinks.values():
            sink.open(self.zarr_store, self.part, self.writer_thread, self.examples)

    def end_batch(self):
        self.writer_thread.end_batch()

    def close(self, metrics=None, metric_names=None) -> dict:
        """Finish the shard's regions and parts: {path: metadata} of every node
        written."""
        self.writer_thread.close()
        arrays = {}
        for sink in self.sinks.values():
            arrays.update(sink.close())
        put_nodes(self.zarr_store, arrays)
        # Then the part groups, which say their parts are complete and list their chunks
        parts = {path: group_metadata(attributes) for sink in self.sinks.values()
                 for path, attributes in sink.part_group().items()}
        put_nodes(self.zarr_store, parts)
        return {**arrays, **parts}

    def abort(self):
        """Stop the writer after a failed run, leaving the part unfinished."""
        self.writer_thread.abort()

    def mark_complete(self, result):
        """Write the shard's result; its group is the shard's completion marker,
        created once: a duplicate attempt's marker loses and changes nothing.
        Returns the result the store holds."""
        store = self.zarr_store
        if self.writer is not None:
            from .lease import check_writer
            check_writer(store, self.writer, _name(self.store))
        return write_shard_result(store, self.part, result, self.writer)


def write_shard_result(store, part, result, writer=None):
    """Store ``result`` (a ShardResult) as shard ``part``'s marker, unless one is
    there; the result the store holds afterwards."""
    arrays = {}
    document = to_json({"metric_states": result.metric_states,
                        "callback_data": result.callback_data,
                        "predictions": result.predictions, "timings": result.timings}, arrays)
    path = f"{SHARDS}/{part}"
    write_arrays(store, path, arrays)
    marker = group_metadata({"complete": True, "writer": writer, "result": document})
    from zarr.core.buffer import default_buffer_prototype
    encoded = marker.to_buffer_dict(default_buffer_prototype())["zarr.json"].to_bytes()
    if put_if_absent(store, f"{path}/zarr.json", encoded):
        return result
    return read_shard_result(store, part)


def read_shard_result(store, part):
    """Shard ``part``'s stored result (a ShardResult), or None if it is not complete."""
    from ..distributed.shard import ShardResult
    raw = get(store, f"{SHARDS}/{part}/zarr.json")
    if raw is None:
        return None
    attributes = json.loads(raw).get("attributes", {})
    if not attributes.get("complete"):
        return None
    if "result" not in attributes:
        raise FileExistsError("the store holds shard results of an older snnflow (pickled), "
                              "which this one never reads; pass overwrite=True to run again")
    group = zarr.open_group(store, path=f"{SHARDS}/{part}", mode="r", use_consolidated=False)
    fields = from_json(attributes["result"], array_reader(group))
    return ShardResult(**fields)


class ZarrRecording:
    """A single-process run into ``store``: the driver's and the one shard's parts."""

    def __init__(self, store, fingerprint, overwrite=False, attrs=None, storage_options=None):
        self.run = ZarrRun(store, fingerprint, overwrite, storage_options)
        self.attrs = attrs
        self.shard = PartRecording(self.run.zarr_store, part_name(0),
                                   examples=(0, attrs["num_examples"]) if attrs else None)

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

    def close(self, metrics=None, metric_names=None):
        self.run.finish([self.shard.part], metrics, self.shard.close(), metric_names)
        recorded = open_store(self.run.zarr_store, name=_name(self.run.store))
        for key, sink in self.shard.sinks.items():
            sink.recorded = recorded[key]

    def abort(self):
        self.shard.abort()
        self.run.release()


__all__ = ["ZarrRun", "PartRecording", "ZarrRecording", "part_name", "StoreInUseError",
           "LocalStore"]
