"""Initializers for parameters, state variables and weights."""
from .initializer import Initializer
from .normal import Normal
from .uniform import Uniform

__all__ = ["Initializer", "Normal", "Uniform"]
