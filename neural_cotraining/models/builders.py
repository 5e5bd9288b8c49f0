"""Model builders with the nnfabrik signature ``model_fn(dataloaders, seed, **config) -> nn.Module``.

Every config key is an explicit keyword argument with its default, so ``inspect.signature`` lists what a builder
accepts; an unknown key raises :class:`UnknownConfigKeyError` naming the accepted ones. Shapes come from
``dataloaders["train"]``; the weights depend only on ``seed`` and the config (the global RNG is forked, not changed).

Builders: :func:`multitask_model` (shared VGG core + task heads / neural readouts, defined here) and, from
``models.graph.builders``, :func:`task_graph_model` (a declarative task graph from JSON-able node specs) and
:func:`hard_sharing_mlp` (an MLP encoder shared by binary / multi-class / regression heads).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..common.value_checks import check_fraction, check_int
from ..registry import checks_config, register_builder
from .config_check import UnknownConfigKeyError, check_seed, strict_config
from .cores import VGGCore
from .data_shapes import TaskSpec, describe_task
from .data_shapes import training_split as _training_split
from .graph.builders import hard_sharing_mlp, task_graph_model
from .heads import ClassificationHead, RegressionHead
from .multitask import MultiTaskModel
from .readouts import READOUT_OPTIONS, SessionReadouts, build_readout

__all__ = [
    "UnknownConfigKeyError",
    "hard_sharing_mlp",
    "multitask_model",
    "strict_config",
    "task_graph_model",
]

logger = logging.getLogger(__name__)


def _select_tasks(split: Mapping[str, Any], tasks: str | Sequence[str] | None) -> list[str]:
    available = [str(t) for t in split]
    if tasks is None:
        return available
    selected = [tasks] if isinstance(tasks, str) else [str(t) for t in tasks]
    missing = [t for t in selected if t not in available]
    if missing or not selected:
        raise ValueError(f"tasks {missing or selected} are not in dataloaders['train']; available tasks: {available}")
    return selected


def _per_task(value: Any, task: str) -> Any:
    """A config value given once for all tasks or as a {task: value} dict."""
    return value.get(task) if isinstance(value, Mapping) else value


def _input_channels(specs: list[TaskSpec], wanted: int | None) -> int:
    channels = {(s.name, key): shape[0] for s in specs for key, shape in s.input_shapes.items()}
    if wanted is not None:
        wanted = check_int("input_channels", wanted, minimum=1)
        odd = {where: c for where, c in channels.items() if c not in (1, wanted)}
        if odd:
            raise ValueError(f"input_channels={wanted}: inputs must have 1 or {wanted} channels; got {odd}")
        return wanted
    if len(set(channels.values())) != 1:
        raise ValueError(f"all tasks share one core, so inputs need the same channel count; got {channels}")
    return next(iter(channels.values()))


def _as_core_input(core: VGGCore, shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """An input shape as the core sees it (one-channel inputs are repeated into the core's channels)."""
    return (core.input_channels, *shape[1:])


def _make_head(
    spec: TaskSpec,
    core: VGGCore,
    readout_layer: int | str | None,
    readout: dict[str, Any],
    head_hidden_features: int | None,
    head_dropout: float,
) -> nn.Module:
    if spec.type == "neural":
        readouts = {
            key: build_readout(
                readout["type"],
                core.output_shape(_as_core_input(core, spec.input_shapes[key]), layer=readout_layer),
                spec.n_neurons[key],
                mean_activity=spec.mean_activity.get(key),
                elu_offset=readout["elu_offset"],
                **readout["config"],
            )
            for key in spec.n_neurons
        }
        return SessionReadouts(readouts, elu_offset=readout["elu_offset"], learn_offset=readout["learn_offset"])
    for shape in spec.input_shapes.values():
        core.output_shape(_as_core_input(core, shape))  # fail now if an input is too small for the whole core
    channels = core.block_channels[-1]
    if spec.type == "classification":
        return ClassificationHead(channels, spec.n_outputs, hidden_features=head_hidden_features, dropout=head_dropout)
    return RegressionHead(
        channels,
        spec.n_outputs,
        hidden_features=head_hidden_features,
        dropout=head_dropout,
        squeeze_output=spec.scalar_target,
    )


def check_model_config(config: Mapping[str, Any]) -> None:
    """The checks of :func:`multitask_model`'s options that need no data, run when an entry is added too
    (``registry.checks_config``): the readout settings even when no neural task is built, so a typo never passes
    silently, and the dropout rates."""
    readout_bias_init = config.get("readout_bias_init", "data")
    if readout_bias_init not in ("data", "zero"):
        raise ValueError(f"readout_bias_init must be 'data' or 'zero', got {readout_bias_init!r}")
    readout_type = config.get("readout_type", "gaussian")
    if readout_type not in READOUT_OPTIONS:
        raise ValueError(f"unknown readout_type {readout_type!r}; known: {sorted(READOUT_OPTIONS)}")
    unknown_options = sorted(set(config.get("readout_config") or {}) - set(READOUT_OPTIONS[readout_type]))
    if unknown_options:
        raise ValueError(
            f"unknown readout_config keys {unknown_options} for readout_type {readout_type!r}; "
            f"accepted: {sorted(READOUT_OPTIONS[readout_type])}"
        )
    for name in ("dropout", "head_dropout"):
        check_fraction(name, config.get(name, 0.0), allow_zero=True)


@register_builder("model")
@checks_config(check_model_config)
@strict_config
def multitask_model(
    dataloaders: Mapping[str, Any],
    seed: int,
    *,
    tasks: str | Sequence[str] | None = None,
    task_types: Mapping[str, str] | None = None,
    n_classes: int | Mapping[str, int] | None = None,
    block_channels: Sequence[int] = (32, 64, 128),
    convs_per_block: int | Sequence[int] = 2,
    kernel_size: int = 3,
    batch_norm: bool = True,
    dropout: float = 0.0,
    pooling: str | None = "max",
    activation: str = "relu",
    readout_layer: int | str | None = 1,
    readout_type: str = "gaussian",
    readout_config: Mapping[str, Any] | None = None,
    readout_bias_init: str = "data",
    elu_offset: float = 0.0,
    learn_offset: bool = False,
    head_hidden_features: int | None = None,
    head_dropout: float = 0.0,
    input_channels: int | None = None,
) -> MultiTaskModel:
    """A shared VGG core with one head per task found in ``dataloaders["train"]`` (Safarani et al. 2021).

    Args:
        dataloaders: ``{"train": {task: loader or {data_key: loader}}, ...}``; only "train" is read (one batch per
            loader, to infer shapes).
        seed: seeds the weight initialisation (same seed and config -> identical weights).
        tasks: the tasks to build heads for (default: all in the training split), e.g. ["img_classification"] for
            an image-only baseline or ["neural"] for a neural-only one.
        task_types: {task: "classification" | "regression" | "neural"} where inference from the data is not wanted.
            Inferred otherwise: {data_key: loader} dict or dataset ``n_neurons`` -> neural; dataset ``n_classes`` or
            config ``n_classes`` -> classification; float targets -> regression.
        n_classes: class count for classification datasets without an ``n_classes`` attribute (int, or {task: int}).
        block_channels, convs_per_block, kernel_size, batch_norm, dropout, pooling, activation: the core
            (see :class:`~neural_cotraining.models.cores.VGGCore`).
        readout_layer: the core layer neural readouts read: block index, "block{i}", or a layer name such as
            "block1.conv0"; None for the last layer. Classification and regression heads read the last layer.
        readout_type: "gaussian" (neuralpredictors FullGaussian2d) or "factorized" (our own).
        readout_config: options of the readout (see ``readouts.READOUT_OPTIONS``), e.g. {"feature_reg_weight": 0.1}.
        readout_bias_init: "data" (start each neuron at its mean rate over the whole training split, so the weights
            do not depend on the loader's state; the original used the current first batch) or "zero".
        input_channels: channels of the core's first convolution (default: the data's). One-channel inputs are
            repeated to this many, as the original MTL-VGG repeats grey images into its 3-channel VGG.
        elu_offset, learn_offset: the output is elu(readout + offset) + 1; a constant or a learned per-neuron offset.
        head_hidden_features, head_dropout: hidden layer width and dropout of classification / regression heads.
    """
    check_seed(seed, "multitask_model")
    check_model_config(dict(readout_bias_init=readout_bias_init, readout_type=readout_type,
                            readout_config=readout_config, dropout=dropout, head_dropout=head_dropout))
    task_types = dict(task_types or {})
    split = _training_split(dataloaders)
    selected = _select_tasks(split, tasks)
    unknown_types = sorted(set(task_types) - set(selected))
    if unknown_types:
        raise ValueError(f"task_types names tasks that are not built: {unknown_types}; built tasks: {selected}")

    specs = [
        describe_task(
            task, split[task], task_types.get(task), _per_task(n_classes, task), readout_bias_init == "data"
        )
        for task in selected
    ]
    readout = {"type": readout_type, "config": dict(readout_config or {}), "elu_offset": elu_offset,
               "learn_offset": learn_offset}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        core = VGGCore(
            _input_channels(specs, input_channels),
            block_channels=block_channels,
            convs_per_block=convs_per_block,
            kernel_size=kernel_size,
            batch_norm=batch_norm,
            dropout=dropout,
            pooling=pooling,
            activation=activation,
        )
        core.resolve_layer(readout_layer)
        heads = {s.name: _make_head(s, core, readout_layer, readout, head_hidden_features, head_dropout) for s in specs}
    layers = {s.name: readout_layer for s in specs if s.type == "neural"}
    model = MultiTaskModel(core, heads, core_layers=layers)
    logger.debug(
        "built %s with tasks %s (%d parameters)",
        type(model).__name__,
        model.task_types,
        sum(p.numel() for p in model.parameters()),
    )
    return model
