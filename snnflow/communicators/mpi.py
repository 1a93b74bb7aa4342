"""MPI: a Communicator over mpi4py's COMM_WORLD (start ranks with mpirun -n N)."""
from __future__ import annotations

import numpy as np

from .communicator import Communicator


class MPI(Communicator):
    """Ranks of ``MPI.COMM_WORLD``. Needs mpi4py and an MPI runtime (the ``mpi4py``
    and ``mpich`` packages from PyPI provide both, and ``mpiexec``)."""

    def __init__(self):
        try:
            from mpi4py import MPI as mpi
        except ImportError as error:
            raise ImportError("communicators.MPI needs mpi4py and an MPI runtime: "
                              "pip install mpi4py mpich") from error
        self._mpi = mpi
        self.comm = mpi.COMM_WORLD
        self._rank = self.comm.Get_rank()
        self._num_ranks = self.comm.Get_size()

    def barrier(self):
        self.comm.Barrier()

    def broadcast(self, data, root: int):
        if not isinstance(data, np.ndarray) or not data.flags.c_contiguous:
            raise TypeError(f"MPI.broadcast fills a C-contiguous NumPy array in place, "
                            f"got {type(data).__name__}")
        self.comm.Bcast(data, root=root)

    def reduce_sum(self, value):
        if isinstance(value, np.ndarray):
            send = np.ascontiguousarray(value)
            total = np.empty_like(send)
            self.comm.Allreduce(send, total, op=self._mpi.SUM)
            return total
        return self.comm.allreduce(value, op=self._mpi.SUM)

    def all_gather(self, value) -> list:
        return self.comm.allgather(value)

    @property
    def rank(self) -> int:
        return self._rank

    @property
    def num_ranks(self) -> int:
        return self._num_ranks
