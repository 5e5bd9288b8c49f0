"""Model builder, ``model_fn(dataloaders, seed, **config) -> nn.Module``: a shared MLP trunk with one head per task."""

from __future__ import annotations

import torch
from torch import nn


class SharedTrunkMLP(nn.Module):
    """``model(x, task=...)``: the trunk is shared by all tasks (hard parameter sharing), the heads are not."""

    def __init__(self, n_features, hidden, outputs):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.heads = nn.ModuleDict({task: nn.Linear(hidden, n) for task, n in outputs.items()})

    def forward(self, x, task=None, data_key=None):
        output = self.heads[task](self.trunk(x))
        return output.squeeze(1) if output.shape[1] == 1 else output  # regression targets are (N,)


def shared_mlp(dataloaders, seed, hidden=32):
    """Shapes come from one training batch per task: the class count from ``dataset.n_classes``, else one output."""
    outputs = {}
    for task, loader in dataloaders["train"].items():
        inputs, _ = next(iter(loader))
        outputs[task] = getattr(loader.dataset, "n_classes", 1)
    with torch.random.fork_rng(devices=[]):  # the same seed gives the same weights; the global RNG is left alone
        torch.manual_seed(int(seed))
        return SharedTrunkMLP(inputs.shape[1], hidden, outputs)
