"""SequentialNetwork: a network built as a stack of layers."""
from __future__ import annotations

from .network import Network


class SequentialNetwork(Network):
    """A network built as a stack of layers: each :class:`~snnflow.Layer` is
    connected from the layer created just before it."""

    def __init__(self, default_params: dict | None = None):
        super().__init__(default_params)
        self.layers = []

    @staticmethod
    def current() -> "SequentialNetwork":
        net = Network.current()
        if not isinstance(net, SequentialNetwork):
            raise RuntimeError("InputLayer and Layer must be created inside a "
                               "'with network:' block of a SequentialNetwork")
        return net

    @staticmethod
    def get_prev_layer():
        """The last layer of the network being built (None before the first)."""
        layers = SequentialNetwork.current().layers
        return layers[-1] if layers else None
