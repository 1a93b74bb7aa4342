"""Synapse models."""
from .delta import Delta
from .exponential import Exponential
from .synapse import Synapse
from ..utils.names import resolve

default_synapses = [Delta, Exponential]


def get_synapse(synapse):
    return resolve(synapse, Synapse, default_synapses, "synapse model")


__all__ = ["Synapse", "Delta", "Exponential", "get_synapse"]
