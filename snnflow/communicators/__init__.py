"""Communicators: what ranks of a data-parallel training run share (mlGeNN's
``communicators``)."""
from .communicator import Communicator
from .mpi import MPI

__all__ = ["Communicator", "MPI"]
