"""Losses that training minimises."""
from .loss import Loss
from .mean_square_error import MeanSquareError
from .relative_mean_square_error import RelativeMeanSquareError
from .sparse_categorical_crossentropy import SparseCategoricalCrossentropy
from ..utils.module import get_module_classes, get_object

default_losses = get_module_classes(globals(), Loss)


def get_loss(loss):
    return get_object(loss, Loss, "loss", default_losses)


__all__ = ["Loss", "MeanSquareError", "RelativeMeanSquareError",
           "SparseCategoricalCrossentropy", "get_loss"]
