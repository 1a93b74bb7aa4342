"""Offline stand-in for tonic.datasets.SHD: 700 channels, 20 classes, events as
tonic gives them (structured array, fields t (microseconds), x, p; ordering
"txp"), made of class-specific chirps of channels plus noise instead of the
downloaded recordings. SNNFLOW_STANDIN_EXAMPLES sets the number of examples
(default 256), SNNFLOW_STANDIN_TRAIN_EXAMPLES / SNNFLOW_STANDIN_TEST_EXAMPLES that
of the training / test set alone, SNNFLOW_STANDIN_DURATION_MS their length
(default 1000 ms, as SHD)."""
import os

import numpy as np

_DTYPE = np.dtype([("t", "<i8"), ("x", "<i8"), ("p", "<i8")])


class SHD:
    sensor_size = (700, 1, 1)
    ordering = _DTYPE.names
    classes = [f"class {i}" for i in range(20)]
    dtype = _DTYPE

    def __init__(self, save_to=None, train=True, transform=None, target_transform=None):
        size = os.environ.get("SNNFLOW_STANDIN_EXAMPLES", "256")
        self.size = int(os.environ.get("SNNFLOW_STANDIN_TRAIN_EXAMPLES" if train else
                                       "SNNFLOW_STANDIN_TEST_EXAMPLES", size))
        self.duration_us = int(float(os.environ.get("SNNFLOW_STANDIN_DURATION_MS",
                                                    "1000")) * 1000)
        self.seed = 1 if train else 2
        self.transform = transform
        self.target_transform = target_transform
        labels = np.arange(self.size) % 20
        np.random.default_rng(self.seed).shuffle(labels)
        self.labels = labels

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        label = int(self.labels[index])
        rng = np.random.default_rng([self.seed, index])
        # A chirp: channels sweep from the class's start channel over the example
        num_events = 400
        times = np.sort(rng.integers(0, self.duration_us, num_events))
        start = label * 30
        channels = start + (times / self.duration_us * 100).astype(int) \
            + rng.integers(-5, 6, num_events)
        noise = rng.random(num_events) < 0.2
        channels[noise] = rng.integers(0, 700, noise.sum())
        events = np.empty(num_events, dtype=_DTYPE)
        events["t"], events["x"], events["p"] = times, np.clip(channels, 0, 699), 1
        if self.transform is not None:
            events = self.transform(events)
        return events, (label if self.target_transform is None
                        else self.target_transform(label))
