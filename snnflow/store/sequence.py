"""RecordedSequence: per-example recorded arrays, read on demand."""
from __future__ import annotations

from collections.abc import Sequence


class RecordedSequence(Sequence):
    """``len``, indexing (ints, negative ints, slices) and iteration over the
    recorded examples; each item is fetched when asked for, so a recording larger
    than memory can be walked through."""

    def __init__(self, length, fetch, transform=None):
        self._length = length
        self._fetch = fetch
        self._transform = transform

    def __len__(self):
        return self._length

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(f"recorded example {index} is out of range "
                             f"({self._length} recorded)")
        item = self._fetch(index)
        return item if self._transform is None else self._transform(item)

    def map(self, transform):
        """A sequence whose items are ``transform(item)``."""
        inner = self._transform
        combined = transform if inner is None else (lambda item: transform(inner(item)))
        return RecordedSequence(self._length, self._fetch, combined)

    def __repr__(self):
        return f"<RecordedSequence of {self._length} examples>"
