"""Connection: synapses from one population to another."""
from __future__ import annotations

from .connectivity import get_connectivity
from .network import Network
from .synapses import get_synapse
from .utils.network import get_underlying_pop


class Connection:
    """Synapses from ``source`` to ``target`` with a connectivity and a synapse model.

    If the target has no shape yet, the connectivity decides it (for example the
    output of a convolution). ``max_delay_steps`` bounds the connectivity's
    synaptic delays (in timesteps); without it, the largest delay given sets it."""

    def __init__(self, source, target, connectivity, synapse="delta", name=None,
                 max_delay_steps=None, add_to_model=True):
        if not add_to_model:
            raise ValueError("Connection(add_to_model=False) is not supported: every "
                             "connection belongs to the network it is created in")
        self.source = get_underlying_pop(source)
        self.target = get_underlying_pop(target)
        if max_delay_steps is not None and (isinstance(max_delay_steps, bool) or
                                            not isinstance(max_delay_steps, int) or
                                            max_delay_steps < 0):
            raise ValueError(f"max_delay_steps must be an int >= 0, got {max_delay_steps!r}")
        self.max_delay_steps = max_delay_steps
        self.connectivity = get_connectivity(connectivity)
        self.synapse = get_synapse(synapse)
        if self.source.shape is None:
            raise ValueError(f"Connection from {self.source.name}: source population "
                             f"{self.source.name} has no shape")
        self.target._set_shape(self.connectivity.target_shape(self.source.shape,
                                                              self.target.shape))
        network = Network.current()
        network._add_connection(self, name)
        try:
            self.connectivity.validate(self.source.shape, self.target.shape, self.name)
            self.connectivity.validate_delay(self.max_delay_steps, self.name)
        except ValueError:
            network.connections.remove(self)  # a refused connection leaves no trace
            raise
        self.source.outgoing_connections.append(self)
        self.target.incoming_connections.append(self)

    def __call__(self):
        """The connection itself (see Population.__call__)."""
        return self

    # Same identity rule as Population
    def __eq__(self, other):
        return isinstance(other, Connection) and self._identity == other._identity

    def __hash__(self):
        return hash(self._identity)

    def __repr__(self):
        return (f"<Connection {self.name} {self.source.name}->{self.target.name} "
                f"{type(self.connectivity).__name__}>")
