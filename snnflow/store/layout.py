"""What a recorder writes, described once for the memory and zarr sinks alike.

A recording is a set of per-example rows (one array per recorded example, all of
the same shape) and/or per-example event lists (ragged, stored CSR-style: flat
arrays plus per-example offsets, like NWB's spike_times_index)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Rows:
    """A per-example array of ``shape`` and ``dtype``; ``dims`` names its axes
    after the leading 'example' axis (zarr dimension_names)."""
    shape: tuple
    dtype: str
    dims: tuple


@dataclass(frozen=True)
class Layout:
    kind: str                               # "spikes", "counts" or "var"
    rows: dict = field(default_factory=dict)    # name -> Rows
    events: dict = field(default_factory=dict)  # name -> dtype of the flat array
    attrs: dict = field(default_factory=dict)   # JSON-able description (dt, filters, ...)
    #: the global indices of the examples recorded, ascending; None: every example
    examples: object = None

    def recorded(self, start, stop):
        """The number of recorded examples among global examples [start, stop)."""
        if self.examples is None:
            return stop - start
        return int(np.searchsorted(self.examples, stop) - np.searchsorted(self.examples, start))


def to_user_data(layout_kind: str, reader, dt: float):
    """The structure mlGeNN returns for this kind, from a memory reader (lists)
    or a zarr reader (lazy sequences)."""
    if layout_kind == "spikes":
        def to_ms(steps):
            return steps.astype(np.float32) * np.float32(dt)
        return reader.events("timesteps", to_ms), reader.events("ids")
    if layout_kind == "counts":
        return reader.rows("counts")
    if layout_kind == "var":
        return reader.rows("values")
    raise ValueError(f"unknown recording kind {layout_kind!r}")
