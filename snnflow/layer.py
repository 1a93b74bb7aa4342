"""Layers: a population plus, for Layer, its connection from the previous layer."""
from __future__ import annotations

from .connection import Connection
from .network import SequentialNetwork
from .population import Population


class InputLayer:
    """First layer of a :class:`~snnflow.SequentialNetwork`."""

    def __init__(self, neuron, shape=None, record_spikes=False, name=None):
        SequentialNetwork.current()._add_layer(self)
        self.population = Population(neuron, shape, record_spikes, name)
        self.connection = None

    @property
    def name(self):
        return self.population.name

    def __repr__(self):
        return f"<InputLayer {self.population!r}>"


class Layer:
    """A population connected from the previous layer with ``connectivity``."""

    def __init__(self, connectivity, neuron, shape=None, synapse="delta",
                 name=None, record_spikes=False):
        previous = SequentialNetwork.current()._add_layer(self)
        if previous is None:
            raise RuntimeError("A Layer needs an InputLayer (or Layer) before it")
        self.population = Population(neuron, shape, record_spikes, name)
        self.connection = Connection(previous.population, self.population,
                                     connectivity, synapse)

    @property
    def name(self):
        return self.population.name

    def __repr__(self):
        return f"<Layer {self.population!r}>"
