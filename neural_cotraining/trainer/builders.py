"""Trainer builders in the nnfabrik signature ``trainer_fn(model, dataloaders, seed, uid, cb, **config)``.

The config keys, their defaults and meaning are listed in the ``neural_cotraining.trainer`` package docstring.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Mapping

import numpy as np
import torch

from ..registry import checks_config, register_builder
from .callbacks import EpochCallback
from .cotrainer import CoTrainer
from .cyclers import CYCLERS, build_cycler
from .distributed import DistributedCoTrainer, GradientAveraging, check_distributed_options, launch, shard_split
from .distributed.launch import current_rank
from .early_stopping import COMBINE_MODES, EarlyStopping
from .keywords import check_int, check_number, reject_unknown_keys
from .losses import LOSSES, build_loss, default_loss_name
from .metrics import METRIC_MODES, PRIMARY_METRIC, metric_kind, metric_names
from .optimization import OPTIMIZERS, SCHEDULERS, build_optimizer, build_scheduler
from .splits import normalise_dataloaders
from .weighting import WEIGHTINGS, build_weighting
from .weighting.likelihood import check_likelihood_options

__all__ = ["cotrainer"]

logger = logging.getLogger(__name__)


def _resolve_device(device) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (TypeError, RuntimeError) as error:
        raise ValueError(f"device {device!r} is not a torch device name (e.g. 'cpu', 'cuda', 'cuda:1')") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested, but CUDA is not available here")
    if resolved.type == "cuda" and resolved.index is not None and resolved.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r} requested, but CUDA has only {torch.cuda.device_count()} device(s) here")
    return resolved


def _resolve_main_task(main_task, train_tasks: list[str]) -> str:
    if main_task is None:
        return "img_classification" if "img_classification" in train_tasks else train_tasks[0]
    if main_task not in train_tasks:
        raise ValueError(f"main_task {main_task!r} is not a training task; training tasks: {train_tasks}")
    return main_task


def _resolve_losses(loss_functions, splits) -> dict:
    tasks = list(dict.fromkeys(task for split in splits.values() for task in split))
    loss_functions = dict(loss_functions or {})
    unknown = sorted(set(loss_functions) - set(tasks))
    if unknown:
        raise ValueError(f"loss_functions names task(s) {unknown} that no split holds; tasks: {tasks}")
    losses = {}
    for task in tasks:
        name = loss_functions.get(task)
        if name is None:
            loaders = [loader for split in splits.values() if task in split for loader in split[task].values()]
            name = default_loss_name(task, loaders)
        elif name not in LOSSES:
            raise ValueError(f"unknown loss {name!r} for task {task!r}; choose one of {sorted(LOSSES)}")
        losses[task] = build_loss(name)
    return losses


def apply_count_task_scheme(losses: dict, loss_weighting, options) -> dict:
    """Under likelihood weighting with ``count_tasks="dispersion"`` (the original co-trainer's scheme), a Poisson
    task's loss becomes the negative binomial, whose learned dispersion stands in for its uncertainty weight."""
    if loss_weighting != "likelihood" or not isinstance(options, Mapping) or options.get("count_tasks") != "dispersion":
        return losses
    swapped = dict(losses)
    for task, loss in losses.items():
        if getattr(loss, "name", None) == "poisson":
            logger.info("task %r: loss poisson -> negative_binomial (likelihood count_tasks='dispersion')", task)
            swapped[task] = build_loss("negative_binomial")
    return swapped


def _declared(model, attribute: str, splits) -> dict | None:
    """What a task-graph model declares per task (``task_losses``, ``loss_weights``, ``loss_inits``), restricted to
    the tasks the dataloaders hold; None when the model declares nothing."""
    declared = getattr(model, attribute, None)
    if not isinstance(declared, Mapping) or not declared:
        return None
    tasks = {task for split in splits.values() for task in split}
    return {task: value for task, value in declared.items() if task in tasks and value is not None}


def _resolve_weighting(model, loss_weighting, options, splits) -> tuple[str, Mapping | None]:
    """None: the model's declared weights ("declared": numbers fixed, "auto" learned) if it has any, else "fixed"."""
    if loss_weighting is not None:
        return loss_weighting, options
    weights = _declared(model, "loss_weights", splits)
    if not weights:
        return "fixed", options
    if options is not None:
        raise ValueError("loss_weighting_options needs loss_weighting; the model declares its own loss weights")
    initial = _declared(model, "loss_inits", splits) or {}
    return "declared", {"weights": weights, "initial_log_variance": initial}


def _resolve_monitor(monitor, main_task: str, losses: Mapping, validation: Mapping) -> dict[str, str]:
    if monitor is None:
        if main_task not in validation:
            raise ValueError(f"the main task {main_task!r} has no validation loader; set monitor explicitly")
        metric, mode = PRIMARY_METRIC[metric_kind(losses[main_task], validation[main_task].values())]
        return {f"validation/{main_task}/{metric}": mode}
    if isinstance(monitor, str):
        raise ValueError(f"monitor must be a dict {{'validation/<task>/<metric>': 'max'|'min'}}, got {monitor!r}")
    monitor = dict(monitor)
    for key in monitor:
        parts = key.split("/", 2) if isinstance(key, str) else []
        if len(parts) != 3 or parts[0] != "validation":
            raise ValueError(
                f"monitored metric {key!r} must be 'validation/<task>/<metric>' (the best epoch is chosen on "
                "validation data only, never on test data)"
            )
        _, task, metric = parts
        if task not in validation:
            raise ValueError(
                f"monitored metric {key!r}: task {task!r} has no validation loader; have {list(validation)}"
            )
        names = metric_names(metric_kind(losses[task], validation[task].values()))
        if metric not in names:
            raise ValueError(f"monitored metric {key!r}: task {task!r} reports {list(names)}, not {metric!r}")
        better = METRIC_MODES.get(metric)
        if better is not None and monitor[key] in ("max", "min") and monitor[key] != better:
            logger.warning(
                "monitor %r uses %r, but %s is better when it is at its %s", key, monitor[key], metric, better
            )
    return monitor


def _check_flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def _check_name(choices, what: str, allow_none: bool = False):
    def check(name: str, value):
        if (value is None and allow_none) or value in choices:
            return value
        raise ValueError(f"unknown {what} {value!r}; choose one of {sorted(choices)}{' or None' if allow_none else ''}")

    return check


# the co-trainer's options that can be checked without data: checked when an entry is added and again when it runs
_OPTION_CHECKS = {
    "max_epochs": functools.partial(check_int, minimum=1),
    "patience": functools.partial(check_int, minimum=1, allow_none=True),
    "checkpoint_every": functools.partial(check_int, minimum=0),
    "round_size": functools.partial(check_int, minimum=1, allow_none=True),
    "lr": functools.partial(check_number, minimum=0.0, strict=True),
    "weight_decay": functools.partial(check_number, minimum=0.0),
    "min_delta": functools.partial(check_number, minimum=0.0),
    "clip_grad_norm": functools.partial(check_number, minimum=0.0, allow_none=True, strict=True),
    "mixed_precision": _check_flag,
    "verbose": _check_flag,
    "restore_best": _check_flag,
    "cycler": _check_name(CYCLERS, "cycler"),
    "optimizer": _check_name(OPTIMIZERS, "optimizer"),
    "lr_scheduler": _check_name(SCHEDULERS, "lr_scheduler", allow_none=True),
    "loss_weighting": _check_name(WEIGHTINGS, "loss_weighting", allow_none=True),
    "monitor_combine": _check_name(COMBINE_MODES, "monitor_combine"),
}


def check_options(config: Mapping) -> dict:
    """The co-trainer's data-free options among ``config``, checked (ValueError naming the key) and converted."""
    checked = {name: check(name, config[name]) for name, check in _OPTION_CHECKS.items() if name in config}
    for task, name in (config.get("loss_functions") or {}).items():
        if name not in LOSSES:
            raise ValueError(f"loss_functions.{task}: unknown loss {name!r}; choose one of {sorted(LOSSES)}")
    return checked


def check_trainer_config(config: dict) -> None:
    """Value checks run when an entry is added (``registry.checks_config``): every option that needs no data, and
    the likelihood weighting's options."""
    check_options(config)
    options = config.get("loss_weighting_options")
    if config.get("loss_weighting") == "likelihood" and isinstance(options, Mapping):
        known = inspect.signature(check_likelihood_options).parameters
        check_likelihood_options(**{key: value for key, value in options.items() if key in known})


@register_builder("trainer")
@checks_config(check_trainer_config)
@reject_unknown_keys
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
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {seed!r}")
    seed = int(seed)  # DataJoint hands out numpy integers
    rank = current_rank()
    if rank is None:  # not yet one of several processes: check, and start them if asked to
        world_size, backend = check_distributed_options(world_size, backend, device, loss_weighting)
        if world_size > 1:
            return launch(cotrainer, model, dataloaders, seed, uid, cb, world_size, backend, config)
    splits = normalise_dataloaders(dataloaders)
    full_splits = dict(splits)
    if rank is not None:
        splits["train"] = shard_split(splits["train"], rank.rank, rank.world_size)
    checked = check_options(config)
    max_epochs, patience, round_size = checked["max_epochs"], checked["patience"], checked["round_size"]
    checkpoint_every, clip_grad_norm = checked["checkpoint_every"], checked["clip_grad_norm"]
    lr, weight_decay = checked["lr"], checked["weight_decay"]

    train_tasks = list(splits["train"])
    main_task = _resolve_main_task(main_task, train_tasks)
    if loss_functions is None:
        loss_functions = _declared(model, "task_losses", splits)
    loss_weighting, loss_weighting_options = _resolve_weighting(model, loss_weighting, loss_weighting_options, splits)
    losses = apply_count_task_scheme(
        _resolve_losses(loss_functions, splits), loss_weighting, loss_weighting_options
    )
    monitor = _resolve_monitor(monitor, main_task, losses, splits["validation"])
    if score_metric is None:
        score_metric = next(iter(monitor))
    elif score_metric not in monitor:
        raise ValueError(f"score_metric {score_metric!r} must be one of the monitored metrics {list(monitor)}")
    early_stopping = EarlyStopping(monitor, patience=patience, combine=monitor_combine, min_delta=min_delta)
    train_cycler = build_cycler(cycler, splits["train"], seed, main_task=main_task, ratio=ratio)

    resolved_device = _resolve_device(device)
    if rank is not None and resolved_device.type == "cuda":
        resolved_device = torch.device("cuda", rank.rank)  # one GPU per process
    model.to(resolved_device)
    for loss in losses.values():
        loss.to(resolved_device)
    weighting = build_weighting(loss_weighting, {task: losses[task] for task in train_tasks}, loss_weighting_options)
    weighting.to(resolved_device)
    extra_parameters = [p for task in train_tasks for p in losses[task].parameters()]
    extra_lr_groups = []
    if weighting.parameter_lr is None:
        extra_parameters += list(weighting.parameters())
    else:
        extra_lr_groups.append((list(weighting.parameters()), weighting.parameter_lr))
    train_optimizer = build_optimizer(
        optimizer, list(model.parameters()), extra_parameters, lr, weight_decay, optimizer_options, extra_lr_groups
    )
    scheduler = build_scheduler(
        lr_scheduler, train_optimizer, lr_scheduler_options, max_epochs, plateau_mode=monitor[score_metric]
    )
    logger.debug(
        "co-training %s on %s: tasks %s (main %s), cycler %s, weighting %s, monitor %s",
        uid if uid is not None else "a model", resolved_device, train_tasks, main_task, cycler, loss_weighting, monitor,
    )
    trainer_class, distributed = CoTrainer, {}
    if rank is not None:
        weighting = GradientAveraging(weighting, train_optimizer, rank.world_size, rank.group)
        trainer_class = DistributedCoTrainer
        distributed = {"rank": rank.rank, "world_size": rank.world_size, "group": rank.group,
                       "evaluation_splits": full_splits}
    trainer = trainer_class(
        model,
        splits,
        seed,
        losses=losses,
        weighting=weighting,
        cycler=train_cycler,
        optimizer=train_optimizer,
        scheduler=scheduler,
        early_stopping=early_stopping,
        score_metric=score_metric,
        max_epochs=max_epochs,
        device=resolved_device,
        round_size=round_size,
        clip_grad_norm=clip_grad_norm,
        mixed_precision=mixed_precision,
        checkpoint_every=checkpoint_every,
        verbose=verbose,
        callback=EpochCallback(cb),
        uid=uid,
        restore_best=restore_best,
        **distributed,
    )
    return trainer.train()


_CALL_ARGUMENTS = ("model", "dataloaders", "seed", "uid", "cb")
