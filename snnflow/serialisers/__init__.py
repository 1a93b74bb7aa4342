"""Serialisers: how trained parameters are saved and restored."""
from .numpy import Numpy
from .serialiser import Serialiser
from ..utils.module import get_module_classes, get_object

default_serialisers = get_module_classes(globals(), Serialiser)


def get_serialiser(serialiser):
    return get_object(serialiser, Serialiser, "serialiser", default_serialisers)


__all__ = ["Numpy", "Serialiser", "get_serialiser"]
