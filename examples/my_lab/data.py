"""Dataset builder, ``dataset_fn(seed, **config) -> dataloaders``: two tasks on the same random input vectors.

- ``"sign"``: classification (int64 labels 0/1): is the sum of the first half of the features positive?
- ``"level"``: regression (float32, shape (N,)): a fixed random linear function of the features plus noise.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

SPLITS = ("train", "validation", "test")
TASKS = ("sign", "level")


class LabelledVectors(TensorDataset):
    """A TensorDataset that says how many classes its labels have (the model builder reads it)."""

    def __init__(self, inputs, labels, n_classes):
        super().__init__(inputs, labels)
        self.n_classes = n_classes


def two_task_vectors(seed, n_samples=256, n_features=8, noise=0.1, batch_size=32):
    """``{split: {"sign": DataLoader, "level": DataLoader}}``; the data and batch order depend only on ``seed``."""
    if n_features < 2:
        raise ValueError(f"n_features must be at least 2, got {n_features}")
    generator = torch.Generator().manual_seed(int(seed))
    level_weights = torch.randn(n_features, generator=generator)
    loaders = {}
    for split in SPLITS:
        inputs = torch.randn(n_samples, n_features, generator=generator)
        sign = (inputs[:, : n_features // 2].sum(dim=1) > 0).long()
        level = inputs @ level_weights + noise * torch.randn(n_samples, generator=generator)
        datasets = {"sign": LabelledVectors(inputs, sign, n_classes=2), "level": TensorDataset(inputs, level)}
        loaders[split] = {}
        for index, task in enumerate(TASKS):
            shuffle = split == "train"
            # a shuffling loader gets its own generator, so the trainer can reseed it every epoch
            own = torch.Generator().manual_seed(int(seed) * len(TASKS) + index) if shuffle else None
            loaders[split][task] = DataLoader(datasets[task], batch_size=batch_size, shuffle=shuffle, generator=own)
    return loaders
