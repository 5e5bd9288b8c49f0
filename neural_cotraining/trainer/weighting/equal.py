"""Equal weighting: the uniform baseline every multi-task weighting paper compares against.

``sum_t L_t`` (weight 1 per task, the default) or, with ``average=True``, ``(1/T) sum_t L_t`` over the T tasks
the weighting knows (not only those present in a round, so a round's scale does not depend on which tasks it holds).
The "equal weighting" (EW) baseline of e.g. Kendall, Gal & Cipolla (2018) and Liu, Johns & Davison (2019). Same as
``fixed`` with no weights given; it exists so configs can say what they mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .base import LossWeighting
from .registry import register_weighting

__all__ = ["EqualWeighting"]


@register_weighting("equal")
class EqualWeighting(LossWeighting):
    """Every task's loss weighted 1 (or 1/T with ``average=True``); see the module docstring."""

    def __init__(self, tasks: Sequence[str], average: bool = False):
        super().__init__(tasks)
        if not isinstance(average, bool):
            raise ValueError(f"equal weighting: average must be true or false, got {average!r}")
        self.average = average
        self.weight = 1.0 / len(self.tasks) if average else 1.0

    def combine(self, task_losses):
        if not task_losses:
            raise ValueError("no task loss to combine")
        return self.weight * torch.stack(list(task_losses.values())).sum()

    def weights(self):
        return {task: self.weight for task in self.tasks}
