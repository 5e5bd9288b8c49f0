"""Fixtures for the model tests: one torch thread, and the flagship loader layout in miniature."""

from __future__ import annotations

import pytest

from tests.threads import torch_threads

from .tiny_data import classification_loader, neural_loader


@pytest.fixture(autouse=True)
def _few_threads():
    with torch_threads(1):
        yield


@pytest.fixture
def cotraining_loaders():
    """The flagship layout: digit-like 16x16 images for classification, 32x32 stimuli for two neural sessions."""
    return {
        "train": {
            "img_classification": classification_loader(),
            "neural": {
                "session_a": neural_loader(n_neurons=5, seed=1),
                "session.b": neural_loader(n_neurons=7, seed=2, size=24),
            },
        }
    }
