"""Optimisers for training."""
from .adam import Adam
from .optimiser import Optimiser
from ..utils.module import get_module_classes, get_object

default_optimisers = get_module_classes(globals(), Optimiser)


def get_optimiser(optimiser):
    return get_object(optimiser, Optimiser, "optimiser", default_optimisers)


__all__ = ["Adam", "Optimiser", "get_optimiser"]
