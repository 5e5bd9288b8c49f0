"""Learned likelihood (homoscedastic uncertainty) weighting.

Kendall, Gal & Cipolla (2018), "Multi-task learning using uncertainty to weigh losses for scene geometry and
semantics", CVPR. Each task t has a learned log-variance s_t = log sigma_t^2 and contributes

- regression form (Gaussian likelihood):            ``0.5 * exp(-s) * L + 0.5 * s``  (optimum s = log L)
- classification form (softmax with temperature):   ``exp(-s) * L + 0.5 * s``        (optimum s = log 2L)

The form comes from the task's loss (``TaskLoss.likelihood_form``). The derivation needs L to be a properly
normalised negative log-likelihood: for L <= 0 the objective has no minimum in s and s runs to -inf, so losses that
are not (``poisson_partial``) are refused. The reported ``loss_weight`` is the factor in front of L
(``0.5 * exp(-s)`` or ``exp(-s)``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ..losses import LIKELIHOOD_FORMS
from .base import LossWeighting

__all__ = ["LikelihoodWeighting"]

FORM_FACTORS = {"regression": 0.5, "classification": 1.0}


class LikelihoodWeighting(LossWeighting):
    """One learned log-variance per task; see the module docstring."""

    name = "likelihood"

    def __init__(self, tasks: Sequence[str], forms: Mapping[str, str], initial_log_variance: float | Mapping = 0.0):
        super().__init__(tasks)
        missing = [task for task in self.tasks if task not in forms]
        if missing:
            raise ValueError(f"likelihood weighting needs a form for task(s) {missing}")
        for task in self.tasks:
            if forms[task] not in LIKELIHOOD_FORMS:
                raise ValueError(
                    f"likelihood form of task {task!r} must be one of {LIKELIHOOD_FORMS}, got {forms[task]!r}"
                )
        self.forms = {task: forms[task] for task in self.tasks}
        initial = self._initial_values(initial_log_variance)
        self.log_variances = nn.Parameter(torch.tensor(initial, dtype=torch.float32))
        self.register_buffer(
            "factors", torch.tensor([FORM_FACTORS[self.forms[task]] for task in self.tasks], dtype=torch.float32)
        )
        self._index = {task: index for index, task in enumerate(self.tasks)}

    def _initial_values(self, initial) -> list[float]:
        if isinstance(initial, Mapping):
            unknown = set(initial) - set(self.tasks)
            if unknown:
                raise ValueError(f"initial_log_variance names unknown task(s) {sorted(unknown)}")
            values = [initial.get(task, 0.0) for task in self.tasks]
        else:
            values = [initial] * len(self.tasks)
        for value in values:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"initial_log_variance must be a finite number (or {{task: number}}), got {value!r}")
        return [float(value) for value in values]

    @classmethod
    def from_losses(cls, losses, **options):
        forms = {}
        for task, loss in losses.items():
            if getattr(loss, "likelihood_form", None) is None:
                reason = getattr(loss, "not_a_likelihood_because", "") or "it is not a normalised likelihood"
                raise ValueError(
                    f"likelihood loss weighting cannot use the loss {getattr(loss, 'name', type(loss).__name__)!r} "
                    f"of task {task!r}: {reason}"
                )
            forms[task] = loss.likelihood_form
        return cls(list(losses), forms=forms, **options)

    def combine(self, task_losses):
        total = torch.zeros((), device=self.log_variances.device)
        for task, loss in task_losses.items():
            s = self.log_variances[self._index[task]]
            total = total + self.factors[self._index[task]] * torch.exp(-s) * loss + 0.5 * s
        return total

    def weights(self):
        values = (self.factors * torch.exp(-self.log_variances.detach())).tolist()
        return dict(zip(self.tasks, values))

    def report(self):
        log_variances = self.log_variances.detach().tolist()
        return {
            task: {"loss_weight": weight, "log_variance": log_variances[self._index[task]]}
            for task, weight in self.weights().items()
        }
