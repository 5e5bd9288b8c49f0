"""Per-task weights as a task-graph model declares them: a fixed number, or "auto" for learned likelihood weighting.

Tasks with a number keep that constant weight (``FixedWeighting``); tasks with ``"auto"`` get a learned log-variance
each (``LikelihoodWeighting``, Kendall, Gal & Cipolla 2018), so a weight is never a raw learned multiplier that could
go negative. The two parts are composed, not inherited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from .base import LossWeighting
from .registry import register_weighting
from .fixed import FixedWeighting
from .likelihood import LikelihoodWeighting

__all__ = ["DeclaredWeighting"]

AUTO = "auto"


@register_weighting("declared")
class DeclaredWeighting(LossWeighting):
    """``weights={task: number | "auto"}`` (missing tasks: 1.0); ``initial_log_variance={task: s0}`` for auto ones."""

    option_names = ("weights", "initial_log_variance")  # options of from_losses; the constructor takes the parts

    def __init__(self, tasks: Sequence[str], fixed: FixedWeighting | None, learned: LikelihoodWeighting | None):
        super().__init__(tasks)
        self.fixed = fixed
        self.learned = learned

    @classmethod
    def from_losses(cls, losses, weights: Mapping | None = None, initial_log_variance: Mapping | None = None):
        weights = dict(weights or {})
        unknown = sorted(set(weights) - set(losses))
        if unknown:
            raise ValueError(f"loss weights given for unknown task(s) {unknown}; tasks are {list(losses)}")
        auto = [task for task in losses if weights.get(task) == AUTO]
        numeric = [task for task in losses if task not in auto]
        initial = {task: value for task, value in (initial_log_variance or {}).items() if task in auto}
        fixed = FixedWeighting(numeric, {task: weights[task] for task in numeric if task in weights}) if numeric else None
        learned = (
            LikelihoodWeighting.from_losses({task: losses[task] for task in auto}, initial_log_variance=initial)
            if auto
            else None
        )
        return cls(list(losses), fixed, learned)

    def _parts(self) -> list[LossWeighting]:
        return [part for part in (self.fixed, self.learned) if part is not None]

    def combine(self, task_losses):
        totals = []
        for part in self._parts():
            subset = {task: loss for task, loss in task_losses.items() if task in part.tasks}
            if subset:
                totals.append(part.combine(subset))
        if not totals:
            raise ValueError("no task loss to combine")
        return torch.stack(totals).sum()

    def weights(self):
        return {task: weight for part in self._parts() for task, weight in part.weights().items()}

    def report(self):
        return {task: entry for part in self._parts() for task, entry in part.report().items()}

    def used_values(self, tasks):
        return {
            task: values
            for part in self._parts()
            for task, values in part.used_values([task for task in tasks if task in part.tasks]).items()
        }

    def after_step(self) -> None:
        if self.learned is not None:
            self.learned.after_step()
