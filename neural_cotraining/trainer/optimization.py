"""Optimiser and learning-rate scheduler construction from plain config values.

The config's names (``optimizer``, ``lr_scheduler``) are looked up in :data:`OPTIMIZERS` and :data:`SCHEDULERS`,
registries like the losses' and cyclers' (``common.name_registry``): ``register_optimizer("name", cls)`` adds one
whose constructor takes ``(param_groups, lr=..., **options)``, ``register_scheduler("name", cls)`` one that takes
``(optimizer, **options)``.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Mapping, Sequence

import torch

from ..common.name_registry import Registry

__all__ = ["OPTIMIZERS", "SCHEDULERS", "register_optimizer", "register_scheduler", "build_optimizer",
           "build_scheduler", "load_scheduler_state", "step_scheduler"]

OPTIMIZERS = Registry("optimizer")
register_optimizer = OPTIMIZERS.register
SCHEDULERS = Registry("lr_scheduler")
register_scheduler = SCHEDULERS.register

register_optimizer("adam", torch.optim.Adam)
register_optimizer("adamw", torch.optim.AdamW)
register_optimizer("sgd", torch.optim.SGD)
register_scheduler("plateau", torch.optim.lr_scheduler.ReduceLROnPlateau)
register_scheduler("step", torch.optim.lr_scheduler.StepLR)
register_scheduler("multistep", torch.optim.lr_scheduler.MultiStepLR)
register_scheduler("cosine", torch.optim.lr_scheduler.CosineAnnealingLR)

#: defaults filled in for options the config leaves out
SCHEDULER_DEFAULTS = {
    "plateau": {"factor": 0.3, "patience": 3, "threshold": 1e-4},
    "step": {"step_size": 10, "gamma": 0.1},
    "multistep": {"gamma": 0.1},
    "cosine": {"eta_min": 0.0},  # T_max defaults to max_epochs
}


def _check_options(cls, options: Mapping, excluded: Sequence[str], what: str) -> None:
    accepted = [name for name in inspect.signature(cls.__init__).parameters if name not in ("self", *excluded)]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; accepted: {accepted}")


def build_optimizer(
    name: str,
    model_parameters: Sequence[torch.nn.Parameter],
    extra_parameters: Sequence[torch.nn.Parameter],
    lr: float,
    weight_decay: float,
    options: Mapping | None = None,
    extra_lr_groups: Sequence[tuple[Sequence[torch.nn.Parameter], float]] = (),
) -> torch.optim.Optimizer:
    """Optimiser with two parameter groups: the model's (with ``weight_decay``) and the loss/weighting parameters
    (log-variances, dispersions), never decayed by the optimiser: how strongly a log-variance is pulled towards 0 is
    the likelihood weighting's own ``log_variance_decay`` (a term of the objective, so the same under every
    optimiser), not a side effect of the network's ``weight_decay``.

    ``extra_lr_groups``: further ``(parameters, lr)`` groups, also never decayed (e.g. GradNorm's task weights with
    their own learning rate)."""
    cls = OPTIMIZERS.lookup(name)
    options = dict(options or {})
    _check_options(cls, options, ("params", "lr", "weight_decay"), f"optimizer_options for {name!r}")
    groups = [{"params": [p for p in model_parameters if p.requires_grad], "weight_decay": weight_decay}]
    extra = [p for p in extra_parameters if p.requires_grad]
    if extra:
        groups.append({"params": extra, "weight_decay": 0.0})
    for parameters, group_lr in extra_lr_groups:
        trainable = [p for p in parameters if p.requires_grad]
        if trainable:
            groups.append({"params": trainable, "weight_decay": 0.0, "lr": group_lr})
    if not groups[0]["params"] and len(groups) == 1:
        raise ValueError("nothing to optimise: the model has no trainable parameters")
    groups = [group for group in groups if group["params"]]
    return cls(groups, lr=lr, **options)


def build_scheduler(name, optimizer, options: Mapping | None, max_epochs: int, plateau_mode: str):
    """The LR scheduler ``name`` (or None); ``plateau`` follows the score metric's direction."""
    if name is None:
        if options:
            raise ValueError("lr_scheduler_options given without an lr_scheduler")
        return None
    cls = SCHEDULERS.lookup(name)
    options = {**SCHEDULER_DEFAULTS.get(name, {}), **dict(options or {})}
    _check_options(cls, options, ("optimizer",), f"lr_scheduler_options for {name!r}")
    if name == "plateau":
        options.setdefault("mode", plateau_mode)
    if name == "cosine":
        options.setdefault("T_max", max_epochs)
    if name == "multistep" and "milestones" not in options:
        raise ValueError("lr_scheduler 'multistep' needs lr_scheduler_options={'milestones': [epoch, ...]}")
    return cls(optimizer, **options)


def step_scheduler(scheduler, score: float) -> None:
    """Advance the scheduler by one epoch (plateau schedulers look at the epoch's score)."""
    if scheduler is None:
        return
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(score)
    else:
        scheduler.step()


def load_scheduler_state(scheduler, state: Mapping) -> None:
    """Load a plain-typed scheduler state, restoring container types (MultiStepLR keeps milestones in a Counter)."""
    state = dict(state)
    for key, value in state.items():
        if isinstance(getattr(scheduler, key, None), Counter):
            state[key] = Counter(value)
    scheduler.load_state_dict(state)
