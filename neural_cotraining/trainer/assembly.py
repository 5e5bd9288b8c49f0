"""Assembling a co-trainer from a checked :class:`~.plan.TrainerPlan`, a model and its dataloaders.

Here the plan meets the data and the machine: the main task, each task's loss, the monitored metrics and the
device are resolved against what the dataloaders hold and what this machine has, then the loss weighting, cycler,
optimiser, scheduler and early stopping are built. :func:`trainer_arguments` is shared by the one-process trainer
(:func:`assemble_trainer`) and each rank of a distributed job (``distributed.entry``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import torch

from ..common.names import IMAGE_CLASSIFICATION, VALIDATION
from .callbacks import EpochCallback
from .cotrainer import CoTrainer
from .cyclers import build_cycler
from .early_stopping import EarlyStopping
from .losses import build_loss, default_loss_name
from .metrics import METRIC_MODES, PRIMARY_METRIC, metric_kind, metric_names
from .optimization import build_optimizer, build_scheduler
from .plan import TrainerPlan
from .splits import normalise_dataloaders
from .weighting import build_weighting

__all__ = ["apply_count_task_scheme", "assemble_trainer", "resolve_device", "trainer_arguments"]

logger = logging.getLogger(__name__)


def resolve_device(device) -> torch.device:
    """The torch device a plan names (None: CUDA where there is one); ValueError when this machine lacks it."""
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
        return IMAGE_CLASSIFICATION if IMAGE_CLASSIFICATION in train_tasks else train_tasks[0]
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
        losses[task] = build_loss(name)
    return losses


#: likelihood weighting's count_tasks schemes that replace a Poisson task's loss, and the loss they put in its place
COUNT_TASK_LOSSES = {"dispersion": "negative_binomial", "deviance": "poisson_deviance"}


def apply_count_task_scheme(losses: dict, loss_weighting, options) -> dict:
    """Under likelihood weighting with ``count_tasks="dispersion"`` (the original co-trainer's scheme), a Poisson
    task's loss becomes the negative binomial, whose learned dispersion stands in for its uncertainty weight; with
    ``"deviance"`` it becomes the Poisson deviance (``weighting.likelihood``)."""
    scheme = options.get("count_tasks") if isinstance(options, Mapping) else None
    if loss_weighting != "likelihood" or scheme not in COUNT_TASK_LOSSES:
        return losses
    swapped = dict(losses)
    for task, loss in losses.items():
        if getattr(loss, "name", None) == "poisson":
            logger.info("task %r: loss poisson -> %s (likelihood count_tasks=%r)", task, COUNT_TASK_LOSSES[scheme],
                        scheme)
            swapped[task] = build_loss(COUNT_TASK_LOSSES[scheme])
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
    monitor = dict(monitor)  # its keys' form is checked in the plan
    for key in monitor:
        _, task, metric = key.split("/", 2)
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


def trainer_arguments(
    plan: TrainerPlan, model: torch.nn.Module, splits: dict, seed: int, uid, cb, device: torch.device
) -> dict:
    """``CoTrainer``'s arguments (``model``, ``splits``, ``seed`` included) for ``plan`` on normalised ``splits``;
    ``model`` and the losses are moved to ``device``."""
    train_tasks = list(splits["train"])
    main_task = _resolve_main_task(plan.main_task, train_tasks)
    loss_functions = plan.loss_functions
    if loss_functions is None:
        loss_functions = _declared(model, "task_losses", splits)
    loss_weighting, loss_weighting_options = _resolve_weighting(
        model, plan.loss_weighting, plan.loss_weighting_options, splits
    )
    losses = apply_count_task_scheme(_resolve_losses(loss_functions, splits), loss_weighting, loss_weighting_options)
    monitor = _resolve_monitor(plan.monitor, main_task, losses, splits[VALIDATION])
    score_metric = plan.score_metric
    if score_metric is None:
        score_metric = next(iter(monitor))
    elif score_metric not in monitor:
        raise ValueError(f"score_metric {score_metric!r} must be one of the monitored metrics {list(monitor)}")
    early_stopping = EarlyStopping(monitor, patience=plan.patience, combine=plan.monitor_combine,
                                   min_delta=plan.min_delta)
    train_cycler = build_cycler(plan.cycler, splits["train"], seed, main_task=main_task, ratio=plan.ratio)

    model.to(device)
    for loss in losses.values():
        loss.to(device)
    weighting = build_weighting(loss_weighting, {task: losses[task] for task in train_tasks}, loss_weighting_options)
    weighting.to(device)
    extra_parameters = [p for task in train_tasks for p in losses[task].parameters()]
    extra_lr_groups = []
    if weighting.parameter_lr is None:
        extra_parameters += list(weighting.parameters())
    else:
        extra_lr_groups.append((list(weighting.parameters()), weighting.parameter_lr))
    optimizer = build_optimizer(
        plan.optimizer, list(model.parameters()), extra_parameters, plan.lr, plan.weight_decay,
        plan.optimizer_options, extra_lr_groups,
    )
    scheduler = build_scheduler(
        plan.lr_scheduler, optimizer, plan.lr_scheduler_options, plan.max_epochs, plateau_mode=monitor[score_metric]
    )
    logger.debug(  # detail: the pipeline logs one labelled line per epoch of a job
        "co-training %s on %s: tasks %s (main %s), cycler %s, weighting %s, monitor %s",
        uid if uid is not None else "a model", device, train_tasks, main_task, plan.cycler, loss_weighting, monitor,
    )
    return dict(
        model=model,
        splits=splits,
        seed=seed,
        losses=losses,
        weighting=weighting,
        cycler=train_cycler,
        optimizer=optimizer,
        scheduler=scheduler,
        early_stopping=early_stopping,
        score_metric=score_metric,
        max_epochs=plan.max_epochs,
        device=device,
        round_size=plan.round_size,
        clip_grad_norm=plan.clip_grad_norm,
        mixed_precision=plan.mixed_precision,
        checkpoint_every=plan.checkpoint_every,
        verbose=plan.verbose,
        callback=EpochCallback(cb),
        uid=uid,
        restore_best=plan.restore_best,
    )


def assemble_trainer(plan: TrainerPlan, model: torch.nn.Module, dataloaders: Mapping, seed: int, uid=None,
                     cb=None) -> CoTrainer:
    """The one-process co-trainer of ``plan``, ready to ``train()``."""
    splits = normalise_dataloaders(dataloaders)
    return CoTrainer(**trainer_arguments(plan, model, splits, seed, uid, cb, resolve_device(plan.device)))
