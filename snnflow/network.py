"""Network: the container that populations and connections add themselves to."""
from __future__ import annotations

import itertools
import uuid

import numpy as np


#: Suffix of the name under which a compiled network's ``save`` keeps a
#: connection's learnt delays
DELAY_SUFFIX = ":delay"


class Network:
    """A spiking network description: populations and the connections between them.

    Build it inside ``with network:``; every :class:`~snnflow.Population` and
    :class:`~snnflow.Connection` created there belongs to it. The description is
    plain Python (picklable) and knows nothing about how it will be simulated.
    """

    _context: list["Network"] = []

    def __init__(self, default_params: dict | None = None):
        #: {model class: {argument: value}}: defaults for the models created inside
        #: ``with network:`` (mlGeNN's compilers pass theirs, e.g. EventProp's)
        self.default_params = dict(default_params or {})
        self.populations = []
        self.connections = []
        self._pop_ids = itertools.count()
        self._conn_ids = itertools.count()
        # Copies of this network (pickled to a worker) share the id, so their
        # populations and connections compare equal to these
        self._uid = uuid.uuid4().hex

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

    @staticmethod
    def get_default_params(model_type) -> dict:
        """The default arguments the network being built gives ``model_type``."""
        if not Network._context:
            return {}
        return Network._context[-1].default_params.get(model_type, {})

    def load(self, keys, serialiser="numpy"):
        """Restore the weights that ``compiled.save(keys, serialiser)`` saved into
        this description (as Dense weight arrays), and learnt delays as the whole
        steps the trained engine delivered with (rounded half away from zero,
        clipped to [0, max_delay_steps]), so any compiler builds the trained
        network. Every array is checked before any is taken: a file from a
        different network changes nothing and raises ValueError."""
        from .connectivity import Dense
        from .serialisers import get_serialiser
        arrays = get_serialiser(serialiser).deserialise(keys)
        by_name = {conn.name: conn for conn in self.connections}
        restored = []
        for name, array in arrays.items():
            delay = name not in by_name and name.endswith(DELAY_SUFFIX)
            conn = by_name.get(name[:-len(DELAY_SUFFIX)] if delay else name)
            if conn is None:
                raise ValueError(f"saved parameters for keys {keys!r} hold connection "
                                 f"{name!r}, which this network does not have (it has "
                                 f"{sorted(by_name)})")
            what = "delays" if delay else "weight"
            expected = (conn.source.num_neurons, conn.target.num_neurons)
            if not isinstance(conn.connectivity, Dense) or array.shape != expected:
                raise ValueError(f"saved {what} of connection {conn.name!r} has shape "
                                 f"{array.shape}; this network's {conn!r} needs a Dense "
                                 f"(n_pre, n_post) = {expected} {what}")
            if delay:
                if not conn.max_delay_steps:
                    raise ValueError(f"saved delays of connection {conn.name!r}: this "
                                     f"network's {conn!r} has no max_delay_steps to bound them")
                array = np.clip(np.floor(np.asarray(array, dtype=np.float64) + 0.5), 0,
                                conn.max_delay_steps).astype(np.int64)
            restored.append((conn, what, array))
        for conn, what, array in restored:
            if what == "delays":
                conn.connectivity.delay = array
            else:
                conn.connectivity.weight = array

    def _add_population(self, pop, name):
        return self._add(pop, self.populations, name or f"Pop{next(self._pop_ids)}")

    def _add_connection(self, conn, name):
        return self._add(conn, self.connections, name or f"Conn{next(self._conn_ids)}")

    def _add(self, item, members, name):
        if any(m.name == name for m in members):
            raise ValueError(f"this network already has a {type(item).__name__} named "
                             f"{name!r}; names must be unique")
        item.name = name
        item._identity = (self._uid, type(item).__name__, name)
        members.append(item)

