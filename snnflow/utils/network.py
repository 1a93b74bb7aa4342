"""What stands for a population or a connection where one is expected, and the
order populations are reached from the inputs (mlGeNN's ``utils.network``)."""
from __future__ import annotations

from typing import Union

from ..population import Population

#: A Population, or an InputLayer or Layer standing for its population
PopulationType = Union[Population, "InputLayer", "Layer"]  # noqa: F821
#: A Connection, or a Layer standing for its incoming connection
ConnectionType = Union["Connection", "Layer"]  # noqa: F821


def get_underlying_pop(obj) -> Population:
    """The Population that ``obj`` (a Population, InputLayer or Layer) stands for."""
    pop = getattr(obj, "population", obj)
    pop = pop() if callable(pop) else pop
    if not isinstance(pop, Population):
        raise TypeError(f"expected a Population, InputLayer or Layer, got {obj!r}")
    return pop


def get_underlying_conn(obj):
    """The Connection that ``obj`` (a Connection, or a Layer after the first) stands for."""
    from ..connection import Connection
    conn = getattr(obj, "connection", obj)
    conn = conn() if callable(conn) else conn
    if not isinstance(conn, Connection):
        raise TypeError(f"expected a Connection or a Layer with an incoming connection, "
                        f"got {obj!r}")
    return conn


def get_network_dag(inputs, outputs) -> list:
    """Populations reachable from ``inputs`` in topological order (each after every
    population that connects to it; Kahn's algorithm). ValueError if an output
    is not reachable or a loop keeps a population from being ordered."""
    inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    ready = [get_underlying_pop(i) for i in inputs]
    order, seen = [], set()
    while ready:
        pop = ready.pop(0)
        order.append(pop)
        for conn in pop.outgoing_connections:
            seen.add(conn)
            target = conn.target
            if target not in order and target not in ready and \
                    all(c in seen for c in target.incoming_connections):
                ready.append(target)
    missing = [get_underlying_pop(o).name for o in outputs if get_underlying_pop(o) not in order]
    if missing:
        raise ValueError(f"outputs {missing} cannot be reached from inputs "
                         f"{[get_underlying_pop(i).name for i in inputs]} (or sit on a loop)")
    return order
