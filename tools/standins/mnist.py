"""Offline stand-in for the ``mnist`` package mlGeNN's examples import: the same
functions and shapes (uint8 images (N, 28, 28), uint8 labels), made of ten
learnable class patterns with noise instead of downloaded digits.
SNNFLOW_STANDIN_EXAMPLES sets N (default 256)."""
import os

import numpy as np

datasets_url = ""


def _make(train):
    size = int(os.environ.get("SNNFLOW_STANDIN_EXAMPLES", "256"))
    rng = np.random.default_rng(1 if train else 2)
    templates = np.random.default_rng(0).random((10, 28, 28)) < 0.2
    labels = np.arange(size) % 10
    rng.shuffle(labels)
    keep = rng.random((size, 28, 28)) < 0.8
    noise = rng.random((size, 28, 28)) < 0.03
    images = (templates[labels] & keep) | noise
    intensity = rng.integers(128, 256, (size, 28, 28))
    return (images * intensity).astype(np.uint8), labels.astype(np.uint8)


def train_images():
    return _make(True)[0]


def train_labels():
    return _make(True)[1]


def test_images():
    return _make(False)[0]


def test_labels():
    return _make(False)[1]
