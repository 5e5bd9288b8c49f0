"""nnfabrik-style builders for task-graph models, so graphs become Model-table entries with JSON-able configs.

``task_graph_model(dataloaders, seed, nodes=[...])`` compiles node specs; ``hard_sharing_mlp(dataloaders, seed,
hidden_sizes=..., heads=...)`` builds an MLP encoder shared by one head per task, sized from ``dataloaders["train"]``.
Both seed their weights with a forked RNG (the global RNG is unchanged) and reject unknown config keys.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ...registry import register_builder
from ..config_check import check_seed, strict_config
from ..data_shapes import dataset_attribute, first_batch, training_split
from .heads import HEAD_KINDS
from .model import TaskGraphModel
from .sharing import hard_sharing_nodes

logger = logging.getLogger(__name__)

__all__ = ["HEAD_OPTIONS", "hard_sharing_mlp", "task_graph_model"]

#: the keys of one entry of ``hard_sharing_mlp(heads={task: {...}})``
HEAD_OPTIONS = ("kind", "n_classes", "n_outputs", "loss", "loss_weight", "loss_init", "hidden_features", "dropout")


def _task_batches(task: str, value: Any) -> list[tuple[torch.Tensor, torch.Tensor, Any]]:
    """(inputs, targets, loader) of the first batch of each of a task's loaders (one per data_key)."""
    loaders = dict(value) if isinstance(value, Mapping) else {None: value}
    if not loaders:
        raise ValueError(f"task {task!r} has no data_keys in the training split")
    return [
        (*first_batch(loader, f"task {task!r}" + (f" data_key {key!r}" if key is not None else "")), loader)
        for key, loader in loaders.items()
    ]


def _check_runs(model: TaskGraphModel, split: Mapping[str, Any]) -> None:
    """Run each task's first training batch through the graph, so a size mismatch fails at build time."""
    missing = [task for task in split if task not in model.node_names]
    if missing:
        raise ValueError(
            f"the training data has tasks {missing} that are not nodes of the task graph; nodes: {model.node_names}"
        )
    was_training = model.training
    model.eval()  # no batch-norm statistics are updated and dropout draws no random numbers
    try:
        with torch.no_grad():
            for task in split:
                inputs = _task_batches(task, split[task])[0][0]
                try:
                    model(inputs[:2], task=task)
                except Exception as error:
                    raise ValueError(
                        f"the task graph cannot compute task {task!r} from its training inputs of shape "
                        f"{tuple(inputs.shape)}: {error}"
                    ) from error
    finally:
        model.train(was_training)


@register_builder("model", aliases=("neural_cotraining.models.graph.builders.task_graph_model",))
@strict_config
def task_graph_model(
    dataloaders: Mapping[str, Any],
    seed: int,
    *,
    nodes: Sequence[Mapping[str, Any]],
    default_task: str | None = None,
) -> TaskGraphModel:
    """A :class:`TaskGraphModel` from JSON-able node specs (see ``models.graph.spec`` and ``models.graph.layers``).

    Args:
        dataloaders: ``{"train": {task: loader or {data_key: loader}}, ...}``; every training task must be a node
            of the graph, and its first batch is run through the graph (in eval mode, without gradients) so that a
            size mismatch is reported here rather than in the middle of training.
        seed: seeds the weight initialisation (same seed and config -> identical weights).
        nodes: ``[{"name", "layers", "anchor", "loss", "loss_weight", "loss_init"}, ...]``, e.g.
            ``{"name": "trunk", "layers": {"type": "mlp", "sizes": [8, 16]}, "anchor": "input"}``.
        default_task: the node ``model(x)`` returns without ``task`` (default: the only loss node).
    """
    seed = check_seed(seed, "task_graph_model")
    split = training_split(dataloaders)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TaskGraphModel(nodes, default_task=default_task)
    _check_runs(model, split)
    logger.info("built task graph with nodes %s, tasks %s", model.node_names, model.task_losses)
    return model


def _infer_kind(task: str, batches: list, n_classes: int | None) -> str:
    loader, targets = batches[0][2], batches[0][1]
    declared = dataset_attribute(loader, "task_kind")  # e.g. tabular data says "binary" for float 0/1 targets
    if declared in HEAD_KINDS:
        return declared
    if dataset_attribute(loader, "n_classes") is not None or n_classes is not None:
        return "multiclass"
    if targets.is_floating_point():
        return "regression"
    raise ValueError(
        f"task {task!r} has integer targets but its dataset has no n_classes attribute: set "
        f"heads[{task!r}]['kind'] ('binary' or 'multiclass') and, for multiclass, 'n_classes'"
    )


def _declared_classes(task: str, batches: list, n_classes: int | None) -> int | None:
    found = {int(c) for c in (dataset_attribute(b[2], "n_classes") for b in batches) if c is not None}
    if len(found) > 1:
        raise ValueError(f"task {task!r}: its data_keys disagree on n_classes: {sorted(found)}")
    if n_classes is not None and found and found != {int(n_classes)}:
        raise ValueError(f"task {task!r}: heads config n_classes={n_classes} but the dataset says {found.pop()}")
    return found.pop() if found else n_classes


def _binary_size(task: str, batches: list, options: Mapping[str, Any]) -> dict[str, Any]:
    targets = [b[1] for b in batches]
    if targets[0].ndim not in (1, 2) or (targets[0].ndim == 2 and targets[0].shape[1] != 1):
        raise ValueError(f"binary targets of task {task!r} must be (N,) or (N, 1), got {tuple(targets[0].shape)}")
    declared = _declared_classes(task, batches, None)
    values = set(torch.cat([t.flatten() for t in targets]).tolist())
    if (declared is not None and declared != 2) or not values <= {0, 1}:
        raise ValueError(
            f"task {task!r} is declared binary, but its dataset has n_classes={declared} and its first "
            f"targets take the values {sorted(values)[:10]}; binary targets are 0 and 1"
        )
    return {"squeeze_output": targets[0].ndim == 1}


def _multiclass_size(task: str, batches: list, options: Mapping[str, Any]) -> dict[str, Any]:
    target = batches[0][1]
    if target.ndim != 1 or target.is_floating_point():
        raise ValueError(
            f"multiclass targets of task {task!r} must be int64 labels (N,), got {target.dtype} {tuple(target.shape)}"
        )
    n_classes = _declared_classes(task, batches, options.get("n_classes"))
    if n_classes is None:
        raise ValueError(f"task {task!r}: its dataset has no n_classes attribute; set heads[{task!r}]['n_classes']")
    return {"n_classes": int(n_classes)}


def _regression_size(task: str, batches: list, options: Mapping[str, Any]) -> dict[str, Any]:
    target = batches[0][1]
    if target.ndim not in (1, 2):
        raise ValueError(f"regression targets of task {task!r} must be (N,) or (N, k), got {tuple(target.shape)}")
    n_outputs = 1 if target.ndim == 1 else int(target.shape[1])
    if options.get("n_outputs") is not None and int(options["n_outputs"]) != n_outputs:
        raise ValueError(f"task {task!r}: heads config n_outputs={options['n_outputs']} but targets have {n_outputs}")
    return {"n_outputs": n_outputs, "squeeze_output": target.ndim == 1}


_SIZERS = {"binary": _binary_size, "multiclass": _multiclass_size, "regression": _regression_size}


def _head_spec(task: str, batches: list, options: Mapping[str, Any], in_features: int, defaults: dict) -> dict:
    """The layer spec of ``task``'s head, sized from its first batches and its ``heads`` entry."""
    kind = options.get("kind") or _infer_kind(task, batches, options.get("n_classes"))
    if kind not in HEAD_KINDS:
        raise ValueError(f"heads[{task!r}]['kind'] must be one of {HEAD_KINDS}, got {kind!r}")
    for option, owner in (("n_classes", "multiclass"), ("n_outputs", "regression")):
        if options.get(option) is not None and kind != owner:
            raise ValueError(f"heads[{task!r}] sets {option}, which applies to {owner} heads only (kind {kind!r})")
    shapes = sorted({tuple(b[1].shape[1:]) for b in batches})
    if len(shapes) != 1:
        raise ValueError(f"task {task!r}: its data_keys have different target shapes {shapes}")
    return {
        "type": f"{kind}_head",
        "in_features": in_features,
        "hidden_features": options.get("hidden_features", defaults["hidden_features"]),
        "dropout": options.get("dropout", defaults["dropout"]),
        **_SIZERS[kind](task, batches, options),
    }


def _heads_config(heads: Mapping[str, Any] | None, split: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    if heads is None:
        return {str(task): {} for task in split}
    if not isinstance(heads, Mapping) or not heads:
        raise TypeError(f"heads must be a non-empty dict {{task: {{'kind': ...}}}} or None, got {heads!r}")
    missing = sorted(set(heads) - set(split))
    if missing:
        raise ValueError(f"heads names tasks {missing} that are not in dataloaders['train']: {sorted(split)}")
    config: dict[str, Mapping[str, Any]] = {}
    for task, options in heads.items():
        options = {} if options is None else options
        if not isinstance(options, Mapping):
            raise TypeError(f"heads[{task!r}] must be a dict of {list(HEAD_OPTIONS)}, got {options!r}")
        unknown = sorted(set(options) - set(HEAD_OPTIONS))
        if unknown:
            raise ValueError(f"heads[{task!r}] has unknown keys {unknown}; accepted: {list(HEAD_OPTIONS)}")
        config[str(task)] = options
    for task in split:  # tasks the heads dict leaves out get a head inferred from their data
        config.setdefault(str(task), {})
    return config


@register_builder("model", aliases=("neural_cotraining.models.graph.builders.hard_sharing_mlp",))
@strict_config
def hard_sharing_mlp(
    dataloaders: Mapping[str, Any],
    seed: int,
    *,
    hidden_sizes: Sequence[int] = (64, 64),
    heads: Mapping[str, Mapping[str, Any] | None] | None = None,
    activation: str = "relu",
    dropout: float = 0.0,
    batch_norm: bool = False,
    head_hidden_features: int | None = None,
    head_dropout: float = 0.0,
) -> TaskGraphModel:
    """Hard parameter sharing (Caruana 1997): an MLP encoder shared by one head per task, as a task graph.

    Args:
        dataloaders: ``{"train": {task: loader or {data_key: loader}}, ...}``; one batch per loader is read to size
            the encoder input (all input features flattened) and each head.
        seed: seeds the weight initialisation (same seed and config -> identical weights).
        hidden_sizes: widths of the encoder's layers (each followed by the activation); [] for no encoder (linear
            heads on the flattened input).
        heads: ``{task: {"kind": "binary" | "multiclass" | "regression", ...}}``, the tasks to build (default: every
            training task, kind inferred). Per task, all optional: ``kind`` (inferred: dataset ``n_classes`` ->
            multiclass, float targets -> regression; binary is never guessed), ``n_classes`` (else the dataset's),
            ``n_outputs`` (checked against the targets), ``loss`` (default bce_with_logits / cross_entropy / mse),
            ``loss_weight`` (a non-negative number or "auto"), ``loss_init``, ``hidden_features``, ``dropout``.
        activation, dropout, batch_norm: of the encoder's layers (see ``models.graph.modules.MLP``).
        head_hidden_features, head_dropout: defaults of each head's ``hidden_features`` and ``dropout``.
    """
    seed = check_seed(seed, "hard_sharing_mlp")
    split = training_split(dataloaders)
    config = _heads_config(heads, split)
    batches = {task: _task_batches(task, split[task]) for task in config}
    widths = {task: math.prod(b[0].shape[1:]) for task in config for b in batches[task]}
    if len(set(widths.values())) != 1:
        raise ValueError(f"the tasks share one encoder, so their inputs need the same number of features: {widths}")
    in_features = int(next(iter(widths.values())))
    hidden = [int(h) for h in hidden_sizes]
    encoder: dict[str, Any] = (
        {"type": "mlp", "sizes": [in_features, *hidden], "activation": activation, "dropout": dropout,
         "batch_norm": batch_norm, "activate_last": True}
        if hidden else {"type": "flatten"}
    )
    features = hidden[-1] if hidden else in_features
    defaults = {"hidden_features": head_hidden_features, "dropout": head_dropout}
    decoders = {task: _head_spec(task, batches[task], options, features, defaults) for task, options in config.items()}
    nodes = hard_sharing_nodes(
        encoder,
        decoders,
        losses={t: o["loss"] for t, o in config.items() if o.get("loss") is not None},
        loss_weights={t: o["loss_weight"] for t, o in config.items() if o.get("loss_weight") is not None},
        loss_inits={t: o["loss_init"] for t, o in config.items() if o.get("loss_init") is not None},
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TaskGraphModel(nodes)
    logger.info("built hard-sharing MLP %s with heads %s", [in_features, *hidden], model.task_losses)
    return model
