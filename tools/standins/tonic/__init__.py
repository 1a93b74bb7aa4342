"""Offline stand-in for the parts of ``tonic`` mlGeNN's SHD examples use."""
from . import datasets


class DiskCachedDataset:
    def __init__(self, dataset, cache_path=None, **kwargs):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        return self.dataset[index]


__all__ = ["DiskCachedDataset", "datasets"]
