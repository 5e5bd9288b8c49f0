"""Tiny in-memory loaders for the model tests (built here: the models must not depend on the dataset package)."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

# small enough that every test builds and runs a model in milliseconds on two CPU cores
TINY_CORE = {"block_channels": [4, 6, 8], "convs_per_block": 1}


class ClassificationSet(TensorDataset):
    """Images and int64 labels with the ``n_classes`` attribute of the data contract."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, n_classes: int) -> None:
        super().__init__(images, labels)
        self.n_classes = n_classes


class NeuralSet(TensorDataset):
    """Stimuli and (N, n_neurons) float responses with the ``n_neurons`` attribute of the data contract."""

    def __init__(self, images: torch.Tensor, responses: torch.Tensor) -> None:
        super().__init__(images, responses)
        self.n_neurons = responses.shape[1]


def classification_loader(n=12, channels=1, size=16, n_classes=3, seed=0, with_attribute=True, shuffle=True):
    g = torch.Generator().manual_seed(seed)
    images = torch.randn(n, channels, size, size, generator=g)
    labels = torch.randint(0, n_classes, (n,), generator=g)
    dataset = ClassificationSet(images, labels, n_classes) if with_attribute else TensorDataset(images, labels)
    return DataLoader(dataset, batch_size=4, shuffle=shuffle, generator=torch.Generator().manual_seed(seed))


def neural_loader(n=12, channels=1, size=32, n_neurons=5, seed=0, rate=2.0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randn(n, channels, size, size, generator=g)
    responses = torch.poisson(torch.full((n, n_neurons), rate), generator=g)
    dataset = NeuralSet(images, responses)
    return DataLoader(dataset, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(seed))


def regression_loader(n=12, channels=1, size=16, n_outputs=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randn(n, channels, size, size, generator=g)
    shape = (n,) if n_outputs is None else (n, n_outputs)
    return DataLoader(TensorDataset(images, torch.randn(*shape, generator=g)), batch_size=4)
