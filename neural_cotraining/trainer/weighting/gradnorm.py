"""GradNorm: learned loss weights that balance the tasks' gradient magnitudes.

Chen, Badrinarayanan, Lee & Rabinovich (2018), "GradNorm: Gradient normalization for adaptive loss balancing in deep
multitask networks", ICML, Algorithm 1. Each of the T tasks has a learned weight w_i (initially 1); the network is
trained on ``sum_i w_i L_i``. In every round, with W the parameters of the last shared layer:

    G_i = ||grad_W w_i L_i||,  G_bar = mean_i G_i,  r_i = (L_i / L_i(0)) / mean_j (L_j / L_j(0)),
    L_grad = sum_i | G_i - G_bar * r_i^alpha |,

where G_bar * r_i^alpha is held constant, and L_grad is differentiated w.r.t. the weights only (the network's gradient
comes from ``sum_i w_i L_i`` alone). A task whose loss falls slowly (large r_i) or whose gradients are small gets more
weight. alpha (default 1.5) sets the strength of the pull towards equal training rates.

Implementation notes:

- The weights are an ``nn.Parameter`` in the trainer's optimiser (their own parameter group, no weight decay, the
  trainer's ``lr`` unless ``lr`` is given here); after every optimiser step they are clamped to at least
  ``MIN_WEIGHT`` (so they never go negative) and renormalised to sum to T, as the paper does.
- L_i(0) is each task's loss in the first round that holds it; kept in ``state_dict()`` (a buffer, NaN until set).
- W: of the parameters two or more tasks reach in the round (see ``weighting.gradients``), in the order the model
  lists them, ``gradient_parameters="last"`` takes the last one with two or more dimensions (the weight of the last
  shared layer, the paper's choice); ``"all"`` takes all of them (costlier, sometimes steadier). The trainer passes
  ``model.shared_parameters()`` if the model has it, else the parameters of ``model.core``, else all parameters.
- A round with fewer than two tasks, or with nothing shared, leaves the weights unchanged.
- ``report()`` adds each task's ``gradient_norm``: the mean of G_i over the epoch's rounds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ...common.value_checks import check_number
from .base import LossWeighting
from .registry import register_weighting
from .gradients import shared_among_tasks

__all__ = ["GradNormWeighting"]

#: floor of a weight before renormalisation: weights stay positive however large the optimiser's step
MIN_WEIGHT = 1e-3

GRADIENT_PARAMETERS = ("last", "all")


@register_weighting("gradnorm")
class GradNormWeighting(LossWeighting):
    """Learned weights balancing gradient norms at the last shared layer; see the module docstring."""

    gradient_based = True

    def __init__(
        self, tasks: Sequence[str], alpha: float = 1.5, lr: float | None = None, gradient_parameters: str = "last"
    ):
        super().__init__(tasks)
        self.alpha = check_number("gradnorm alpha", alpha, minimum=0.0)
        if gradient_parameters not in GRADIENT_PARAMETERS:
            raise ValueError(
                f"gradnorm gradient_parameters must be one of {GRADIENT_PARAMETERS}, got {gradient_parameters!r}"
            )
        self.parameter_lr = check_number("gradnorm lr", lr, minimum=0.0, allow_none=True, strict=True)
        self.gradient_parameters = gradient_parameters
        self.task_weights = nn.Parameter(torch.ones(len(self.tasks)))
        self.register_buffer("initial_losses", torch.full((len(self.tasks),), float("nan")))
        self._index = {task: index for index, task in enumerate(self.tasks)}
        self._norm_sums = torch.zeros(len(self.tasks))
        self._rounds = torch.zeros(len(self.tasks), dtype=torch.float64)

    def combine(self, task_losses):
        if not task_losses:
            raise ValueError("no task loss to combine")
        # detached: the weights learn from L_grad only, never from the weighted sum (which they would shrink)
        weights = self.task_weights.detach()
        return torch.stack([weights[self._index[task]] * loss for task, loss in task_losses.items()]).sum()

    def weights(self):
        return dict(zip(self.tasks, self.task_weights.detach().tolist()))

    def _balance_parameters(self, shared: list[torch.Tensor]) -> list[torch.Tensor]:
        if self.gradient_parameters == "all":
            return shared
        matrices = [parameter for parameter in shared if parameter.ndim >= 2]
        return [(matrices or shared)[-1]]

    def _record_initial_losses(self, indices: torch.Tensor, losses: torch.Tensor) -> None:
        unset = torch.isnan(self.initial_losses[indices])
        self.initial_losses[indices] = torch.where(unset, losses, self.initial_losses[indices])

    def backward(self, task_losses, shared_parameters, extra_loss=None, scale=None):
        objective = self.objective(task_losses, extra_loss)
        scaled = {task: scale(loss) if scale is not None else loss for task, loss in task_losses.items()}
        positions = [self._index[task] for task in task_losses]
        indices = torch.tensor(positions, device=self.task_weights.device)
        losses = torch.stack([loss.detach().float() for loss in task_losses.values()])
        with torch.no_grad():
            self._record_initial_losses(indices, losses)
        shared, _ = shared_among_tasks(scaled, shared_parameters)
        weight_gradient = None
        if len(scaled) >= 2 and shared:
            factor = scale(torch.ones((), device=losses.device)) if scale is not None else None
            balance = self._balance_parameters(shared)
            weight_gradient = self._weight_gradient(scaled, positions, indices, losses, balance, factor)
        (scale(objective) if scale is not None else objective).backward()
        if weight_gradient is not None:
            if self.task_weights.grad is None:
                self.task_weights.grad = weight_gradient
            else:
                self.task_weights.grad.add_(weight_gradient)
        return objective.detach()

    def _weight_gradient(self, scaled, positions, indices, losses, balance, factor) -> torch.Tensor:
        """d L_grad / d w (scaled like the losses, so a mixed-precision GradScaler unscales it with the rest)."""
        norms = []
        for loss in scaled.values():
            gradients = torch.autograd.grad(loss, balance, retain_graph=True, allow_unused=True)
            squares = [gradient.double().square().sum() for gradient in gradients if gradient is not None]
            norms.append(torch.stack(squares).sum().sqrt().float() if squares else losses.new_zeros(()))
        # G_i = ||grad_W w_i L_i|| = w_i ||grad_W L_i|| (w_i > 0), so the graph to w is this product
        weights = self.task_weights[indices]
        gradient_norms = weights * torch.stack(norms).detach()
        with torch.no_grad():
            initial = self.initial_losses[indices]
            if bool(((losses < 0) | (initial <= 0)).any()):
                raise ValueError(
                    "gradnorm needs positive task losses (it divides by each task's first loss L_i(0)); got "
                    f"losses {dict(zip(scaled, losses.tolist()))} and first losses "
                    f"{dict(zip(scaled, initial.tolist()))}"
                )
            training_rates = losses / initial
            relative_rates = training_rates / training_rates.mean()
            targets = gradient_norms.mean() * relative_rates**self.alpha
        balance_loss = (gradient_norms - targets).abs().sum()
        (gradient,) = torch.autograd.grad(balance_loss, self.task_weights)
        with torch.no_grad():  # epoch statistics (unscaled norms), accumulated on the device
            self._norm_sums = self._norm_sums.to(gradient_norms.device)
            self._norm_sums[indices] += gradient_norms.detach() / (factor if factor is not None else 1.0)
            self._rounds[positions] += 1
        return gradient

    def after_step(self) -> None:
        with torch.no_grad():
            self.task_weights.clamp_(min=MIN_WEIGHT)
            self.task_weights.mul_(len(self.tasks) / self.task_weights.sum())

    def report(self):
        norms = (self._norm_sums.cpu().double() / self._rounds.clamp_min(1)).tolist()
        return {
            task: {"loss_weight": weight, "gradient_norm": norms[self._index[task]]}
            for task, weight in self.weights().items()
        }

    def epoch_end(self, epoch_losses: Mapping[str, float]) -> None:
        self._norm_sums.zero_()
        self._rounds.zero_()
