"""Optimisers for training."""
from .adam import Adam
from .optimiser import Optimiser
from ..utils.names import resolve

default_optimisers = [Adam]


def get_optimiser(optimiser):
    return resolve(optimiser, Optimiser, default_optimisers, "optimiser")


__all__ = ["Adam", "Optimiser", "get_optimiser"]
