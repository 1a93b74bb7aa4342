"""The built-in NumPy engine (the default, and what CI runs)."""
from .engine import NumpyEngine

__all__ = ["NumpyEngine"]
