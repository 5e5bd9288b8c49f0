"""Base class of the per-task losses the trainer looks up by name."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

__all__ = ["TaskLoss", "KINDS", "LIKELIHOOD_FORMS", "match_shapes"]

#: what a loss is for; decides the metrics reported for the task (see ``trainer.metrics``)
KINDS = ("classification", "binary", "regression", "neural")
#: the two forms of Kendall, Gal & Cipolla (2018) likelihood weighting
LIKELIHOOD_FORMS = ("regression", "classification")


def match_shapes(output: torch.Tensor, target: torch.Tensor, loss_name: str) -> torch.Tensor:
    """Return ``output`` shaped like ``target`` for an element-wise loss.

    (N, 1) vs (N,) is reshaped instead of silently broadcast to (N, N); any other mismatch is an error.
    """
    if output.shape == target.shape:
        return output
    if output.numel() == target.numel() and output.shape[:1] == target.shape[:1]:
        return output.reshape(target.shape)
    raise ValueError(
        f"{loss_name} loss: model output of shape {tuple(output.shape)} does not match target of shape "
        f"{tuple(target.shape)}"
    )


class TaskLoss(nn.Module):
    """A loss for one task: ``loss(output, target) -> scalar`` (mean over the batch and output elements).

    Class attributes describe it to the rest of the trainer:

    - ``name``: the config name, e.g. ``"poisson"``.
    - ``kind``: one of ``KINDS``; chooses the task's metrics.
    - ``likelihood_form``: ``"regression"`` or ``"classification"`` if the loss is a properly normalised negative
      log-likelihood (bounded below by 0), so learned likelihood weighting may use it; ``None`` otherwise, with the
      reason in ``not_a_likelihood_because``.

    A loss may own learnable parameters (e.g. the negative binomial's dispersion); the trainer optimises them
    without weight decay.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    likelihood_form: ClassVar[str | None] = None
    not_a_likelihood_because: ClassVar[str] = ""

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"name={self.name!r}, kind={self.kind!r}, likelihood_form={self.likelihood_form!r}"
