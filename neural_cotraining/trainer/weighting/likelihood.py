"""Learned likelihood (homoscedastic uncertainty) weighting.

Kendall, Gal & Cipolla (2018), "Multi-task learning using uncertainty to weigh losses for scene geometry and
semantics", CVPR. Each task t has a learned log-variance s_t = log sigma_t^2 and contributes

- regression form (Gaussian likelihood):            ``0.5 * exp(-s) * L + 0.5 * s``  (optimum s = log L)
- classification form (softmax with temperature):   ``exp(-s) * L + 0.5 * s``        (optimum s = log 2L)

The form comes from the task's loss (``TaskLoss.likelihood_form``). The derivation needs L to be a properly
normalised negative log-likelihood: for L <= 0 the objective has no minimum in s and s runs to -inf, so losses that
are not (``poisson_partial``) are refused. The reported ``loss_weight`` is the factor in front of L
(``0.5 * exp(-s)`` or ``exp(-s)``), averaged over the rounds of the epoch.

**The runaway it must not have.** The optimum s = log 2L follows a loss that goes to ~0 (cross-entropy on an easy
training set) down to -inf, and the weight 1/(2L) grows without bound, which switches every other task off (the demo
measured a classification weight of 8.7 after 30 epochs, still rising, and a neural correlation of 0.60 co-trained
against 0.76 alone). Two options stop it:

- ``log_variance_decay`` (lambda >= 0) adds ``0.5 * lambda * s^2`` to the objective: a Gaussian prior on s, the
  same gradient as the coupled L2 ``weight_decay`` of ``torch.optim.Adam`` that the original co-trainer (Safarani et
  al., NeurIPS 2021) applied to every parameter, the log-variances included (5e-4). The optimum then solves
  ``exp(-s) L = 0.5 + lambda s`` (classification form), so for L -> 0 it stays at s ~ -0.5/lambda: 5e-4 bounds s
  only near -1000, i.e. not in practice; lambda ~ 1 keeps the weight within a few times its start.
- ``log_variance_bounds`` ``[low, high]`` (either may be None) projects s into the interval after every optimiser
  step, so no weight ever exceeds ``factor * exp(-low)``.

``count_tasks``: how tasks with a count likelihood (Poisson / negative binomial) are weighed. ``"kendall"`` (default)
gives them the regression form like any other task. ``"dispersion"`` is the original co-trainer's scheme: such a
task carries no Kendall factor at all (weight 1, no log-variance); its loss is a negative binomial whose learned
dispersion plays the part of the uncertainty (the trainer builder swaps ``poisson`` for ``negative_binomial`` when
this option is set; a task whose loss has no learned dispersion is refused here). ``"deviance"`` gives them the
regression form on the Poisson deviance instead of the NLL (the trainer builder swaps ``poisson`` for
``poisson_deviance``): Nelder & Pregibon's (1987) extended quasi-likelihood, whose optimum s = log D follows what the
model has learned instead of sitting on the counts' entropy (the Poisson NLL's free optimum holds the neurons'
weight near 0.5/2.5 = 0.2 on the demo's neurons whatever is learned). Paired with ``log_variance_decay: 1.0`` (a
unit Gaussian prior on every s, stated scale sd 1) the classification weight stays below exp(0.5) as its loss
vanishes, without a bound.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ...common.value_checks import check_number
from ..losses import LIKELIHOOD_FORMS
from .base import LossWeighting
from .registry import register_weighting

__all__ = ["LikelihoodWeighting", "COUNT_TASK_SCHEMES", "check_likelihood_options"]

FORM_FACTORS = {"regression": 0.5, "classification": 1.0}
#: how count-likelihood tasks are weighed (see the module docstring)
COUNT_TASK_SCHEMES = ("kendall", "dispersion", "deviance")
#: the form given to tasks that carry no Kendall factor under count_tasks="dispersion"
UNWEIGHTED = "unweighted"


def check_likelihood_options(
    log_variance_decay=0.0, log_variance_bounds=None, count_tasks="kendall"
) -> tuple[float, tuple[float | None, float | None] | None, str]:
    """The likelihood options, checked: ``(decay, bounds, count_tasks)``; raises naming the bad key."""
    decay = check_number("loss_weighting_options log_variance_decay", log_variance_decay, minimum=0.0)
    bounds = None
    if log_variance_bounds is not None:
        if isinstance(log_variance_bounds, (str, bytes)) or not isinstance(log_variance_bounds, Sequence) or len(
            log_variance_bounds
        ) != 2:
            raise ValueError(
                f"loss_weighting_options log_variance_bounds must be [low, high] (either may be null), "
                f"got {log_variance_bounds!r}"
            )
        low, high = (
            check_number("loss_weighting_options log_variance_bounds", value, allow_none=True) for value in log_variance_bounds
        )
        if low is not None and high is not None and not low < high:
            raise ValueError(f"loss_weighting_options log_variance_bounds needs low < high, got {[low, high]}")
        bounds = (low, high)
    if count_tasks not in COUNT_TASK_SCHEMES:
        raise ValueError(f"loss_weighting_options count_tasks must be one of {COUNT_TASK_SCHEMES}, got {count_tasks!r}")
    return decay, bounds, count_tasks


@register_weighting("likelihood")
class LikelihoodWeighting(LossWeighting):
    """One learned log-variance per task; see the module docstring. ``forms`` may also give a task the form
    ``"unweighted"`` (weight 1, no log-variance; the original's count tasks)."""

    def __init__(
        self,
        tasks: Sequence[str],
        forms: Mapping[str, str],
        initial_log_variance: float | Mapping = 0.0,
        log_variance_decay: float = 0.0,
        log_variance_bounds: Sequence | None = None,
        count_tasks: str = "kendall",
    ):
        super().__init__(tasks)
        missing = [task for task in self.tasks if task not in forms]
        if missing:
            raise ValueError(f"likelihood weighting needs a form for task(s) {missing}")
        for task in self.tasks:
            if forms[task] not in (*LIKELIHOOD_FORMS, UNWEIGHTED):
                raise ValueError(
                    f"likelihood form of task {task!r} must be one of {LIKELIHOOD_FORMS}, got {forms[task]!r}"
                )
        self.forms = {task: forms[task] for task in self.tasks}
        self.decay, self.bounds, self.count_tasks = check_likelihood_options(
            log_variance_decay, log_variance_bounds, count_tasks
        )
        initial = self._initial_values(initial_log_variance)
        self.log_variances = nn.Parameter(torch.tensor(initial, dtype=torch.float32))
        self.register_buffer(
            "factors", torch.tensor([FORM_FACTORS.get(self.forms[task], 0.0) for task in self.tasks]),
        )
        self._index = {task: index for index, task in enumerate(self.tasks)}
        self._clamp()

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
        count_tasks = options.get("count_tasks", "kendall")
        forms = {}
        for task, loss in losses.items():
            loss_name = getattr(loss, "name", type(loss).__name__)
            if count_tasks == "dispersion" and getattr(loss, "kind", None) == "neural":
                if not getattr(loss, "learns_dispersion", False):
                    raise ValueError(
                        f"loss_weighting_options count_tasks='dispersion' weighs task {task!r} by its loss's learned "
                        f"dispersion, but its loss {loss_name!r} has none; use 'negative_binomial'"
                    )
                forms[task] = UNWEIGHTED
                continue
            if getattr(loss, "likelihood_form", None) is None:
                reason = getattr(loss, "not_a_likelihood_because", "") or "it is not a normalised likelihood"
                raise ValueError(
                    f"likelihood loss weighting cannot use the loss {loss_name!r} of task {task!r}: {reason}"
                )
            if count_tasks == "deviance" and getattr(loss, "kind", None) == "neural" and loss_name != "poisson_deviance":
                raise ValueError(
                    f"loss_weighting_options count_tasks='deviance' weighs task {task!r} by its Poisson deviance, but "
                    f"its loss is {loss_name!r}; use 'poisson_deviance'"
                )
            forms[task] = loss.likelihood_form
        return cls(list(losses), forms=forms, **options)

    def _weighted(self, task: str) -> bool:
        return self.forms[task] != UNWEIGHTED

    def combine(self, task_losses):
        total = torch.zeros((), device=self.log_variances.device)
        for task, loss in task_losses.items():
            if not self._weighted(task):
                total = total + loss
                continue
            s = self.log_variances[self._index[task]]
            total = total + self.factors[self._index[task]] * torch.exp(-s) * loss + 0.5 * s
            if self.decay:
                total = total + 0.5 * self.decay * s * s
        return total

    def _clamp(self) -> None:
        if self.bounds is not None:
            low, high = self.bounds
            with torch.no_grad():
                self.log_variances.clamp_(min=low, max=high)

    def after_step(self) -> None:
        self._clamp()

    def weights(self):
        values = (self.factors * torch.exp(-self.log_variances.detach())).tolist()
        return {task: values[i] if self._weighted(task) else 1.0 for task, i in self._index.items()}

    def report(self):
        log_variances = self.log_variances.detach().tolist()
        return {
            task: {"loss_weight": weight, "log_variance": log_variances[self._index[task]]}
            if self._weighted(task)
            else {"loss_weight": weight}
            for task, weight in self.weights().items()
        }

    def used_values(self, tasks):
        report = self.report()
        return {task: report[task] for task in tasks}
