"""PCGrad: projecting conflicting gradients.

Yu, Kumar, Gupta, Levine, Hausman & Finn (2020), "Gradient surgery for multi-task learning", NeurIPS, Algorithm 1.
With g_i the gradient of task i's loss w.r.t. the shared parameters (all taken at the same parameters, in one round):
for each task i, visit the other tasks j in random order and, whenever the (partly projected) g_i^PC conflicts with
g_j (g_i^PC . g_j < 0), project it onto g_j's normal plane:

    g_i^PC <- g_i^PC - (g_i^PC . g_j) / ||g_j||^2 * g_j.

The shared parameters get sum_i g_i^PC; task-specific parameters (heads, readouts, loss parameters) get their plain
gradients of sum_i L_i (+ the model's regulariser, whose gradient is never projected). Which parameters are shared is
found per round from the autograd graph (see ``weighting.gradients``). Every loss weight is 1.

The visiting order comes from the strategy's own ``torch.Generator``: the trainer reseeds it at every epoch from
(run seed, epoch), and its state is also in ``state_dict()`` (extra state), so runs are deterministic and resume
exactly. ``report()`` adds, per task, ``conflict_fraction``: the fraction of the epoch's rounds with surgery (two or more
tasks sharing parameters) in which that task's gradient was projected at least once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from .base import LossWeighting
from .registry import register_weighting
from .gradients import assign_flat_gradient, flat_gradient, reached_leaves, shared_among_tasks

__all__ = ["PCGradWeighting", "project_conflicting"]

#: guards the division for an all-zero gradient (whose dot product with anything is 0, so nothing is projected)
NORM_FLOOR = 1e-30


def project_conflicting(
    gradients: torch.Tensor, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """PCGrad's projections of the rows of ``gradients`` (T, P); returns (projected (T, P), projected_any (T,)).

    Projections use the other tasks' *original* gradients, as in Algorithm 1. No host synchronisation: the
    conflict test is a clamp, so a non-conflicting pair subtracts 0.
    """
    n_tasks = gradients.shape[0]
    squared_norms = gradients.square().sum(1).clamp_min(NORM_FLOOR)
    projected = gradients.clone()
    conflicted = torch.zeros(n_tasks, dtype=torch.bool, device=gradients.device)
    for i in range(n_tasks):
        order = torch.randperm(n_tasks, generator=generator).tolist()
        for j in order:
            if j == i:
                continue
            dot = projected[i] @ gradients[j]
            conflicted[i] |= dot < 0
            projected[i] = projected[i] - dot.clamp(max=0) / squared_norms[j] * gradients[j]
    return projected, conflicted


@register_weighting("pcgrad")
class PCGradWeighting(LossWeighting):
    """Gradient surgery on the shared parameters; see the module docstring."""

    gradient_based = True

    def __init__(self, tasks: Sequence[str]):
        super().__init__(tasks)
        self.generator = torch.Generator()  # CPU: randperm of a handful of task indices
        self._rounds = torch.zeros(len(self.tasks), dtype=torch.float64)
        self._conflicts = torch.zeros(len(self.tasks))
        self._index = {task: index for index, task in enumerate(self.tasks)}

    def reseed(self, seed: int) -> None:
        self.generator.manual_seed(int(seed))

    def combine(self, task_losses):
        if not task_losses:
            raise ValueError("no task loss to combine")
        return torch.stack(list(task_losses.values())).sum()

    def weights(self):
        return {task: 1.0 for task in self.tasks}

    def backward(self, task_losses, shared_parameters, extra_loss=None, scale=None):
        objective = self.objective(task_losses, extra_loss)
        scaled = {task: scale(loss) if scale is not None else loss for task, loss in task_losses.items()}
        shared, reached = shared_among_tasks(scaled, shared_parameters)
        if len(scaled) < 2 or not shared:  # nothing to balance: the plain gradient
            (scale(objective) if scale is not None else objective).backward()
            return objective.detach()
        gradients = torch.stack([flat_gradient(loss, shared) for loss in scaled.values()])
        projected, conflicted = project_conflicting(gradients, self.generator)
        combined = projected.sum(0)
        plain = torch.stack(list(scaled.values())).sum()
        if extra_loss is not None:
            scaled_extra = scale(extra_loss) if scale is not None else extra_loss
            plain = plain + scaled_extra
            extra_leaves = reached_leaves(scaled_extra)
            reached.update(extra_leaves)
            if any(id(parameter) in extra_leaves for parameter in shared):  # e.g. a penalty on core weights
                combined = combined + flat_gradient(scaled_extra, shared)
        shared_ids = {id(parameter) for parameter in shared}
        others = [leaf for key, leaf in reached.items() if key not in shared_ids]
        if others:  # plain gradients of everything task-specific, in one pass that also frees the graph
            plain.backward(inputs=others)
        assign_flat_gradient(shared, combined)
        present = [self._index[task] for task in scaled]
        self._rounds[present] += 1
        # kept on the gradients' device: no host synchronisation per round
        self._conflicts = self._conflicts.to(conflicted.device)
        self._conflicts[present] += conflicted.float()
        return objective.detach()

    def report(self):
        fractions = (self._conflicts.cpu().double() / self._rounds.clamp_min(1)).tolist()
        return {
            task: {"loss_weight": 1.0, "conflict_fraction": fractions[index]} for task, index in self._index.items()
        }

    def epoch_end(self, epoch_losses: Mapping[str, float]) -> None:
        self._rounds.zero_()
        self._conflicts.zero_()

    def get_extra_state(self) -> dict:
        # the counters restart every epoch and states are taken at epoch ends, so only the generator is state
        return {"generator": self.generator.get_state()}

    def set_extra_state(self, state) -> None:
        if not isinstance(state, Mapping) or not isinstance(state.get("generator"), torch.Tensor):
            raise ValueError(f"not a pcgrad state (expected {{'generator': ByteTensor}}): {state!r}")
        self.generator.set_state(state["generator"])
