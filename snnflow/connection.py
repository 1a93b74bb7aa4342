"""Connection: synapses from one population to another."""
from __future__ import annotations

from .connectivity import get_connectivity
from .network import Network
from .synapses import get_synapse


def underlying_population(obj):
    """Layers stand for their population wherever a population is expected."""
    from .population import Population
    pop = getattr(obj, "population", obj)
    if not isinstance(pop, Population):
        raise TypeError(f"expected a Population, InputLayer or Layer, got {obj!r}")
    return pop


class Connection:
    """Synapses from ``source`` to ``target`` with a connectivity and a synapse model.

    If the target has no shape yet, the connectivity decides it (for example the
    output of a convolution)."""

    def __init__(self, source, target, connectivity, synapse="delta", name=None):
        self.source = underlying_population(source)
        self.target = underlying_population(target)
        self.connectivity = get_connectivity(connectivity)
        self.synapse = get_synapse(synapse)
        auto_name = Network.current()._add_connection(self)
        self.name = auto_name if name is None else name
        if self.source.shape is None:
            raise ValueError(f"Connection {self.name}: source population "
                             f"{self.source.name} has no shape")
        self.target._set_shape(self.connectivity.target_shape(self.source.shape,
                                                              self.target.shape))
        self.connectivity.validate(self.source.shape, self.target.shape, self.name)
        self.source.outgoing.append(self)
        self.target.incoming.append(self)

    def __repr__(self):
        return (f"<Connection {self.name} {self.source.name}->{self.target.name} "
                f"{type(self.connectivity).__name__}>")
