"""Synapse models."""
from .delta import Delta
from .exponential import Exponential
from .synapse import Synapse
from ..utils.module import get_module_classes, get_object

default_synapses = get_module_classes(globals(), Synapse)


def get_synapse(synapse):
    return get_object(synapse, Synapse, "synapse model", default_synapses)


__all__ = ["Synapse", "Delta", "Exponential", "get_synapse"]
