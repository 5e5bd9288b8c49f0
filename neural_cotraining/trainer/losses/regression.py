"""Regression losses: mean squared error and Smooth-L1 (Huber with beta=1)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import TaskLoss, match_shapes
from .registry import register_loss

__all__ = ["MSELoss", "SmoothL1Loss"]


@register_loss("mse")
class MSELoss(TaskLoss):
    """Mean squared error; the Gaussian NLL up to scale and constant, so the regression likelihood form applies
    (Kendall, Gal & Cipolla 2018, eq. 7)."""

    kind = "regression"
    likelihood_form = "regression"

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        output = match_shapes(output, target, self.name)
        return F.mse_loss(output, target.to(output.dtype))


@register_loss("smooth_l1")
class SmoothL1Loss(TaskLoss):
    """Smooth-L1 (Huber, beta=1). Non-negative, so likelihood weighting's optimum s = log L stays finite."""

    kind = "regression"
    likelihood_form = "regression"

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        output = match_shapes(output, target, self.name)
        return F.smooth_l1_loss(output, target.to(output.dtype), beta=1.0)
