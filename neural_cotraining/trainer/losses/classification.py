"""Classification losses: multi-class cross-entropy and binary / multi-label cross-entropy on logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import TaskLoss, match_shapes
from .registry import register_loss

__all__ = ["CrossEntropyLoss", "BCEWithLogitsLoss"]


@register_loss("cross_entropy")
class CrossEntropyLoss(TaskLoss):
    """Softmax cross-entropy on logits (N, C) against int64 labels (N,): the categorical NLL."""

    kind = "classification"
    likelihood_form = "classification"

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if output.ndim != 2:
            raise ValueError(f"cross_entropy loss expects logits of shape (N, n_classes), got {tuple(output.shape)}")
        return F.cross_entropy(output, target)


@register_loss("bce_with_logits")
class BCEWithLogitsLoss(TaskLoss):
    """Sigmoid binary cross-entropy on logits, element-wise (binary or multi-label targets in [0, 1])."""

    kind = "binary"
    likelihood_form = "classification"

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        output = match_shapes(output, target, self.name)
        return F.binary_cross_entropy_with_logits(output, target.to(output.dtype))
