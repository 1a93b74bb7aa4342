"""The GeNN engine: snnflow networks as GeNN models, through pygenn (optional)."""
from .engine import GennEngine

__all__ = ["GennEngine"]
