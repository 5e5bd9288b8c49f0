"""The compiled task graph: an ``nn.Module`` that runs each needed node once, in topological order.

Declaring a multi-task network as a graph of nodes (shared trunks, branches, per-task heads) covers hard parameter
sharing (Caruana 1997, "Multitask learning"), tree-shaped branching networks (e.g. Vandenhende et al. 2020,
"Branched multi-task networks: deciding what layers to share") and fusion of several branches (concat) in one
form. Losses are metadata here; the trainer resolves them by name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..naming import module_names
from .layers import build_layer
from .spec import INPUT, NodeSpec, parse_nodes

logger = logging.getLogger(__name__)

__all__ = ["TaskGraphModel"]


class TaskGraphModel(nn.Module):
    """A multi-task network compiled from node specs (see :mod:`neural_cotraining.models.graph.spec`).

    Args:
        nodes: node specs ``{name, layers, anchor, loss, loss_weight, loss_init}`` (dicts or ``NodeSpec``).
        default_task: the node ``forward`` returns when ``task`` is None (default: the only loss node, or the only
            sink when no node has a loss).

    ``forward(x, task=None, data_key=None)`` returns node ``task``'s output, computing only its ancestors; this is
    the co-trainer's contract (``data_key`` is accepted and ignored: graph nodes have no per-session parts).
    ``forward_all(x, outputs=None)`` returns ``{name: output}`` for several nodes (default: every loss node),
    computing each shared node once. ``task_losses``, ``loss_weights`` and ``loss_inits`` give the trainer each
    loss node's loss name, weight (number or "auto") and initial log-variance.
    """

    def __init__(self, nodes: Sequence[Mapping[str, Any] | NodeSpec], default_task: str | None = None) -> None:
        super().__init__()
        self._nodes = tuple(parse_nodes(nodes))
        self._order = tuple(node.name for node in self._nodes)
        self._module_of = module_names(self._order, "node names")
        self.layers = nn.ModuleDict()
        for node in self._nodes:
            # written into _modules directly: ModuleDict.add_module refuses names of nn.Module attributes ("double",
            # "train", "keys", ...), which are fine node names; items are only ever looked up by key, never as
            # attributes, and state_dict / to() / parameters() all walk _modules
            self.layers._modules[self._module_of[node.name]] = build_layer(node.layers, f"node {node.name!r}")
        self._anchors = {node.name: node.anchor for node in self._nodes}
        self._ancestors = self._compute_ancestors()
        self._sinks = tuple(n for n in self._order if not any(n in self._anchors[c] for c in self._order))
        self._plans: dict[tuple[str, ...], tuple[str, ...]] = {}
        self.default_task = self._pick_default(default_task)
        logger.debug("compiled task graph %s (tasks %s)", list(self._order), self.tasks)

    # ---- structure -------------------------------------------------------------------------------------------
    def _compute_ancestors(self) -> dict[str, frozenset[str]]:
        ancestors: dict[str, frozenset[str]] = {}
        for name in self._order:  # parents come first, so their sets are ready
            found: set[str] = set()
            for parent in self._anchors[name]:
                if parent != INPUT:
                    found |= ancestors[parent] | {parent}
            ancestors[name] = frozenset(found)
        return ancestors

    def _pick_default(self, default_task: str | None) -> str | None:
        if default_task is not None:
            self._check_names([default_task], "default_task")
            return default_task
        if len(self.tasks) == 1:
            return self.tasks[0]
        return self._sinks[0] if not self.tasks and len(self._sinks) == 1 else None

    @property
    def nodes(self) -> list[NodeSpec]:
        """The validated node specs in topological order (parents before children)."""
        return list(self._nodes)

    @property
    def node_names(self) -> list[str]:
        return list(self._order)

    @property
    def tasks(self) -> list[str]:
        """The loss nodes (the tasks a trainer trains), in topological order."""
        return [node.name for node in self._nodes if node.is_output]

    @property
    def task_losses(self) -> dict[str, str]:
        """loss node -> loss name (e.g. "cross_entropy")."""
        return {node.name: node.loss for node in self._nodes if node.is_output}

    @property
    def loss_weights(self) -> dict[str, float | str]:
        """loss node -> non-negative weight, or "auto" for learned likelihood weighting."""
        return {node.name: node.loss_weight for node in self._nodes if node.is_output}

    @property
    def loss_inits(self) -> dict[str, float | None]:
        """loss node -> initial log-variance of its "auto" weight (None: the trainer's default)."""
        return {node.name: node.loss_init for node in self._nodes if node.is_output}

    def anchors(self, name: str) -> tuple[str, ...]:
        """The inputs of node ``name`` ("input" or parent node names), in call order."""
        self._check_names([name], "node")
        return self._anchors[name]

    def ancestors(self, name: str) -> frozenset[str]:
        """Every node that ``name``'s output depends on (not including itself or "input")."""
        self._check_names([name], "node")
        return self._ancestors[name]

    def layer(self, name: str) -> nn.Module:
        """The module of node ``name``."""
        self._check_names([name], "node")
        return self.layers[self._module_of[name]]

    def shared_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of nodes that two or more tasks depend on (what gradient-based weightings balance).

        With fewer than two tasks there is nothing to balance and every parameter is returned.
        """
        if len(self.tasks) < 2:
            yield from self.parameters()
            return
        users = {name: sum(name in self._ancestors[t] or name == t for t in self.tasks) for name in self._order}
        seen: set[int] = set()
        for name in self._order:
            if users[name] >= 2:
                for parameter in self.layer(name).parameters():
                    if id(parameter) not in seen:
                        seen.add(id(parameter))
                        yield parameter

    def _check_names(self, names: Sequence[str], what: str) -> None:
        unknown = [n for n in names if n not in self._anchors]
        if unknown:
            raise ValueError(f"unknown {what} {unknown}; this graph's nodes: {list(self._order)}")

    # ---- running ---------------------------------------------------------------------------------------------
    def _plan(self, outputs: tuple[str, ...]) -> tuple[str, ...]:
        """The nodes to run, in order, for ``outputs`` (cached: the graph never changes after construction)."""
        plan = self._plans.get(outputs)
        if plan is None:
            self._check_names(outputs, "outputs")
            needed = set(outputs).union(*(self._ancestors[o] for o in outputs))
            plan = self._plans[outputs] = tuple(n for n in self._order if n in needed)
        return plan

    def forward_all(self, x: torch.Tensor, outputs: str | Sequence[str] | None = None) -> dict[str, Any]:
        """``{name: output}`` for ``outputs`` (a name, names, or None: every loss node, or every sink if there are no
        loss nodes); each needed node runs once."""
        if outputs is None:
            outputs = self.tasks or self._sinks
        wanted = (outputs,) if isinstance(outputs, str) else tuple(outputs)
        if not wanted:
            raise ValueError("outputs must name at least one node")
        values: dict[str, Any] = {INPUT: x}
        for name in self._plan(wanted):
            inputs = [values[parent] for parent in self._anchors[name]]
            try:
                values[name] = self.layers[self._module_of[name]](*inputs)
            except Exception as error:
                if hasattr(error, "add_note"):  # Python >= 3.11: say where it failed, keep the exception type
                    error.add_note(f"(in task-graph node {name!r}, anchored on {list(self._anchors[name])})")
                raise
        return {name: values[name] for name in wanted}

    def forward(self, x: torch.Tensor, task: str | None = None, data_key: str | None = None) -> Any:
        if task is None:
            if self.default_task is None:
                raise ValueError(f"task is required for a graph with several outputs; tasks: {self.tasks}")
            task = self.default_task
        return self.forward_all(x, (task,))[task]

    def draw(self, path: str | Path, **options: Any) -> Path:
        """Draw this graph as a PNG (see :func:`~neural_cotraining.models.graph.draw.draw_task_graph`)."""
        from .draw import draw_task_graph  # matplotlib is imported only when a graph is drawn

        return draw_task_graph(self, path, **options)

    def extra_repr(self) -> str:
        edges = ", ".join(f"{name} <- {'+'.join(self._anchors[name])}" for name in self._order)
        return f"graph=[{edges}], tasks={self.task_losses}"
