"""Reading recordings back from a zarr store, lazily."""
from __future__ import annotations

import os
from functools import cached_property

import numpy as np
import zarr

from .keys import decode_key
from .layout import to_user_data
from .sequence import RecordedSequence


class ZarrReader:
    """Reads one key's complete parts, in order, as one sequence of examples."""

    def __init__(self, group):
        self.group = group
        self.attrs = group.attrs.asdict()
        self.parts = [group[name] for name in self.attrs.get("parts", [])
                      if group[name].attrs.get("complete")]
        self.starts = np.cumsum([0] + [p["examples"].shape[0] for p in self.parts])
        self.length = int(self.starts[-1])
        self._offsets = {}

    @cached_property
    def examples(self):
        """Global index of each recorded example (read when first asked for)."""
        return np.concatenate([p["examples"][:] for p in self.parts]) \
            if self.parts else np.zeros(0, np.int64)

    def _locate(self, index):
        part = int(np.searchsorted(self.starts, index, side="right")) - 1
        return self.parts[part], index - int(self.starts[part])

    def rows(self, name):
        def fetch(index):
            part, local = self._locate(index)
            return part[name][local]
        return RecordedSequence(self.length, fetch)

    def events(self, name, transform=None):
        def fetch(index):
            part, local = self._locate(index)
            if part.path not in self._offsets:
                self._offsets[part.path] = part["offsets"][:]
            offsets = self._offsets[part.path]
            return part[name][offsets[local]:offsets[local + 1]]
        return RecordedSequence(self.length, fetch, transform)

    def data(self):
        return to_user_data(self.attrs["kind"], self, self.attrs.get("dt", 1.0))


def open_root(store, mode, attributes=None):
    """The store's root group (given ``attributes`` if it is created). Writers never
    use consolidated metadata: a store being resumed has a consolidated copy from
    its last finish that is stale."""
    if isinstance(store, (str, os.PathLike)):
        store = os.fspath(store)
    return zarr.open_group(store, mode=mode, attributes=attributes,
                           use_consolidated=None if mode == "r" else False)


def open_store(store) -> dict:
    """{callback key: recorded data} from a finished store, with lazy sequences in
    place of lists (the same arrays the in-memory run returns)."""
    root = open_root(store, "r")
    if "snnflow" not in root.attrs:
        raise ValueError(f"{store!r} is not an snnflow store (no 'snnflow' attribute)")
    if not root.attrs["snnflow"].get("complete"):
        raise ValueError(f"the run in {store!r} did not finish; run it again with the same "
                         f"arguments to complete it")
    return {decode_key(name): ZarrReader(group).data() for name, group in root.groups()
            if is_key_group(name)}


def is_key_group(name: str) -> bool:
    """Callback keys' groups; other groups (shard results) are snnflow's own."""
    return name.startswith("k")


