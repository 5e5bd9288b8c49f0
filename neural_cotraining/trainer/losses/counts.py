"""Count likelihoods for neural responses: the model predicts non-negative rates (e.g. ``elu(x) + 1``).

``poisson`` is the full Poisson NLL ``r - y log r + lgamma(y + 1)``. The partial form without ``lgamma(y + 1)``
(neuralpredictors' ``PoissonLoss``) is available as ``poisson_partial`` for plain training but refused by likelihood
weighting: it is negative for y >= 3 near r = y, and ``exp(-s) * L + s / 2`` with L < 0 decreases without bound as
s -> -inf. ``negative_binomial`` has a learned dispersion per task (as the original co-trainer used).
"""

from __future__ import annotations

import torch
from torch import nn

from .base import TaskLoss, match_shapes
from .registry import register_loss

__all__ = ["PoissonLoss", "PartialPoissonLoss", "NegativeBinomialLoss"]

#: added to rates inside the logarithm, as torch.nn.functional.poisson_nll_loss(log_input=False) does
RATE_EPS = 1e-8


def _rates(output: torch.Tensor, target: torch.Tensor, loss_name: str) -> torch.Tensor:
    output = match_shapes(output, target, loss_name)
    # one device sync per batch; a negative "rate" would silently give a meaningless (even negative) loss
    if bool((output < 0).any()):
        raise ValueError(
            f"{loss_name} loss needs non-negative rates, but the model output has negative values "
            f"(min {output.min().item():.4g}); end the readout with e.g. elu(x) + 1"
        )
    return output


@register_loss("poisson")
class PoissonLoss(TaskLoss):
    """Full Poisson negative log-likelihood per element, averaged: ``r - y log(r + eps) + lgamma(y + 1)``."""

    kind = "neural"
    likelihood_form = "regression"

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        rate = _rates(output, target, self.name)
        target = target.to(rate.dtype)
        return (rate - target * torch.log(rate + RATE_EPS) + torch.lgamma(target + 1)).mean()


@register_loss("poisson_partial")
class PartialPoissonLoss(TaskLoss):
    """Poisson NLL without the ``lgamma(y + 1)`` normaliser: ``r - y log(r + eps)``. Same gradients as ``poisson``
    for the model, but not a normalised likelihood (can be negative)."""

    kind = "neural"
    likelihood_form = None
    not_a_likelihood_because = (
        "it drops the lgamma(y+1) normaliser of the Poisson likelihood, so its value is negative whenever the "
        "responses y are >= 3 and well predicted; with a negative loss L the weighted objective exp(-s)*L + s/2 has "
        "no minimum and drives the log-variance s to -inf. Use loss 'poisson' (full NLL) or 'negative_binomial'"
    )

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        rate = _rates(output, target, self.name)
        target = target.to(rate.dtype)
        return (rate - target * torch.log(rate + RATE_EPS)).mean()


@register_loss("negative_binomial")
class NegativeBinomialLoss(TaskLoss):
    """Negative binomial NLL with mean r (the model's rate) and a learned dispersion theta (one per task).

    ``-log p(y) = lgamma(theta) + lgamma(y + 1) - lgamma(y + theta) - theta log(theta / (theta + r))
    - y log(r / (theta + r))``; Var(y) = r + r^2 / theta, so theta -> inf recovers the Poisson.
    """

    kind = "neural"
    likelihood_form = "regression"
    #: its dispersion is a learned noise level, which likelihood weighting's count_tasks="dispersion" relies on
    learns_dispersion = True

    def __init__(self, initial_log_dispersion: float = 0.0):
        super().__init__()
        self.log_dispersion = nn.Parameter(torch.tensor(float(initial_log_dispersion)))

    @property
    def dispersion(self) -> torch.Tensor:
        return self.log_dispersion.exp()

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        rate = _rates(output, target, self.name) + RATE_EPS
        target = target.to(rate.dtype)
        theta = self.log_dispersion.to(rate.dtype).exp()
        log_theta_plus_rate = torch.log(theta + rate)
        nll = (
            torch.lgamma(theta)
            + torch.lgamma(target + 1)
            - torch.lgamma(target + theta)
            - theta * (self.log_dispersion.to(rate.dtype) - log_theta_plus_rate)
            - target * (torch.log(rate) - log_theta_plus_rate)
        )
        return nll.mean()
