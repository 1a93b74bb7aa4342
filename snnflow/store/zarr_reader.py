"""Reading recordings back from a zarr store, lazily, checked.

Every read checks that the chunks it needs exist (zarr would give the fill value
for a missing one) and zarr's crc32c codec checks their contents; after reading,
the store's lease must still name the run that wrote it, so data read from a store
that another run rewrote in the meantime is never returned."""
from __future__ import annotations

import os
from functools import cached_property

import numpy as np
import zarr
from zarr.storage import LocalStore

from .keys import decode_key, is_key_group
from .layout import to_user_data
from .sequence import RecordedSequence
from .zarr_io import StoreDamagedError, exists

#: The store layout this snnflow writes: 3 (one array per key with coordinates,
#: spikes indexed by ``spans``); 2 had a part per shard in every key group (named
#: key groups, JSON shard results, checksums, the lease); stores without a
#: ``layout`` field are layout 1
LAYOUT = 3


def is_url(store) -> bool:
    """A URL of an object store (``s3://``, ``gs://``, ``memory://``, ...), not a path."""
    if not isinstance(store, (str, os.PathLike)):
        return False
    text = os.fspath(store)
    return "://" in text and not text.startswith("file://")


def store_object(store, storage_options=None):
    """A zarr store for ``store``: a path (a LocalStore), a URL (zarr's FsspecStore,
    given fsspec's ``storage_options``, e.g. ``{"endpoint_url": ..., "key": ...,
    "secret": ...}`` for s3fs) or a zarr store (as it is)."""
    if storage_options is not None and not isinstance(storage_options, dict):
        raise TypeError(f"storage_options must be a dict of the file system's options, "
                        f"got {storage_options!r}")
    if isinstance(store, (str, os.PathLike)):
        text = os.fspath(store)
        if is_url(text):
            return _fsspec_store(text, storage_options or {})
        if storage_options:
            raise ValueError(f"storage_options are for a store given as a URL "
                             f"('s3://bucket/run.zarr'), not for the local path {text!r}")
        return LocalStore(os.path.abspath(text.removeprefix("file://")))
    if storage_options:
        raise ValueError("storage_options are for a store given as a URL; a zarr store "
                         "object carries its own")
    return store


#: The extra that installs each object store's fsspec implementation
EXTRAS = {"s3": "s3", "s3a": "s3"}


def _fsspec_store(url, storage_options):
    import inspect

    import fsspec
    protocol = url.split("://", 1)[0]
    try:
        cls = fsspec.get_filesystem_class(protocol)
    except ImportError as error:
        extra = EXTRAS.get(protocol)
        hint = f"pip install 'snnflow[{extra}]'" if extra else "install it"
        raise ImportError(f"the store {url!r} needs fsspec's {protocol!r} implementation, "
                          f"which is not installed ({error}); {hint}") from None
    except ValueError as error:
        raise ValueError(f"the store {url!r}: {error}") from None
    # fsspec passes options it does not know on silently: a misspelt endpoint would
    # go to the default one. Refuse what no class of the file system takes.
    known = {"asynchronous", "loop", "skip_instance_cache", "use_listings_cache",
             "listings_expiry_time", "max_paths"}
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            parameters = inspect.signature(klass.__init__).parameters
            known |= {name for name, p in parameters.items() if p.kind in (
                p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"self"}
    unknown = sorted(set(storage_options) - known)
    if unknown:
        raise TypeError(f"storage option(s) {', '.join(map(repr, unknown))} are not options of "
                        f"{cls.__name__} (the {protocol!r} file system); its options: "
                        f"{', '.join(sorted(known))}")
    # Other processes (the workers) write the store: a listing must never be a cached one
    return zarr.storage.FsspecStore.from_url(
        url, storage_options={"use_listings_cache": False, **storage_options})


def describe_store(store) -> str:
    """``store`` for messages: a path or URL as given, a store object as zarr names it."""
    if isinstance(store, (str, os.PathLike)):
        return os.fspath(store)
    if isinstance(store, zarr.storage.FsspecStore):
        protocol = store.fs.protocol
        protocol = protocol[0] if isinstance(protocol, (tuple, list)) else protocol
        return f"{protocol}://{store.path}"
    return str(store)


def read_checked(array, start, stop):
    """``array[start:stop]`` (the whole of a 0-d array when ``stop`` is None), after
    checking that every chunk it touches exists; a failed checksum or a missing
    chunk raises StoreDamagedError."""
    metadata = array.metadata
    if stop is None:
        keys = [metadata.encode_chunk_key(())]
    else:
        length = metadata.chunk_grid.chunk_shape[0] if array.ndim else 1
        first, last = start // length, (max(stop, start + 1) - 1) // length
        rest = (0,) * (array.ndim - 1)
        keys = [metadata.encode_chunk_key((i,) + rest) for i in range(first, last + 1)
                if stop > start]
    for key in keys:
        if not exists(array.store_path.store, f"{array.path}/{key}"):
            raise StoreDamagedError(f"chunk {key!r} of {array.path!r} is missing: the store "
                                    f"is damaged (`snnflow verify STORE` lists all damage)")
    try:
        return array[()] if stop is None else array[start:stop]
    except ValueError as error:
        if "checksum" in str(error):
            raise StoreDamagedError(f"a chunk of {array.path!r} in [{start}, {stop}) fails its "
                                    f"checksum: the store is damaged") from error
        raise


class _ChunkCache:
    """The decoded chunks of one array that were read last: reading examples one
    after another reads (and, on an object store, fetches) each chunk once."""

    SIZE = 4

    def __init__(self, array, read):
        self.array = array
        self.length = array.metadata.chunks[0] if array.ndim else 1
        self.read = read
        self.chunks = {}

    def chunk(self, index):
        if index not in self.chunks:
            if len(self.chunks) >= self.SIZE:
                del self.chunks[next(iter(self.chunks))]     # the oldest
            start = index * self.length
            self.chunks[index] = self.read(self.array, start,
                                           min(start + self.length, self.array.shape[0]))
        return self.chunks[index]

    def __getitem__(self, bounds):
        """Rows [start, stop)."""
        start, stop = bounds
        if stop <= start:
            return np.zeros((0,) + self.array.shape[1:], self.array.dtype)
        first, last = start // self.length, (stop - 1) // self.length
        pieces = [self.chunk(index) for index in range(first, last + 1)]
        rows = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        offset = first * self.length
        return rows[start - offset:stop - offset]


class ZarrReader:
    """Reads one key's arrays (layout 3) as a sequence of examples, a chunk at a
    time. ``check()``, if given, is called after every read (the writer check)."""

    def __init__(self, group, check=None):
        self.group = group
        self.attrs = group.attrs.asdict()
        self.check = check or (lambda: None)
        self.length = group["example"].shape[0]
        self._caches = {}

    @cached_property
    def examples(self):
        """Global index of each recorded example (read when first asked for)."""
        return self._read(self.group["example"], 0, self.length)

    def _read(self, array, start, stop):
        values = read_checked(array, start, stop)
        self.check()
        return values

    def _cache(self, name):
        if name not in self._caches:
            self._caches[name] = _ChunkCache(self.group[name], self._read)
        return self._caches[name]

    def rows(self, name):
        return RecordedSequence(self.length, lambda index: self._cache(name)[index, index + 1][0])

    def events(self, name, transform=None):
        def fetch(index):
            start, stop = self._cache("spans")[index, index + 1][0]
            return self._cache(name)[int(start), int(stop)]
        return RecordedSequence(self.length, fetch, transform)

    def data(self):
        return to_user_data(self.attrs["kind"], self, self.attrs.get("dt", 1.0))


class PartsReader(ZarrReader):
    """Reads one key of a store of layout 1 or 2: its complete parts, in order,
    as one sequence of examples."""

    def __init__(self, group, check=None):
        self.group = group
        self.attrs = group.attrs.asdict()
        self.check = check or (lambda: None)
        self.parts = [group[name] for name in self.attrs.get("parts", [])
                      if group[name].attrs.get("complete")]
        self.starts = np.cumsum([0] + [p["examples"].shape[0] for p in self.parts])
        self.length = int(self.starts[-1])
        self._offsets = {}

    @cached_property
    def examples(self):
        return np.concatenate([self._read(p["examples"], 0, p["examples"].shape[0])
                               for p in self.parts]) if self.parts else np.zeros(0, np.int64)

    def _locate(self, index):
        part = int(np.searchsorted(self.starts, index, side="right")) - 1
        return self.parts[part], index - int(self.starts[part])

    def rows(self, name):
        def fetch(index):
            part, local = self._locate(index)
            return self._read(part[name], local, local + 1)[0]
        return RecordedSequence(self.length, fetch)

    def events(self, name, transform=None):
        def fetch(index):
            part, local = self._locate(index)
            if part.path not in self._offsets:
                offsets = part["offsets"]
                self._offsets[part.path] = self._read(offsets, 0, offsets.shape[0])
            offsets = self._offsets[part.path]
            return self._read(part[name], int(offsets[local]), int(offsets[local + 1]))
        return RecordedSequence(self.length, fetch, transform)


def key_reader(group, layout: int, check=None) -> ZarrReader:
    """The reader of a key group of a store of ``layout``."""
    return ZarrReader(group, check) if layout >= 3 else PartsReader(group, check)


def open_root(store, mode, attributes=None):
    """The store's root group (given ``attributes`` if it is created). Writers never
    use consolidated metadata: a store being resumed has a consolidated copy from
    its last finish that is stale."""
    return zarr.open_group(store_object(store), mode=mode, attributes=attributes,
                           use_consolidated=None if mode == "r" else False)


def open_store(store, name=None, storage_options=None) -> dict:
    """{callback key: recorded data} from a finished store (a path, a URL with
    fsspec's ``storage_options``, or a zarr store), with lazy sequences in place of
    lists (the same arrays the in-memory run returns)."""
    from .lease import check_writer
    name = name or describe_store(store)
    store = store_object(store, storage_options)
    try:
        root = open_root(store, "r")
    except (FileNotFoundError, zarr.errors.NodeNotFoundError):
        from .lease import read_lease
        if read_lease(store_object(store)) is None:
            raise
        # A run took the store and stopped before it laid it out
        raise ValueError(f"the run in {name!r} did not finish; run it again with the same "
                         f"arguments to complete it") from None
    if "snnflow" not in root.attrs:
        raise ValueError(f"{name!r} is not an snnflow store (no 'snnflow' attribute)")
    info = root.attrs["snnflow"]
    if not info.get("complete"):
        raise ValueError(f"the run in {name!r} did not finish; run it again with the same "
                         f"arguments to complete it")
    layout = info.get("layout", 1)
    writer = info.get("writer")
    zarr_store = root.store

    def check():
        if writer is not None:
            check_writer(zarr_store, writer, name)
    return Recorded({decode_key(key, layout): key_reader(group, layout, check).data()
                     for key, group in root.groups() if is_key_group(key, layout)},
                    root, name, layout)


class Recorded(dict):
    """{callback key: recorded data} of a finished store, and the same as xarray
    objects (``to_xarray``)."""

    def __init__(self, data, root, name, layout):
        super().__init__(data)
        self.root = root
        self.name = name
        self.layout = layout

    def to_xarray(self):
        """An ``xarray.DataTree`` with one child per key group (named as in the
        store), each a Dataset of dask arrays read lazily (``.compute()`` or
        ``.load()`` reads). Every chunk is checked to be there first: zarr would
        read a missing one as zeros. The root node carries the store's ``snnflow``
        attributes."""
        import xarray as xr

        from .verify import missing_chunks
        if self.layout < 3:
            raise ValueError(f"{self.name!r} was written by an older snnflow (layout "
                             f"{self.layout}), whose key groups hold one part per shard; "
                             f"to_xarray reads layout 3: run it again with overwrite=True")
        store = self.root.store
        children = {}
        for group_name, group in self.root.groups():
            if not is_key_group(group_name, self.layout):
                continue
            missing = [problem for _, array in group.arrays()
                       for problem in missing_chunks(store, array)]
            if missing:
                raise StoreDamagedError(f"{self.name!r} is damaged: {missing[0]}"
                                        + (f" and {len(missing) - 1} more" if len(missing) > 1
                                           else ""))
            children[group_name] = xr.open_dataset(
                store, group=group_name, engine="zarr", chunks={}, consolidated=False,
                zarr_format=3, drop_variables=None)
        tree = xr.DataTree.from_dict(children)
        tree.attrs = dict(self.root.attrs)
        return tree
