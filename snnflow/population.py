"""Population: a group of neurons sharing one neuron model."""
from __future__ import annotations

import math

from .network import Network
from .neurons import get_neuron


def normalise_shape(shape, what="shape") -> tuple:
    """Turn an int or a sequence of ints into a tuple of positive ints."""
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    if not dims or not all(isinstance(d, int) and d > 0 for d in dims):
        raise ValueError(f"{what} must be a positive int or a tuple of positive "
                         f"ints, got {shape!r}")
    return dims


class Population:
    """Neurons of one model. ``shape`` may be an int or a tuple (channels last).

    ``record_spikes=True`` lets a SpikeRecorder read the population.
    ``record_spike_events`` is accepted as in mlGeNN, where it records GeNN's
    spike-like events; no snnflow model emits such events, so it records nothing."""

    def __init__(self, neuron, shape=None, record_spikes=False, record_spike_events=False,
                 name=None, add_to_model=True):
        self.neuron = get_neuron(neuron)
        self.shape = None if shape is None else normalise_shape(shape)
        self.record_spikes = bool(record_spikes)
        self.record_spike_events = bool(record_spike_events)
        self.incoming_connections = []
        self.outgoing_connections = []
        if not add_to_model:
            raise ValueError("Population(add_to_model=False) is not supported: every "
                             "population belongs to the network it is created in")
        Network.current()._add_population(self, name)

    def __call__(self):
        """The population itself: mlGeNN hands out weak references to populations
        (``layer.population()``, ``connection.source()``); snnflow holds the objects,
        which answer the same call."""
        return self

    @property
    def num_neurons(self) -> int:
        if self.shape is None:
            raise ValueError(f"Population {self.name} has no shape yet")
        return math.prod(self.shape)

    def _set_shape(self, shape):
        shape = normalise_shape(shape)
        if self.shape is not None and self.shape != shape:
            raise ValueError(f"Population {self.name} has shape {self.shape} but its "
                             f"incoming connectivity produces shape {shape}")
        self.shape = shape

    # A population is the same population in every copy of its network (a worker's
    # copy, say): equality and hashing follow (network id, name), not the object
    def __eq__(self, other):
        return isinstance(other, Population) and self._identity == other._identity

    def __hash__(self):
        return hash(self._identity)

    def __repr__(self):
        return f"<Population {self.name} {type(self.neuron).__name__} shape={self.shape}>"
