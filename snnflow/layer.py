"""Layers: a population plus, for Layer, its connection from the previous layer."""
from __future__ import annotations

from .connection import Connection
from .population import Population
from .sequential_network import SequentialNetwork


class InputLayer:
    """First layer of a :class:`~snnflow.SequentialNetwork`.

    ``population`` is the layer's Population; as in mlGeNN, ``population()`` (a
    call, as on mlGeNN's weak references) returns it too."""

    def __init__(self, neuron, shape=None, record_spikes=False, record_spike_events=False,
                 name=None):
        network = SequentialNetwork.current()
        self.population = Population(neuron, shape, record_spikes, record_spike_events, name)
        self.connection = None
        network.layers.append(self)

    @property
    def name(self):
        return self.population.name

    def __repr__(self):
        return f"<InputLayer {self.population!r}>"


class Layer:
    """A population connected from the previous layer with ``connectivity``
    (``population`` and ``connection``, each also callable as in mlGeNN)."""

    def __init__(self, connectivity, neuron, shape=None, synapse="delta",
                 record_spikes=False, record_spike_events=False, max_delay_steps=None,
                 name=None):
        previous = SequentialNetwork.get_prev_layer()
        if previous is None:
            raise RuntimeError("A Layer needs an InputLayer (or Layer) before it")
        self.population = Population(neuron, shape, record_spikes, record_spike_events, name)
        self.connection = Connection(previous.population, self.population,
                                     connectivity, synapse, max_delay_steps=max_delay_steps)
        SequentialNetwork.current().layers.append(self)

    @property
    def name(self):
        return self.population.name

    def __repr__(self):
        return f"<Layer {self.population!r}>"
