"""Serialisers: how trained parameters are saved and restored."""
from .numpy import Numpy
from .serialiser import Serialiser
from ..utils.names import resolve

default_serialisers = [Numpy]


def get_serialiser(serialiser):
    return resolve(serialiser, Serialiser, default_serialisers, "serialiser")


__all__ = ["Numpy", "Serialiser", "get_serialiser"]
