"""Communicator: the collective operations data-parallel training needs."""
from __future__ import annotations


class Communicator:
    """The ranks of one training run, each a process holding a copy of the network.

    ``reduce_sum`` returns the sum of a value (number or NumPy array) over all
    ranks, the same on every rank; ``broadcast`` overwrites a NumPy array in place
    with root's; ``all_gather`` returns every rank's value, in rank order."""

    def barrier(self):
        raise NotImplementedError

    def broadcast(self, data, root: int):
        raise NotImplementedError

    def reduce_sum(self, value):
        raise NotImplementedError

    def all_gather(self, value) -> list:
        raise NotImplementedError

    @property
    def rank(self) -> int:
        raise NotImplementedError

    @property
    def num_ranks(self) -> int:
        raise NotImplementedError
