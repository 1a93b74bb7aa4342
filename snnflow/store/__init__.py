"""Where recordings go: in memory, or streamed into a chunked zarr store.

The zarr layout lives in this package and only here (docs/storage.md)."""
from .layout import Layout, Rows
from .memory import MemoryRecording
from .zarr_reader import ZarrReader, open_store
from .lease import StoreInUseError
from .verify import verify
from .zarr_io import StoreDamagedError
from .zarr_run import PartRecording, ZarrRecording, ZarrRun, part_name

open = open_store


def metric_names(metrics: dict) -> dict:
    """{output population name: the metric's name} (what the store keeps beside
    the metrics' values), e.g. "sparse_categorical_accuracy"."""
    from ..utils.module import snake_case
    return {pop.name: snake_case(type(metric).__name__) for pop, metric in metrics.items()}


def open_recording(store=None, fingerprint="", overwrite=False, attrs=None,
                   storage_options=None):
    """A single-process recording: in memory when ``store`` is None."""
    if store is None:
        return MemoryRecording()
    return ZarrRecording(store, fingerprint, overwrite, attrs, storage_options)


__all__ = ["Layout", "Rows", "MemoryRecording", "PartRecording", "ZarrReader",
           "StoreDamagedError", "StoreInUseError", "ZarrRecording", "ZarrRun", "verify",
           "metric_names", "open", "open_recording", "part_name"]
