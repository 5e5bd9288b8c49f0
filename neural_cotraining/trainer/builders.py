"""Trainer builders in the nnfabrik signature ``trainer_fn(model, dataloaders, seed, uid, cb, **config)``.

The config keys, their defaults and meaning are listed in the ``neural_cotraining.trainer`` package docstring.
``cotrainer`` does three things, each in its own module: it checks the config into a frozen
:class:`~.plan.TrainerPlan` (the same check runs when an entry is added), then either assembles one trainer from
the plan (:mod:`.assembly`) or, for ``world_size > 1``, hands the plan to the distributed entry
(:mod:`.distributed.entry`), where every rank assembles its own.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import torch

from ..common.config_keys import strict_keywords
from ..common.seeds import check_seed
from ..registry import checks_config, register_builder
from .assembly import assemble_trainer
from .distributed import check_distributed_options, train_distributed
from .plan import TrainerPlan

__all__ = ["cotrainer"]

_CALL_ARGUMENTS = ("model", "dataloaders", "seed", "uid", "cb")


def check_trainer_config(config: dict) -> None:
    """The check run when an entry is added (``registry.checks_config``): the config, with the builder's defaults
    for the keys it leaves out, must make a :class:`TrainerPlan`."""
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(cotrainer).parameters.items()
        if name not in _CALL_ARGUMENTS
    }
    TrainerPlan.from_config({**defaults, **config})


@register_builder("trainer")
@checks_config(check_trainer_config)
@strict_keywords(passed=_CALL_ARGUMENTS)
def cotrainer(
    model: torch.nn.Module,
    dataloaders: Mapping,
    seed: int,
    uid=None,
    cb=None,
    *,
    max_epochs: int = 100,
    patience: int | None = 10,
    monitor: Mapping[str, str] | None = None,
    monitor_combine: str = "any",
    min_delta: float = 0.0,
    score_metric: str | None = None,
    main_task: str | None = None,
    cycler: str = "ratio",
    ratio=None,
    round_size: int | None = None,
    loss_functions: Mapping[str, str] | None = None,
    loss_weighting: str | None = None,
    loss_weighting_options: Mapping | None = None,
    optimizer: str = "adam",
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    optimizer_options: Mapping | None = None,
    lr_scheduler: str | None = None,
    lr_scheduler_options: Mapping | None = None,
    clip_grad_norm: float | None = None,
    device: str | None = None,
    mixed_precision: bool = False,
    checkpoint_every: int = 0,
    restore_best: bool = True,
    verbose: bool = True,
    world_size: int = 1,
    backend: str | None = None,
):
    """Co-train ``model`` on every task of ``dataloaders["train"]``; returns ``(score, output, model_state)``.

    ``score`` is the validation value of ``score_metric`` (default: the first ``monitor`` key; default monitor: the
    main task's accuracy, correlation or loss) at the best epoch, ``model_state`` the best weights on CPU, ``output``
    the JSON-able record described in the ``neural_cotraining.trainer`` docstring, where every config key is listed.
    """
    config = {name: value for name, value in locals().items() if name not in _CALL_ARGUMENTS}  # first: the config
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    seed = check_seed(seed, "cotrainer")  # DataJoint hands out numpy integers
    world_size, backend = check_distributed_options(world_size, backend, device, loss_weighting)
    plan = TrainerPlan.from_config({**config, "world_size": world_size, "backend": backend})
    if plan.world_size > 1:
        return train_distributed(plan, model, dataloaders, seed, uid, cb)
    return assemble_trainer(plan, model, dataloaders, seed, uid, cb).train()
