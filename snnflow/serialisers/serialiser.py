"""Serialiser: where trained parameters are saved and loaded from."""
from __future__ import annotations


class Serialiser:
    """Saves and loads {name: array} under a tuple of keys (e.g. an epoch)."""

    def check_writable(self):
        """Raise OSError now if ``serialise`` could not write."""

    def serialise(self, keys: tuple, arrays: dict):
        raise NotImplementedError

    def deserialise(self, keys: tuple) -> dict:
        raise NotImplementedError
