"""Resolve the names users may give in place of objects ("delta", "spike_count", ...)."""
from __future__ import annotations

import re


def snake_case(class_name: str) -> str:
    """``SparseCategoricalAccuracy`` -> ``sparse_categorical_accuracy``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", class_name).lower()


def resolve(obj, base: type, classes, what: str):
    """Return ``obj`` if it is a ``base`` instance; construct the default-constructable
    class named ``obj`` (snake_case of the class name) if it is a string."""
    if isinstance(obj, base):
        return obj
    if isinstance(obj, str):
        by_name = {snake_case(c.__name__): c for c in classes}
        if obj not in by_name:
            raise KeyError(f"unknown {what} {obj!r}; expected one of {sorted(by_name)}")
        return by_name[obj]()
    raise TypeError(f"{what} must be a {base.__name__} or its name, got {obj!r}")
