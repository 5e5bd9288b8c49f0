"""Tiny hand-made data and models for the trainer tests (no neural_cotraining.models / dataset imports)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

IMAGE_SHAPE = (1, 2, 2)  # (C, H, W): 4 input features
N_FEATURES = 4


class CountingDataset(TensorDataset):
    """A TensorDataset that counts item reads (to prove batches are re-read, never cached) and carries attributes."""

    def __init__(self, *tensors, **attributes):
        super().__init__(*tensors)
        self.reads = 0
        for name, value in attributes.items():
            setattr(self, name, value)

    def __getitem__(self, index):
        self.reads += 1
        return super().__getitem__(index)


def make_loader(inputs, targets, batch_size=8, shuffle=True, seed=0, **attributes) -> DataLoader:
    dataset = CountingDataset(inputs, targets, **attributes)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)


def index_loader(n_items, batch_size=1, shuffle=True, seed=0, offset=0) -> DataLoader:
    """Batches whose element 0 carries the item indices (offset to tell loaders apart)."""
    values = torch.arange(offset, offset + n_items, dtype=torch.float32)
    return make_loader(values, values.clone(), batch_size=batch_size, shuffle=shuffle, seed=seed)


def classification_data(n, seed, n_classes=3):
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, n_classes, (n,), generator=generator)
    centres = torch.tensor([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 2.0, 0]])[:n_classes]
    inputs = centres[labels] + 0.7 * torch.randn(n, N_FEATURES, generator=generator)
    return inputs.reshape(n, *IMAGE_SHAPE), labels


def neural_data(n, seed, n_neurons, weights):
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(n, N_FEATURES, generator=generator)
    rates = F.elu(inputs @ weights) + 1
    return inputs.reshape(n, *IMAGE_SHAPE), torch.poisson(rates, generator=generator)


def flagship_dataloaders(seed=0, n_train=48, batch_size=8, extra_split=True):
    """img_classification (flat) + neural with two sessions, train/validation/test (+ a robustness split)."""
    weight_generator = torch.Generator().manual_seed(1000 + seed)
    session_weights = {"s1": torch.randn(N_FEATURES, 3, generator=weight_generator),
                       "s2": torch.randn(N_FEATURES, 2, generator=weight_generator)}
    loaders = {}
    sizes = {"train": n_train, "validation": 24, "test": 24}
    for offset, (split, n) in enumerate(sizes.items()):
        shuffle = split == "train"
        x, y = classification_data(n, seed + 10 * offset)
        split_loaders = {"img_classification": make_loader(x, y, batch_size, shuffle, seed + offset, n_classes=3)}
        neural = {}
        for index, (data_key, weights) in enumerate(session_weights.items()):
            xn, yn = neural_data(n // 2, seed + 10 * offset + index + 1, weights.shape[1], weights)
            neural[data_key] = make_loader(
                xn, yn, batch_size, shuffle, seed + offset + 5 * index, n_neurons=weights.shape[1]
            )
        split_loaders["neural"] = neural
        loaders[split] = split_loaders
    if extra_split:
        x, y = classification_data(16, seed + 99)
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed + 98))
        loaders["robustness"] = {
            "img_classification": {
                "gaussian_noise_0.5": make_loader(x + 0.5 * noise, y, batch_size, False),
                "clean": make_loader(x, y, batch_size, False),
            }
        }
    return loaders


class TinyMultiTaskModel(nn.Module):
    """Shared linear core, a classification head and one rate readout (elu + 1) per neural session."""

    def __init__(self, seed=0, n_classes=3, sessions=(("s1", 3), ("s2", 2)), dropout=0.1, hidden=8):
        super().__init__()
        torch.manual_seed(seed)
        self.core = nn.Sequential(nn.Flatten(), nn.Linear(N_FEATURES, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.classifier = nn.Linear(hidden, n_classes)
        self.readouts = nn.ModuleDict({data_key: nn.Linear(hidden, n) for data_key, n in sessions})

    def forward(self, x, task=None, data_key=None):
        features = self.core(x)
        if task == "img_classification":
            return self.classifier(features)
        if task == "neural":
            return F.elu(self.readouts[data_key](features)) + 1
        raise ValueError(f"unknown task {task!r}")


def state_dicts_equal(first, second) -> bool:
    return first.keys() == second.keys() and all(torch.equal(first[key], second[key]) for key in first)
