"""Dynamic Weight Average (DWA).

Liu, Johns & Davison (2019), "End-to-end multi-task learning with attention", CVPR, eq. 7. During epoch t task k's
loss is weighted

    lambda_k(t) = K * exp(w_k(t-1) / T) / sum_i exp(w_i(t-1) / T),      w_k(t-1) = L_k(t-1) / L_k(t-2),

where L_k(e) is task k's mean training loss over epoch e, K the number of tasks (so the weights sum to K) and T the
temperature (T -> inf: equal weights; small T: the task whose loss fell least dominates). In the first two epochs
(no two past losses yet) every weight is 1. Tasks whose loss decreases slowly get more weight. A task without loss
in one of the two epochs (no batches), or whose older mean loss is 0, gets the neutral ratio 1; a negative mean loss
is refused (the ratio of losses is meaningless then).

The two most recent epochs' mean losses are the only state; they are in ``state_dict()`` (extra state, plain floats),
so a resumed run uses exactly the weights the uninterrupted one would.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch

from ...common.value_checks import check_number
from .base import LossWeighting, weighted_sum
from .registry import register_weighting

__all__ = ["DynamicWeightAverage"]


@register_weighting("dwa")
class DynamicWeightAverage(LossWeighting):
    """Weights from the ratio of each task's mean loss in the previous two epochs; see the module docstring."""

    def __init__(self, tasks: Sequence[str], temperature: float = 2.0):
        super().__init__(tasks)
        self.temperature = check_number("dwa temperature", temperature, minimum=0.0, strict=True)
        self._history: list[dict[str, float]] = []  # mean losses of the last two epochs, oldest first
        self._weights = {task: 1.0 for task in self.tasks}

    def epoch_end(self, epoch_losses: Mapping[str, float]) -> None:
        self.check_tasks(epoch_losses)
        losses = {}
        for task, value in epoch_losses.items():
            value = float(value)
            if not math.isfinite(value) or value < 0:
                raise ValueError(
                    f"dwa needs finite non-negative epoch losses, task {task!r} has mean training loss {value}"
                )
            losses[task] = value
        self._history = [*self._history, losses][-2:]
        self._weights = self._compute_weights()

    def _compute_weights(self) -> dict[str, float]:
        if len(self._history) < 2:
            return {task: 1.0 for task in self.tasks}
        older, newer = self._history
        ratios = [
            newer[task] / older[task] if task in older and task in newer and older[task] > 0 else 1.0
            for task in self.tasks
        ]
        # float64 softmax: exact enough that resumed and uninterrupted runs agree bit for bit (same inputs anyway)
        weights = len(self.tasks) * torch.softmax(torch.tensor(ratios, dtype=torch.float64) / self.temperature, 0)
        return dict(zip(self.tasks, weights.tolist()))

    def combine(self, task_losses):
        return weighted_sum(self._weights, task_losses)

    def weights(self):
        return dict(self._weights)

    def get_extra_state(self) -> dict:
        return {"history": [dict(losses) for losses in self._history]}

    def set_extra_state(self, state) -> None:
        history = state.get("history") if isinstance(state, Mapping) else None
        if not isinstance(history, list) or len(history) > 2 or not all(isinstance(h, Mapping) for h in history):
            raise ValueError(f"not a dwa state (expected {{'history': [<= 2 dicts of task losses]}}): {state!r}")
        self._history = [{str(task): float(value) for task, value in losses.items()} for losses in history]
        self._weights = self._compute_weights()
