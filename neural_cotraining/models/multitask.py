"""The multi-task network: one shared core, one head per task, each head reading its own core layer.

After Safarani et al. 2021 ("Towards robust vision by multi-task learning on monkey visual cortex", NeurIPS): image
classification reads the core's final features, the per-session neural readouts read an intermediate layer, and
both tasks train the shared layers below that layer. Built by composition (a core plus a dict of heads), so any set
of tasks fits: classification, regression and neural-response tasks, each under its own name.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import torch
from torch import nn

from .cores import LayerRef, VGGCore
from .heads import ClassificationHead
from .naming import module_names
from .readouts import SessionReadouts

logger = logging.getLogger(__name__)


def head_type(head: nn.Module) -> str:
    """ "neural" for per-session readouts, "classification" for class logits, else "regression"."""
    if isinstance(head, SessionReadouts):
        return "neural"
    if isinstance(head, ClassificationHead):
        return "classification"
    return "regression"


class MultiTaskModel(nn.Module):
    """``model(x, task=..., data_key=None)`` -> that task's output from the shared core.

    Args:
        core: the shared feature extractor, called as ``core(x, layer=...)``.
        heads: task name -> head, called as ``head(features, data_key=data_key)``; a head may have
            ``regularizer(data_key)``.
        core_layers: task name -> core layer its head reads (missing or None: the core's last layer).

    Outputs: class logits (N, n_classes) for classification, (N, n_outputs) or (N,) for regression, positive rates
    (N, n_neurons) for a neural task's ``data_key``. With a single task, ``task`` may be omitted, so the model also
    works as a plain single-task ``model(x)``. A one-channel input to a core with more input channels is repeated
    into them (the original MTL-VGG feeds grey images to its 3-channel VGG this way).
    """

    def __init__(
        self, core: VGGCore, heads: Mapping[str, nn.Module], core_layers: Mapping[str, LayerRef] | None = None
    ) -> None:
        super().__init__()
        if not heads:
            raise ValueError("a MultiTaskModel needs at least one task head")
        core_layers = dict(core_layers or {})
        unknown = sorted(set(core_layers) - set(heads))
        if unknown:
            raise ValueError(f"core_layers names tasks without a head: {unknown}; tasks: {sorted(heads)}")
        self.core = core
        self._names = module_names(heads, "task names")
        self.heads = nn.ModuleDict({self._names[str(task)]: head for task, head in heads.items()})
        # task -> canonical core layer name; checked here so a bad layer fails at build time, not mid-training
        self.core_layers = {str(task): core.resolve_layer(core_layers.get(task)) for task in heads}
        self._layer_of = {self._names[task]: layer for task, layer in self.core_layers.items()}

    @property
    def tasks(self) -> list[str]:
        return list(self._names)

    @property
    def task_types(self) -> dict[str, str]:
        """task name -> "classification" | "regression" | "neural"."""
        return {task: head_type(self.heads[name]) for task, name in self._names.items()}

    def head(self, task: str | None = None) -> nn.Module:
        """The head of ``task`` (the only task when None and there is just one)."""
        return self.heads[self._name(task)]

    def _name(self, task: str | None) -> str:
        if task is None:
            if len(self._names) == 1:
                return next(iter(self._names.values()))
            raise ValueError(f"task is required for a model with several tasks: {self.tasks}")
        if task not in self._names:
            raise ValueError(f"unknown task {task!r}; this model's tasks: {self.tasks}")
        return self._names[task]

    def _run_core(self, x: torch.Tensor, name: str) -> torch.Tensor:
        channels = self.core.input_channels
        if x.ndim == 4 and x.shape[1] == 1 and channels > 1:
            x = x.expand(-1, channels, -1, -1)
        return self.core(x, layer=self._layer_of[name])

    def forward(self, x: torch.Tensor, task: str | None = None, data_key: str | None = None) -> torch.Tensor:
        name = self._name(task)
        return self.heads[name](self._run_core(x, name), data_key=data_key)

    def regularizer(self, task: str | None = None, data_key: str | None = None) -> torch.Tensor:
        """The head's penalty for ``task`` / ``data_key`` (e.g. readout feature L1); a zero scalar if it has none."""
        head = self.head(task)
        if hasattr(head, "regularizer"):
            return head.regularizer(data_key)
        return torch.zeros((), device=next(self.parameters()).device)
