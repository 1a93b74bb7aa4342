"""Where recordings go: in memory, or streamed into a chunked zarr store.

The zarr layout lives in this package and only here (docs/storage.md)."""
from .layout import Layout, Rows
from .memory import MemoryRecording
from .zarr_reader import ZarrReader, open_store
from .zarr_run import PartRecording, ZarrRecording, ZarrRun, part_name

open = open_store


def open_recording(store=None, fingerprint="", overwrite=False, attrs=None):
    """A single-process recording: in memory when ``store`` is None."""
    if store is None:
        return MemoryRecording()
    return ZarrRecording(store, fingerprint, overwrite, attrs)


__all__ = ["Layout", "Rows", "MemoryRecording", "PartRecording", "ZarrReader",
           "ZarrRecording", "ZarrRun", "open", "open_recording", "part_name"]
