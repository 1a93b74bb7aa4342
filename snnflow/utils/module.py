"""Model catalogues: the names users may give in place of objects ("delta",
"spike_count", ...), as mlGeNN's ``utils.module``."""
from __future__ import annotations

import inspect
import re


def snake_case(class_name: str) -> str:
    """``SparseCategoricalAccuracy`` -> ``sparse_categorical_accuracy``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", class_name).lower()


def _default_constructable(cls) -> bool:
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in parameters)


def get_module_classes(namespace, base_class) -> dict:
    """{snake_case name: class} of the default-constructable subclasses of
    ``base_class`` (not itself) in ``namespace`` (a module's ``globals()``)."""
    return {snake_case(name): obj for name, obj in dict(namespace).items()
            if inspect.isclass(obj) and issubclass(obj, base_class) and obj is not base_class
            and _default_constructable(obj)}


def get_object(obj, base_class, description: str, dictionary: dict):
    """``obj`` if it is a ``base_class`` instance (None stays None); a fresh object of
    the class named ``obj`` in ``dictionary`` if it is a string."""
    # Names first: a string is an instance of a base class such as object
    if isinstance(obj, str):
        if obj not in dictionary:
            raise KeyError(f"unknown {description} {obj!r}; expected one of "
                           f"{sorted(dictionary)}")
        return dictionary[obj]()
    if obj is None or isinstance(obj, base_class):
        return obj
    raise TypeError(f"{description} must be a {base_class.__name__} or its name, got {obj!r}")


def get_object_mapping(obj, keys, base_class, description: str, dictionary: dict) -> dict:
    """{key: object} for each of ``keys``: one object (or name) for all of them, or
    a dict with exactly those keys."""
    if isinstance(obj, dict):
        if set(obj) != set(keys):
            raise ValueError(f"{description} dict has keys {list(obj)}; expected exactly "
                             f"{list(keys)}")
        return {k: get_object(o, base_class, description, dictionary) for k, o in obj.items()}
    return {k: get_object(obj, base_class, description, dictionary) for k in keys}
