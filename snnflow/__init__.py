"""snnflow: evaluate and train spiking neural networks at scale, with mlGeNN's API."""
__version__ = "0.1.0"

from .connection import Connection
from .layer import InputLayer, Layer
from .network import Network
from .population import Population
from .sequential_network import SequentialNetwork

from . import (callbacks, compilers, connectivity, initializers, losses, metrics,  # noqa: E402
               neurons, optimisers, readouts, serialisers, synapses, utils)


__all__ = ["Connection", "InputLayer", "Layer", "Network", "Population",
           "SequentialNetwork", "__version__", "callbacks", "compilers", "connectivity",
           "initializers", "losses", "metrics", "neurons", "optimisers", "readouts",
           "serialisers", "synapses", "utils"]
