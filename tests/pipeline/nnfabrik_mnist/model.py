"""nnfabrik's ``mnist_model_fn``: a one-hidden-layer perceptron on the flattened image."""

from typing import Dict

import numpy as np
import torch
import torch.nn as nn


class MNISTModel(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, h_dim: int = 5) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_dim, h_dim)
        self.fc2 = nn.Linear(h_dim, out_dim)
        self.nl = nn.ReLU()
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.softmax(self.fc2(self.nl(self.fc1(x))))


def mnist_model_fn(dataloaders: Dict, seed: int, **config) -> torch.nn.Module:
    """The input size comes from the first training batch; ``h_dim`` (5) hidden units; initialised from ``seed``."""
    first_input, _ = next(iter(dataloaders["train"]))
    in_dim = int(np.prod(first_input.shape[1:]))
    torch.manual_seed(seed)
    return MNISTModel(in_dim, 10, h_dim=config.get("h_dim", 5))
