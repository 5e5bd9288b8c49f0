"""Fixtures for the model tests: one torch thread, and the flagship loader layout in miniature."""

from __future__ import annotations

import pytest
import torch

from .tiny_data import classification_loader, neural_loader


@pytest.fixture(autouse=True)
def _few_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


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
