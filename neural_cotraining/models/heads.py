"""Image-level task heads that read a core's feature map: classification logits and regression outputs.

Both pool the feature map globally (as in Lin et al. 2014, "Network in network"), so one head serves inputs of any
spatial size, then apply an optional hidden layer and a linear map. Heads share the call signature of the neural
readouts, ``head(features, data_key=None)``; image heads ignore ``data_key`` because robustness test sets reuse the
classification head under data_keys that name the corruption.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

logger = logging.getLogger(__name__)


class PooledLinearHead(nn.Module):
    """Global average pool -> [Linear -> ReLU -> Dropout] -> Linear, giving (N, n_outputs).

    Args:
        in_channels: channels of the core features it reads.
        n_outputs: number of outputs (classes for classification).
        hidden_features: width of the optional hidden layer (None or 0: no hidden layer).
        dropout: dropout before the final linear layer.
        squeeze_output: return (N,) instead of (N, 1) (for a scalar regression target of shape (N,)).
    """

    def __init__(
        self,
        in_channels: int,
        n_outputs: int,
        hidden_features: int | None = None,
        dropout: float = 0.0,
        squeeze_output: bool = False,
    ) -> None:
        super().__init__()
        if int(in_channels) < 1 or int(n_outputs) < 1:
            raise ValueError(f"in_channels and n_outputs must be >= 1, got {in_channels} and {n_outputs}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"head dropout must be in [0, 1), got {dropout}")
        if squeeze_output and n_outputs != 1:
            raise ValueError(f"squeeze_output needs n_outputs == 1, got {n_outputs}")
        self.n_outputs = int(n_outputs)
        self.squeeze_output = squeeze_output
        layers: list[nn.Module] = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        width = int(in_channels)
        if hidden_features:
            layers += [nn.Linear(width, int(hidden_features)), nn.ReLU()]
            width = int(hidden_features)
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(width, self.n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor, data_key: str | None = None) -> torch.Tensor:
        out = self.layers(features)
        return out.squeeze(1) if self.squeeze_output else out


class ClassificationHead(PooledLinearHead):
    """Class logits (N, n_classes); train with cross-entropy."""

    def __init__(
        self, in_channels: int, n_classes: int, hidden_features: int | None = None, dropout: float = 0.0
    ) -> None:
        if int(n_classes) < 2:
            raise ValueError(f"a classification head needs n_classes >= 2, got {n_classes}")
        super().__init__(in_channels, n_classes, hidden_features=hidden_features, dropout=dropout)
        self.n_classes = int(n_classes)


class RegressionHead(PooledLinearHead):
    """Unbounded real outputs, (N, n_outputs) or (N,) with ``squeeze_output``; train with e.g. MSE."""
