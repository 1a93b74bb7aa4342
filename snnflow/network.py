"""Network: the container that populations and connections add themselves to."""
from __future__ import annotations

import itertools


class Network:
    """A spiking network description: populations and the connections between them.

    Build it inside ``with network:``; every :class:`~snnflow.Population` and
    :class:`~snnflow.Connection` created there belongs to it. The description is
    plain Python (picklable) and knows nothing about how it will be simulated.
    """

    _context: list["Network"] = []

    def __init__(self):
        self.populations = []
        self.connections = []
        self._pop_ids = itertools.count()
        self._conn_ids = itertools.count()

    def __enter__(self):
        Network._context.append(self)
        return self

    def __exit__(self, *exc):
        Network._context.pop()

    def __getstate__(self):
        state = dict(self.__dict__)
        # Counters do not pickle; store the next free numbers instead
        state["_pop_ids"] = len(self.populations)
        state["_conn_ids"] = len(self.connections)
        return state

    def __setstate__(self, state):
        state["_pop_ids"] = itertools.count(state["_pop_ids"])
        state["_conn_ids"] = itertools.count(state["_conn_ids"])
        self.__dict__.update(state)

    @staticmethod
    def current() -> "Network":
        if not Network._context:
            raise RuntimeError("Populations and connections must be created "
                               "inside a 'with network:' block")
        return Network._context[-1]

    def _add_population(self, pop):
        self.populations.append(pop)
        return f"Pop{next(self._pop_ids)}"

    def _add_connection(self, conn):
        self.connections.append(conn)
        return f"Conn{next(self._conn_ids)}"


class SequentialNetwork(Network):
    """A network built as a stack of layers: each :class:`~snnflow.Layer` is
    connected from the layer created just before it."""

    def __init__(self):
        super().__init__()
        self.layers = []

    def _add_layer(self, layer):
        self.layers.append(layer)
        return self.layers[-2] if len(self.layers) > 1 else None

    @staticmethod
    def current() -> "SequentialNetwork":
        net = Network.current()
        if not isinstance(net, SequentialNetwork):
            raise RuntimeError("InputLayer and Layer must be created inside a "
                               "'with network:' block of a SequentialNetwork")
        return net
