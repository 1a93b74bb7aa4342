"""Simulation engines. Each engine is a folder here implementing Engine."""
from .engine import Engine


def get_engine_class(backend: str) -> type[Engine]:
    """The engine class for ``backend`` ("numpy" or "genn")."""
    if backend == "numpy":
        from .numpy import NumpyEngine
        return NumpyEngine
    if backend == "genn":
        try:
            import pygenn  # noqa: F401
        except ImportError as error:
            raise ImportError("backend='genn' needs pygenn, which is not on the package "
                              "registry: build it from GeNN's source (see DEVELOPERS.md), "
                              "then pip install snnflow[genn]") from error
        from .genn import GennEngine
        return GennEngine
    raise ValueError(f"backend must be 'numpy' or 'genn', got {backend!r}")


__all__ = ["Engine", "get_engine_class"]
