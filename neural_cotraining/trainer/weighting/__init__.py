"""Loss weighting strategies: how the trainer turns a round's per-task losses into a backward pass.

======================  ===============================  ====================================================
``loss_weighting``      ``loss_weighting_options``       what it does
======================  ===============================  ====================================================
``"fixed"`` (default)   ``weights={task: w}`` (1.0)      ``sum_t w_t L_t``
``"likelihood"``        ``initial_log_variance`` (0.0)   Kendall, Gal & Cipolla 2018 learned log-variances
======================  ===============================  ====================================================

New strategies subclass ``LossWeighting`` and register in ``WEIGHTINGS``; the trainer needs no change.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

from .base import LossWeighting
from .fixed import FixedWeighting
from .likelihood import LikelihoodWeighting

__all__ = ["FixedWeighting", "LikelihoodWeighting", "LossWeighting", "WEIGHTINGS", "build_weighting"]

WEIGHTINGS: dict[str, type[LossWeighting]] = {cls.name: cls for cls in (FixedWeighting, LikelihoodWeighting)}


def build_weighting(name: str, losses: Mapping, options: Mapping | None = None) -> LossWeighting:
    """The weighting ``name`` for ``{task: TaskLoss}``, with ``options`` checked against its constructor."""
    if name not in WEIGHTINGS:
        raise ValueError(f"unknown loss_weighting {name!r}; choose one of {sorted(WEIGHTINGS)}")
    cls = WEIGHTINGS[name]
    options = dict(options or {})
    accepted = [
        parameter
        for parameter in inspect.signature(cls.__init__).parameters
        if parameter not in ("self", "tasks", "forms")
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"unknown loss_weighting_options {unknown} for {name!r}; accepted: {accepted}")
    return cls.from_losses(losses, **options)
