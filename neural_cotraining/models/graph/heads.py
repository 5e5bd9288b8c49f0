"""Task heads on feature vectors (N, F): binary (one logit), multi-class (n logits) and regression (k outputs).

The decoders of hard parameter sharing (Caruana 1997, "Multitask learning"; Ruder 2017, "An overview of multi-task
learning in deep neural networks"): an optional hidden layer and a linear map. Each head records its ``kind`` so the
default loss follows from it (:data:`HEAD_KIND_LOSSES`). The image heads of ``models.heads`` pool a feature map first;
these read vectors, e.g. the output of an MLP encoder.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from .modules import make_activation

logger = logging.getLogger(__name__)

__all__ = ["HEAD_KIND_LOSSES", "HEAD_KINDS", "DenseHead", "binary_head", "multiclass_head", "regression_head"]

HEAD_KINDS = ("binary", "multiclass", "regression")

#: the loss a head of each kind trains with unless a node names another
HEAD_KIND_LOSSES = {"binary": "bce_with_logits", "multiclass": "cross_entropy", "regression": "mse"}


class DenseHead(nn.Module):
    """[Linear -> activation -> Dropout] -> Linear, giving (N, n_outputs), or (N,) with ``squeeze_output``.

    Args:
        in_features: width of the features it reads.
        n_outputs: number of outputs (1 logit, n class logits, or k regression targets).
        kind: "binary", "multiclass" or "regression" (metadata: picks the default loss).
        hidden_features: width of the optional hidden layer (None or 0: none).
        dropout: dropout before the final linear layer.
        activation: activation of the hidden layer.
        squeeze_output: return (N,) instead of (N, 1) (targets of shape (N,)).
    """

    def __init__(
        self,
        in_features: int,
        n_outputs: int,
        kind: str,
        hidden_features: int | None = None,
        dropout: float = 0.0,
        activation: str = "relu",
        squeeze_output: bool = False,
    ) -> None:
        super().__init__()
        if kind not in HEAD_KINDS:
            raise ValueError(f"head kind must be one of {HEAD_KINDS}, got {kind!r}")
        if int(in_features) < 1 or int(n_outputs) < 1:
            raise ValueError(f"in_features and n_outputs must be >= 1, got {in_features} and {n_outputs}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"head dropout must be in [0, 1), got {dropout}")
        if squeeze_output and int(n_outputs) != 1:
            raise ValueError(f"squeeze_output needs n_outputs == 1, got {n_outputs}")
        self.kind = kind
        self.in_features = int(in_features)
        self.n_outputs = int(n_outputs)
        self.squeeze_output = bool(squeeze_output)
        layers: list[nn.Module] = []
        width = self.in_features
        if hidden_features:
            layers += [nn.Linear(width, int(hidden_features)), make_activation(activation)]
            width = int(hidden_features)
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(width, self.n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        out = self.layers(features.flatten(1))
        return out.squeeze(1) if self.squeeze_output else out

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, n_outputs={self.n_outputs}, squeeze_output={self.squeeze_output}"


def binary_head(
    in_features: int,
    hidden_features: int | None = None,
    dropout: float = 0.0,
    activation: str = "relu",
    squeeze_output: bool = True,
) -> DenseHead:
    """One logit per example, (N,) by default (targets in {0, 1} of shape (N,)); train with bce_with_logits."""
    return DenseHead(in_features, 1, "binary", hidden_features, dropout, activation, squeeze_output)


def multiclass_head(
    in_features: int,
    n_classes: int,
    hidden_features: int | None = None,
    dropout: float = 0.0,
    activation: str = "relu",
) -> DenseHead:
    """Class logits (N, n_classes) for int64 labels (N,); train with cross_entropy."""
    if int(n_classes) < 2:
        raise ValueError(f"a multi-class head needs n_classes >= 2, got {n_classes}")
    return DenseHead(in_features, n_classes, "multiclass", hidden_features, dropout, activation)


def regression_head(
    in_features: int,
    n_outputs: int = 1,
    hidden_features: int | None = None,
    dropout: float = 0.0,
    activation: str = "relu",
    squeeze_output: bool = False,
) -> DenseHead:
    """Unbounded real outputs (N, n_outputs), or (N,) with ``squeeze_output``; train with e.g. mse."""
    return DenseHead(in_features, n_outputs, "regression", hidden_features, dropout, activation, squeeze_output)
