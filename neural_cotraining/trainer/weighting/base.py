"""The loss-weighting strategy interface.

A strategy receives one round's per-task losses (a dict of scalar tensors; a task missing from the round is simply
absent) and does the backward pass. The default combines them into one scalar and calls ``backward()`` once;
gradient-based strategies (GradNorm, PCGrad, ...) override ``backward`` to take per-task gradients at the shared
parameters -- the trainer calls them once per round, before the optimiser step, so all per-task gradients are taken
at the same parameters.

Hooks the co-trainer calls, in this order (all no-ops here):

- ``reseed(seed)`` at the start of every epoch, with a seed derived from (run seed, epoch): a strategy that draws
  random numbers seeds its own ``torch.Generator`` from it, so its randomness is a function of (seed, epoch) like
  the rest of the trainer's;
- ``backward(...)`` once per round, then the optimiser step, then ``after_step()`` (e.g. renormalise weights);
- ``epoch_report()`` after the epoch's last round, then ``epoch_end(epoch_losses)`` with each task's mean training
  loss of the epoch (``{task: float}``; a task without batches is absent).

``epoch_report()`` is ``report()`` (the strategy's numbers now) with the values *used* during the epoch in place of
the current ones: every round records ``used_values()`` (by default each present task's ``loss_weight``) before
combining, and the epoch report gives their mean over the rounds that held the task. For strategies whose weights
move with every step (likelihood, GradNorm) the value after the last round is not the weight the epoch trained with.

Everything a strategy needs to continue exactly after a resume must be in ``state_dict()`` (parameters, buffers,
or ``get_extra_state()`` holding plain types and tensors only, so ``torch.load(weights_only=True)`` reads it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

__all__ = ["LossWeighting"]


def weighted_sum(weights: Mapping[str, float], task_losses: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """``sum_t weights[t] * L_t`` over the tasks present in ``task_losses``."""
    if not task_losses:
        raise ValueError("no task loss to combine")
    return torch.stack([weights[task] * loss for task, loss in task_losses.items()]).sum()


class LossWeighting(nn.Module, ABC):
    """Base of all loss weightings. Learnable weighting parameters are ordinary ``nn.Parameter`` s of the module;
    the trainer optimises them in their own parameter group without weight decay and saves ``state_dict()``."""

    #: the name used in the trainer config (``loss_weighting=...``)
    name = ""
    #: True for strategies that need per-task gradients, i.e. every task in every round (the trainer warns otherwise)
    gradient_based = False
    #: learning rate of the strategy's own parameters; None: the trainer's ``lr``
    parameter_lr: float | None = None

    def __init__(self, tasks: Sequence[str]):
        super().__init__()
        if not tasks:
            raise ValueError("a loss weighting needs at least one task")
        self.tasks = tuple(tasks)
        self._used_sums: dict[str, dict[str, float]] = {}
        self._used_rounds: dict[str, int] = {}

    @classmethod
    def from_losses(cls, losses: Mapping[str, nn.Module], **options) -> "LossWeighting":
        """Build for the given ``{task: TaskLoss}``; strategies that depend on the loss (e.g. its likelihood form)
        override this."""
        return cls(list(losses), **options)

    def check_tasks(self, task_losses: Mapping[str, torch.Tensor]) -> None:
        unknown = set(task_losses) - set(self.tasks)
        if unknown:
            raise ValueError(f"losses for unknown task(s) {sorted(unknown)}; the weighting knows {list(self.tasks)}")

    @abstractmethod
    def combine(self, task_losses: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """One scalar objective from the round's per-task losses."""

    @abstractmethod
    def weights(self) -> dict[str, float]:
        """The current effective multiplicative weight of each task's loss."""

    def report(self) -> dict[str, dict[str, float]]:
        """Per-task numbers for the epoch's training metrics; at least ``{"loss_weight": w}``."""
        return {task: {"loss_weight": weight} for task, weight in self.weights().items()}

    def used_values(self, tasks: Sequence[str]) -> dict[str, dict[str, float]]:
        """What this round uses for each of ``tasks``, recorded before the round's objective is combined."""
        weights = self.weights()
        return {task: {"loss_weight": weights[task]} for task in tasks}

    def _record_used(self, tasks: Sequence[str]) -> None:
        for task, values in self.used_values(tasks).items():
            sums = self._used_sums.setdefault(task, {})
            for name, value in values.items():
                sums[name] = sums.get(name, 0.0) + float(value)
            self._used_rounds[task] = self._used_rounds.get(task, 0) + 1

    def epoch_report(self) -> dict[str, dict[str, float]]:
        """``report()`` with each task's values averaged over the rounds of the epoch that used them; resets the
        record for the next epoch (see the module docstring)."""
        report = {task: dict(values) for task, values in self.report().items()}
        for task, sums in self._used_sums.items():
            rounds = self._used_rounds[task]
            report.setdefault(task, {}).update({name: total / rounds for name, total in sums.items()})
        self._used_sums, self._used_rounds = {}, {}
        return report

    def reseed(self, seed: int) -> None:
        """Seed the strategy's own random generator (called at the start of every epoch)."""

    def after_step(self) -> None:
        """Called after every optimiser step (also one a mixed-precision GradScaler skipped)."""

    def epoch_end(self, epoch_losses: Mapping[str, float]) -> None:
        """Called after every training epoch with each task's mean training loss ``{task: float}``."""

    def objective(self, task_losses: Mapping[str, torch.Tensor], extra_loss: torch.Tensor | None = None) -> torch.Tensor:
        """The round's scalar objective: the combined task losses plus ``extra_loss`` (added unweighted)."""
        self.check_tasks(task_losses)
        self._record_used(list(task_losses))
        objective = self.combine(task_losses)
        return objective if extra_loss is None else objective + extra_loss

    def backward(
        self,
        task_losses: Mapping[str, torch.Tensor],
        shared_parameters: Sequence[torch.Tensor],
        extra_loss: torch.Tensor | None = None,
        scale: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Backpropagate the round's objective; returns it (detached).

        ``extra_loss`` (e.g. model regularisers) is added unweighted. ``scale`` (a mixed-precision GradScaler's
        ``scale``) is applied to whatever is backpropagated. ``shared_parameters`` are unused here; gradient-based
        strategies need them.
        """
        objective = self.objective(task_losses, extra_loss)
        (scale(objective) if scale is not None else objective).backward()
        return objective.detach()
