"""snnflow: evaluate and train spiking neural networks at scale, with mlGeNN's API."""
from .connection import Connection
from .layer import InputLayer, Layer
from .network import Network, SequentialNetwork
from .population import Population

__version__ = "0.1.0"

__all__ = ["Connection", "InputLayer", "Layer", "Network", "Population",
           "SequentialNetwork", "__version__"]
