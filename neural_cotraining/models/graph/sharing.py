"""Hard parameter sharing: one shared encoder, one decoder per task (Caruana 1997, "Multitask learning"; Ruder 2017,
"An overview of multi-task learning in deep neural networks"), compiled as a two-level task graph: the encoder is a
node anchored on the input and each decoder a loss node anchored on the encoder.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from torch import nn

from .heads import HEAD_KIND_LOSSES, DenseHead
from .model import TaskGraphModel
from .spec import INPUT

logger = logging.getLogger(__name__)

__all__ = ["default_head_loss", "hard_sharing_model", "hard_sharing_nodes"]

_HEAD_TYPES = {f"{kind}_head": kind for kind in HEAD_KIND_LOSSES}


def default_head_loss(decoder: Any) -> str | None:
    """The loss that a head's kind implies (binary -> bce_with_logits, multiclass -> cross_entropy, regression ->
    mse), for a :class:`DenseHead` or a ``{"type": "<kind>_head", ...}`` spec; None when it cannot be told."""
    if isinstance(decoder, DenseHead):
        return HEAD_KIND_LOSSES[decoder.kind]
    if isinstance(decoder, Mapping) and decoder.get("type") in _HEAD_TYPES:
        return HEAD_KIND_LOSSES[_HEAD_TYPES[decoder["type"]]]
    return None


def _per_task(option: Mapping[str, Any] | None, name: str, tasks: list[str]) -> dict[str, Any]:
    option = dict(option or {})
    unknown = sorted(set(option) - set(tasks))
    if unknown:
        raise ValueError(f"{name} names tasks without a decoder: {unknown}; tasks: {tasks}")
    return option


def hard_sharing_nodes(
    encoder: nn.Module | Mapping[str, Any] | list[Any],
    decoders: Mapping[str, nn.Module | Mapping[str, Any] | list[Any]],
    *,
    losses: Mapping[str, str] | None = None,
    loss_weights: Mapping[str, float | str] | None = None,
    loss_inits: Mapping[str, float] | None = None,
    encoder_name: str = "encoder",
) -> list[dict[str, Any]]:
    """The node specs of a hard-sharing graph (JSON-able when the encoder and decoders are layer specs).

    A task without an entry in ``losses`` takes its head's default loss (see :func:`default_head_loss`); a decoder
    that is not a known head then raises ValueError. Weights default to 1.0.
    """
    if not isinstance(decoders, Mapping) or not decoders:
        raise ValueError("hard parameter sharing needs a non-empty dict of decoders {task: module or spec}")
    tasks = [str(task) for task in decoders]
    losses = _per_task(losses, "losses", tasks)
    loss_weights = _per_task(loss_weights, "loss_weights", tasks)
    loss_inits = _per_task(loss_inits, "loss_inits", tasks)
    nodes: list[dict[str, Any]] = [{"name": encoder_name, "layers": encoder, "anchor": INPUT}]
    for task, decoder in decoders.items():
        loss = losses.get(task) or default_head_loss(decoder)
        if loss is None:
            raise ValueError(
                f"no loss for task {task!r}: its decoder is not a binary/multiclass/regression head, so name one "
                f"in losses={{{task!r}: ...}}"
            )
        node = {"name": str(task), "layers": decoder, "anchor": encoder_name, "loss": loss}
        if task in loss_weights:
            node["loss_weight"] = loss_weights[task]
        if task in loss_inits:
            node["loss_init"] = loss_inits[task]
        nodes.append(node)
    return nodes


def hard_sharing_model(
    encoder: nn.Module | Mapping[str, Any] | list[Any],
    decoders: Mapping[str, nn.Module | Mapping[str, Any] | list[Any]],
    *,
    losses: Mapping[str, str] | None = None,
    loss_weights: Mapping[str, float | str] | None = None,
    loss_inits: Mapping[str, float] | None = None,
    encoder_name: str = "encoder",
) -> TaskGraphModel:
    """A :class:`TaskGraphModel` with ``encoder`` shared by one decoder per task.

    Args:
        encoder: an ``nn.Module`` or layer spec mapping the input to shared features.
        decoders: {task: module or layer spec} reading the encoder's features, e.g. ``binary_head(64)`` or
            ``{"type": "multiclass_head", "in_features": 64, "n_classes": 10}``.
        losses: {task: loss name}; defaults follow each head's kind.
        loss_weights: {task: non-negative number or "auto"} (default 1.0 each).
        loss_inits: {task: initial log-variance} for tasks weighted "auto".
        encoder_name: the encoder node's name (must differ from every task name).
    """
    nodes = hard_sharing_nodes(
        encoder, decoders, losses=losses, loss_weights=loss_weights, loss_inits=loss_inits, encoder_name=encoder_name
    )
    return TaskGraphModel(nodes)
