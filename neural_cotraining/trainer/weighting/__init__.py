"""Loss weighting strategies: how the trainer turns a round's per-task losses into a backward pass.

====================  ====================================  ============================================================
``loss_weighting``    ``loss_weighting_options`` (default)  what it does
====================  ====================================  ============================================================
``"fixed"`` (dflt.)   ``weights={task: w}`` (1.0)           ``sum_t w_t L_t``
``"equal"``           ``average`` (False)                   ``sum_t L_t``; ``average=True``: ``(1/T) sum_t L_t``
``"likelihood"``      ``initial_log_variance`` (0.0),      Kendall, Gal & Cipolla 2018 learned log-variances; decay
                      ``log_variance_decay`` (0.0),        (a Gaussian prior on s) and bounds stop a vanishing loss's
                      ``log_variance_bounds`` (None),      weight from running away; "dispersion": count tasks get a
                      ``count_tasks`` ("kendall")          negative binomial and no factor (the original co-trainer)
``"dwa"``             ``temperature`` (2.0)                 Liu, Johns & Davison 2019: weights from the ratio of each
                                                            task's mean loss in the last two epochs; sum to T
``"gradnorm"``        ``alpha`` (1.5), ``lr`` (None: the    Chen et al. 2018: learned weights (sum T, > 0) balancing
                      trainer's), ``gradient_parameters``   gradient norms at the last shared layer (``"last"``) or at
                      ("last")                              all shared parameters (``"all"``)
``"declared"``        ``weights={task: w | "auto"}``,      what a task-graph model declares: numbers fixed, "auto" learned
                      ``initial_log_variance``              (likelihood); the default when the model declares weights
``"pcgrad"``          --                                    Yu et al. 2020: per-task shared gradients, conflicting ones
                                                            projected onto each other's normal plane, then summed
====================  ====================================  ============================================================

Every strategy reports per task, every epoch, ``loss_weight`` (the weight used in that epoch) and its own extras
(``log_variance``, ``gradient_norm``, ``conflict_fraction``). Gradient-based strategies (``gradnorm``, ``pcgrad``)
take per-task gradients at the same parameters inside one round, so each round should hold every task (the ratio and
max_size_cycle cyclers do; the trainer warns once if a round lacks a task). Which parameters are shared is decided
per round from the autograd graph (``weighting.gradients``).

New strategies subclass ``LossWeighting`` and register with ``@register_weighting("name")``; the trainer needs no
change.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

from .base import LossWeighting
from .declared import DeclaredWeighting
from .dwa import DynamicWeightAverage
from .equal import EqualWeighting
from .fixed import FixedWeighting
from .gradnorm import GradNormWeighting
from .likelihood import LikelihoodWeighting
from .pcgrad import PCGradWeighting, project_conflicting
from .registry import WEIGHTINGS, register_weighting

__all__ = [
    "DeclaredWeighting",
    "DynamicWeightAverage",
    "EqualWeighting",
    "FixedWeighting",
    "GradNormWeighting",
    "LikelihoodWeighting",
    "LossWeighting",
    "PCGradWeighting",
    "WEIGHTINGS",
    "build_weighting",
    "check_weighting_options",
    "project_conflicting",
    "register_weighting",
]

def check_weighting_options(name: str, options: Mapping | None) -> dict:
    """``options`` of the weighting ``name`` as a dict, each key checked against what the weighting accepts."""
    cls = WEIGHTINGS.lookup(name)
    if options is not None and not isinstance(options, Mapping):
        raise ValueError(f"loss_weighting_options must be a dict or None, got {options!r}")
    options = dict(options or {})
    accepted = list(getattr(cls, "option_names", ())) or [
        parameter
        for parameter in inspect.signature(cls.__init__).parameters
        if parameter not in ("self", "tasks", "forms")
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"unknown loss_weighting_options {unknown} for {name!r}; accepted: {accepted}")
    return options


def build_weighting(name: str, losses: Mapping, options: Mapping | None = None) -> LossWeighting:
    """The weighting ``name`` for ``{task: TaskLoss}``, with ``options`` checked against its constructor."""
    options = check_weighting_options(name, options)
    return WEIGHTINGS[name].from_losses(losses, **options)
