"""Infer what each task needs from its dataloaders: task type, input shapes, class / output / neuron counts.

A split maps task name -> DataLoader or task name -> {data_key: DataLoader}; batches are sequences whose element 0
is the input (N, C, H, W) and element 1 the target. Peeking at a batch must not change the experiment: it runs with
the global RNG forked and the loader's own generator state restored afterwards, so the training data order and the
seeded model weights are the same whether or not a model was built from the loaders first. Nothing that shapes the
weights may depend on *which* batch comes first either (a shuffling loader's first batch changes as it is iterated):
shapes and counts are the same in every batch, and a neural task's mean activity is the whole training split's
(:func:`mean_response`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DataLoader

logger = logging.getLogger(__name__)

TASK_TYPES = ("classification", "regression", "neural")


@dataclass
class TaskSpec:
    """What a head for one task must look like, inferred from the data."""

    name: str
    type: str
    input_shapes: dict[str, tuple[int, int, int]]  # data_key (the task name for a plain loader) -> (C, H, W)
    n_outputs: int = 0  # classes (classification) or outputs (regression)
    scalar_target: bool = False  # regression target of shape (N,)
    n_neurons: dict[str, int] = field(default_factory=dict)
    mean_activity: dict[str, torch.Tensor] = field(default_factory=dict)


def dataset_attribute(loader: Any, name: str) -> Any:
    """``loader.dataset.<name>``, looking through wrapping datasets (e.g. ``torch.utils.data.Subset``)."""
    dataset = getattr(loader, "dataset", None)
    while dataset is not None:
        if hasattr(dataset, name):
            return getattr(dataset, name)
        dataset = getattr(dataset, "dataset", None)
    return None


def training_split(dataloaders: Any) -> Mapping[str, Any]:
    """``dataloaders["train"]``, checked to be a non-empty ``{task: loader or {data_key: loader}}`` dict."""
    if not isinstance(dataloaders, Mapping) or "train" not in dataloaders:
        found = sorted(dataloaders) if isinstance(dataloaders, Mapping) else type(dataloaders).__name__
        raise ValueError(f"dataloaders must be a dict with a 'train' split, got {found}")
    split = dataloaders["train"]
    if not isinstance(split, Mapping) or not split:
        raise TypeError("dataloaders['train'] must be a non-empty dict {task_name: loader or {data_key: loader}}")
    return split


def first_batch(loader: Any, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) of the loader's first batch, inputs of any shape, leaving every random generator as it was."""
    candidates = (getattr(loader, "generator", None), getattr(getattr(loader, "sampler", None), "generator", None))
    generators = {id(g): g for g in candidates if g is not None}
    states = {key: g.get_state() for key, g in generators.items()}
    try:
        with torch.random.fork_rng(devices=[]):
            batch = next(iter(loader))
    except StopIteration:
        raise ValueError(f"the loader for {where} is empty") from None
    finally:
        for key, g in generators.items():
            g.set_state(states[key])
    if isinstance(batch, Mapping) or not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise TypeError(f"a batch of {where} must be a tuple (inputs, targets, ...), got {type(batch).__name__}")
    inputs, targets = batch[0], batch[1]
    if not isinstance(inputs, torch.Tensor) or inputs.ndim < 2:
        shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(f"inputs of {where} must be a tensor (N, ...), got {shape}")
    if not isinstance(targets, torch.Tensor):
        raise TypeError(f"targets of {where} must be a tensor, got {type(targets).__name__}")
    return inputs, targets


def peek_batch(loader: Any, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs (N, C, H, W), targets) of the loader's first batch, leaving every random generator as it was."""
    inputs, targets = first_batch(loader, where)
    if inputs.ndim != 4:
        raise ValueError(f"inputs of {where} must be a tensor (N, C, H, W), got {tuple(inputs.shape)}")
    return inputs, targets


def mean_response(loader: Any, where: str) -> torch.Tensor:
    """(n_neurons,) mean target over every sample of the loader's dataset, however far the loader has been iterated.

    Uses the dataset's own ``mean_response`` when it has one (this package's neural datasets do); otherwise reads
    the dataset once in index order (no shuffling, global RNG forked, so augmentations cannot change it).
    """
    dataset = getattr(loader, "dataset", None)
    declared = getattr(dataset, "mean_response", None)
    if declared is not None:
        return torch.as_tensor(declared).detach().float()
    if dataset is None:
        raise ValueError(f"the loader for {where} has no dataset to compute the mean response from")
    ordered = DataLoader(dataset, batch_size=getattr(loader, "batch_size", None) or 64, shuffle=False,
                         collate_fn=getattr(loader, "collate_fn", None))
    total, count = None, 0
    with torch.random.fork_rng(devices=[]):
        for batch in ordered:
            targets = batch[1].detach().double()
            total = targets.sum(0) if total is None else total + targets.sum(0)
            count += targets.shape[0]
    if not count:
        raise ValueError(f"the loader for {where} is empty")
    return (total / count).float()


def _infer_type(task: str, loaders: Mapping[str, Any], keyed: bool, n_classes: int | None, target: torch.Tensor) -> str:
    first = next(iter(loaders.values()))
    if keyed or dataset_attribute(first, "n_neurons") is not None:
        return "neural"
    if dataset_attribute(first, "n_classes") is not None or n_classes is not None:
        return "classification"
    if target.is_floating_point():
        return "regression"
    raise ValueError(
        f"task {task!r} has integer targets but its dataset has no n_classes attribute: set n_classes in the model "
        f"config (or task_types[{task!r}])"
    )


def describe_task(
    task: str, value: Any, type_override: str | None, n_classes: int | None, with_mean_activity: bool
) -> TaskSpec:
    """The :class:`TaskSpec` of ``task`` from its loader (or {data_key: loader} dict) in the training split."""
    keyed = isinstance(value, Mapping)
    loaders = {str(k): v for k, v in value.items()} if keyed else {task: value}
    if not loaders:
        raise ValueError(f"task {task!r} has no data_keys in the training split")
    batches = {key: peek_batch(loader, f"task {task!r} data_key {key!r}") for key, loader in loaders.items()}
    if type_override is not None and type_override not in TASK_TYPES:
        raise ValueError(f"task_types[{task!r}] must be one of {TASK_TYPES}, got {type_override!r}")
    first_target = next(iter(batches.values()))[1]
    kind = type_override or _infer_type(task, loaders, keyed, n_classes, first_target)
    spec = TaskSpec(task, kind, {key: tuple(int(s) for s in b[0].shape[1:]) for key, b in batches.items()})

    if kind == "classification":
        found = {int(c) for c in (dataset_attribute(l, "n_classes") for l in loaders.values()) if c is not None}
        if n_classes is not None and found and found != {int(n_classes)}:
            raise ValueError(f"task {task!r}: config n_classes={n_classes} but the dataset says {sorted(found)}")
        if len(found) > 1:
            raise ValueError(f"task {task!r}: its data_keys disagree on n_classes: {sorted(found)}")
        if not found and n_classes is None:
            raise ValueError(
                f"task {task!r}: its dataset has no n_classes attribute; set n_classes in the model config"
            )
        spec.n_outputs = found.pop() if found else int(n_classes)
    elif kind == "regression":
        if first_target.ndim not in (1, 2):
            raise ValueError(
                f"regression targets of task {task!r} must be (N,) or (N, k), got {tuple(first_target.shape)}"
            )
        spec.scalar_target = first_target.ndim == 1
        spec.n_outputs = 1 if spec.scalar_target else int(first_target.shape[1])
    else:
        for key, (_, targets) in batches.items():
            declared = dataset_attribute(loaders[key], "n_neurons")
            if targets.ndim != 2:
                raise ValueError(
                    f"neural targets of task {task!r} data_key {key!r} must be (N, n_neurons), "
                    f"got {tuple(targets.shape)}"
                )
            if declared is not None and int(declared) != targets.shape[1]:
                raise ValueError(
                    f"task {task!r} data_key {key!r}: dataset n_neurons={declared} "
                    f"but targets have {targets.shape[1]} columns"
                )
            spec.n_neurons[key] = int(targets.shape[1])
            if with_mean_activity:
                activity = mean_response(loaders[key], f"task {task!r} data_key {key!r}")
                if tuple(activity.shape) != (spec.n_neurons[key],):
                    raise ValueError(
                        f"task {task!r} data_key {key!r}: mean response of shape {tuple(activity.shape)} for "
                        f"{spec.n_neurons[key]} neurons"
                    )
                spec.mean_activity[key] = activity
    logger.debug("task %r: %s", task, spec)
    return spec
