"""Losses that training minimises."""
from .loss import Loss
from .mean_square_error import MeanSquareError
from .sparse_categorical_crossentropy import SparseCategoricalCrossentropy
from ..utils.names import resolve

default_losses = [MeanSquareError, SparseCategoricalCrossentropy]


def get_loss(loss):
    return resolve(loss, Loss, default_losses, "loss")


__all__ = ["Loss", "MeanSquareError", "SparseCategoricalCrossentropy", "get_loss"]
