"""Building blocks of task-graph nodes: wrappers for several anchors (concat, select), a sequential stack that
passes several anchors to its first layer, and a plain multi-layer perceptron.

A node's layers are called as ``layers(*anchor_outputs)``, one positional argument per anchor.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from torch import nn

logger = logging.getLogger(__name__)

__all__ = ["ACTIVATIONS", "Concat", "GraphSequential", "MLP", "Select", "make_activation"]

ACTIVATIONS = {
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "softplus": nn.Softplus,  # positive outputs, e.g. firing rates for a Poisson loss
    "leaky_relu": nn.LeakyReLU,
}


def make_activation(name: str) -> nn.Module:
    """A fresh activation module by name (see :data:`ACTIVATIONS`)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; known: {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def _as_tensors(inputs: tuple, what: str) -> Sequence[torch.Tensor]:
    """The anchors' tensors; a single tuple/list input (a node returning several tensors) is unpacked."""
    if len(inputs) == 1 and isinstance(inputs[0], (tuple, list)):
        inputs = tuple(inputs[0])
    if not inputs or not all(isinstance(t, torch.Tensor) for t in inputs):
        raise TypeError(f"{what} needs tensors, got {[type(t).__name__ for t in inputs]}")
    return inputs


class Concat(nn.Module):
    """Concatenate the anchors' outputs along ``dim`` (e.g. the features of two branches)."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = int(dim)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat(list(_as_tensors(inputs, "concat")), dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Select(nn.Module):
    """Pick one input, or part of one tensor.

    Without ``dim``: the ``index``-th anchor output (or the ``index``-th element of a single tuple/list output).
    With ``dim``: from a single tensor, ``index`` along ``dim`` (an int drops that dim; ``[start, stop]`` keeps it),
    e.g. one output column of a shared regression head.
    """

    def __init__(self, index: int | Sequence[int], dim: int | None = None) -> None:
        super().__init__()
        if dim is None and not isinstance(index, int):
            raise TypeError(f"select without dim needs an int index, got {index!r}")
        if not isinstance(index, int) and (len(index) != 2 or not all(isinstance(i, int) for i in index)):
            raise TypeError(f"select index must be an int or [start, stop], got {index!r}")
        self.index = index if isinstance(index, int) else (int(index[0]), int(index[1]))
        self.dim = None if dim is None else int(dim)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self.dim is None:
            choices = _as_tensors(inputs, "select")
            if not -len(choices) <= self.index < len(choices):
                raise IndexError(f"select index {self.index} is out of range for {len(choices)} inputs")
            return choices[self.index]
        if len(inputs) != 1 or not isinstance(inputs[0], torch.Tensor):
            raise TypeError(f"select with dim={self.dim} needs exactly one tensor input, got {len(inputs)} inputs")
        if isinstance(self.index, int):
            return inputs[0].select(self.dim, self.index)
        start, stop = self.index
        return inputs[0].narrow(self.dim, start, stop - start)

    def extra_repr(self) -> str:
        return f"index={self.index}, dim={self.dim}"


class GraphSequential(nn.Sequential):
    """``nn.Sequential`` whose first layer receives all anchor outputs, e.g. ``[concat, linear]``."""

    def __init__(self, *layers: nn.Module) -> None:
        if not layers:
            raise ValueError("a sequential node needs at least one layer")
        super().__init__(*layers)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        modules = iter(self)
        out = next(modules)(*inputs)
        for module in modules:
            out = module(out)
        return out


class MLP(nn.Module):
    """Flatten -> (Linear -> [BatchNorm] -> activation -> [Dropout]) per hidden layer -> Linear.

    Args:
        sizes: [in_features, hidden..., out_features] (at least two numbers).
        activation: name in :data:`ACTIVATIONS`.
        dropout: dropout after each hidden activation.
        batch_norm: batch-normalise each hidden layer (before the activation, Ioffe & Szegedy 2015).
        activate_last: treat the last layer like a hidden one (for an encoder whose features feed heads).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
        activate_last: bool = False,
    ) -> None:
        super().__init__()
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"mlp sizes must be at least [in_features, out_features], all >= 1, got {sizes}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"mlp dropout must be in [0, 1), got {dropout}")
        make_activation(activation)  # fail early on a bad name
        self.sizes = sizes
        layers: list[nn.Module] = [nn.Flatten()]  # (N, C, H, W) images and (N, F) tables alike
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2 or activate_last:
                if batch_norm:
                    layers.append(nn.BatchNorm1d(n_out))
                layers.append(make_activation(activation))
                if dropout > 0:
                    layers.append(nn.Dropout(dropout))
        self.layers = nn.Sequential(*layers)

    @property
    def out_features(self) -> int:
        return self.sizes[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
