"""Fixed, user-given loss weights."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ...common.value_checks import check_number
from .base import LossWeighting, weighted_sum
from .registry import register_weighting

__all__ = ["FixedWeighting"]


@register_weighting("fixed")
class FixedWeighting(LossWeighting):
    """``sum_t w_t * L_t`` with constant non-negative weights (default 1 for every task)."""

    def __init__(self, tasks: Sequence[str], weights: Mapping[str, float] | None = None):
        super().__init__(tasks)
        weights = dict(weights or {})
        unknown = set(weights) - set(self.tasks)
        if unknown:
            raise ValueError(f"loss weights given for unknown task(s) {sorted(unknown)}; tasks are {list(self.tasks)}")
        checked = {task: check_number(f"the loss weight of task {task!r}", weight, minimum=0.0)
                   for task, weight in weights.items()}
        self._weights = {task: checked.get(task, 1.0) for task in self.tasks}

    def combine(self, task_losses):
        return weighted_sum(self._weights, task_losses)

    def weights(self):
        return dict(self._weights)
