"""Node specs of a task graph: parsing, validation and topological order.

A node spec is a dict ``{name, layers, anchor, loss, loss_weight, loss_init}``:

* ``name`` (required): a non-empty string, unique, not ``"input"`` (the name of the graph's input);
* ``layers`` (required): an ``nn.Module``, a registered layer spec ``{"type": ..., **kwargs}`` or a list of those
  (a sequential stack); see :mod:`.layers`;
* ``anchor`` (required): ``"input"``, a node name, or a non-empty list of those; the anchors' outputs are passed to
  the node's layers as positional arguments, in that order;
* ``loss`` (optional, default None): the name of the training loss (e.g. "cross_entropy", "mse",
  "bce_with_logits", "poisson"; the trainer resolves it) for an output node, None for an inner node;
* ``loss_weight`` (optional, loss nodes only, default 1.0): a finite non-negative number, or "auto" for learned
  likelihood weighting (Kendall, Gal & Cipolla 2018, "Multi-task learning using uncertainty to weigh losses");
* ``loss_init`` (optional, "auto" only): the initial log-variance ``s`` of that learned weighting (None: the
  trainer's default).

Everything that can be checked without building a layer is checked here, so a graph can be drawn or rejected
without instantiating weights.
"""

from __future__ import annotations

import heapq
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from ...common.value_checks import check_number
from .layers import check_layer_spec

__all__ = ["AUTO_WEIGHT", "INPUT", "NODE_KEYS", "REQUIRED_NODE_KEYS", "NodeSpec", "parse_nodes"]

INPUT = "input"
AUTO_WEIGHT = "auto"
REQUIRED_NODE_KEYS = ("name", "layers", "anchor")
NODE_KEYS = REQUIRED_NODE_KEYS + ("loss", "loss_weight", "loss_init")


@dataclass(frozen=True)
class NodeSpec:
    """One validated node; ``anchor`` is always a tuple of names ("input" or node names)."""

    name: str
    layers: Any
    anchor: tuple[str, ...]
    loss: str | None = None
    loss_weight: float | str | None = None
    loss_init: float | None = None

    @property
    def is_output(self) -> bool:
        """A node with a loss: a task the trainer trains."""
        return self.loss is not None


def _where(index: int, raw: Mapping[str, Any]) -> str:
    name = raw.get("name")
    return f"node {name!r}" if isinstance(name, str) and name else f"node #{index}"


def _finite_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def _parse_loss_weight(where: str, loss: str | None, weight: Any) -> float | str | None:
    if loss is None:
        if weight is not None:
            raise ValueError(f"{where} has loss_weight={weight!r} but no loss; only loss nodes are weighted")
        return None
    if weight is None:
        return 1.0
    if isinstance(weight, str) and weight == AUTO_WEIGHT:
        return AUTO_WEIGHT
    # a negative multiplier would turn minimisation of that loss into maximisation; NaN/inf poison the objective
    if not _finite_number(weight) or float(weight) < 0:
        raise ValueError(
            f"loss_weight of {where} must be a finite non-negative number or {AUTO_WEIGHT!r}, got {weight!r}"
        )
    return float(weight)


def _parse_loss_init(where: str, weight: float | str | None, init: Any) -> float | None:
    if init is None:
        return None
    if weight != AUTO_WEIGHT:
        raise ValueError(
            f"{where} sets loss_init={init!r}, which is the initial log-variance of loss_weight={AUTO_WEIGHT!r}; "
            f"its loss_weight is {weight!r}"
        )
    return check_number(f"loss_init of {where}", init)


def _parse_anchor(where: str, anchor: Any) -> tuple[str, ...]:
    anchors = (anchor,) if isinstance(anchor, str) else anchor
    if not isinstance(anchors, Sequence) or isinstance(anchors, (bytes, Mapping)) or not anchors:
        raise TypeError(
            f"anchor of {where} must be {INPUT!r}, a node name or a non-empty list of those, got {anchor!r}"
        )
    if not all(isinstance(a, str) and a for a in anchors):
        raise TypeError(f"anchor of {where} must contain non-empty strings, got {anchor!r}")
    return tuple(anchors)


def _parse_one(index: int, raw: Any) -> NodeSpec:
    if isinstance(raw, NodeSpec):
        raw = {key: getattr(raw, key) for key in NODE_KEYS}
    if not isinstance(raw, Mapping):
        raise TypeError(f"node #{index} must be a dict with keys {list(NODE_KEYS)}, got {type(raw).__name__}")
    where = _where(index, raw)
    unknown = sorted(str(k) for k in set(raw) - set(NODE_KEYS))
    if unknown:
        raise ValueError(f"{where} has unknown keys {unknown}; allowed keys: {list(NODE_KEYS)}")
    missing = [key for key in REQUIRED_NODE_KEYS if key not in raw]
    if missing:
        raise ValueError(f"{where} is missing required keys {missing}; required: {list(REQUIRED_NODE_KEYS)}")
    name = raw["name"]
    if not isinstance(name, str) or not name:
        raise TypeError(f"the name of node #{index} must be a non-empty string, got {name!r}")
    if name == INPUT:
        raise ValueError(f"node #{index} may not be called {INPUT!r}: that name refers to the graph's input")
    layers = raw["layers"]
    if not isinstance(layers, nn.Module):
        check_layer_spec(layers, where)
    loss = raw.get("loss")
    if loss is not None and (not isinstance(loss, str) or not loss):
        raise TypeError(f"loss of {where} must be a loss name (a non-empty string) or None, got {loss!r}")
    weight = _parse_loss_weight(where, loss, raw.get("loss_weight"))
    return NodeSpec(
        name=name,
        layers=layers,
        anchor=_parse_anchor(where, raw["anchor"]),
        loss=loss,
        loss_weight=weight,
        loss_init=_parse_loss_init(where, weight, raw.get("loss_init")),
    )


def _find_cycle(nodes: dict[str, NodeSpec]) -> list[str] | None:
    """One cycle as [a, b, ..., a] where each node feeds the next, or None (iterative DFS, no recursion limit)."""
    children: dict[str, list[str]] = {name: [] for name in nodes}
    for node in nodes.values():
        for parent in node.anchor:
            if parent != INPUT:
                children[parent].append(node.name)
    state = dict.fromkeys(nodes, 0)  # 0 unseen, 1 on the current path, 2 done
    for root in nodes:
        if state[root]:
            continue
        path, stack = [root], [iter(children[root])]
        state[root] = 1
        while stack:
            child = next(stack[-1], None)
            if child is None:
                state[path.pop()] = 2
                stack.pop()
            elif state[child] == 1:
                return path[path.index(child):] + [child]
            elif state[child] == 0:
                state[child] = 1
                path.append(child)
                stack.append(iter(children[child]))
    return None


def _topological_order(nodes: dict[str, NodeSpec]) -> list[str]:
    """Kahn's algorithm, always taking the ready node listed first, so specs already in order keep their order."""
    rank = {name: i for i, name in enumerate(nodes)}
    waiting = {name: {a for a in node.anchor if a != INPUT} for name, node in nodes.items()}
    children: dict[str, list[str]] = {name: [] for name in nodes}
    for name, parents in waiting.items():
        for parent in parents:
            children[parent].append(name)
    ready = [rank[name] for name, parents in waiting.items() if not parents]
    heapq.heapify(ready)
    names = list(nodes)
    order: list[str] = []
    while ready:
        name = names[heapq.heappop(ready)]
        order.append(name)
        for child in children[name]:
            waiting[child].discard(name)
            if not waiting[child]:
                heapq.heappush(ready, rank[child])
    if len(order) != len(nodes):  # unreachable after _find_cycle, kept as a guard
        raise ValueError(f"the task graph has a cycle among {sorted(set(nodes) - set(order))}")
    return order


def parse_nodes(specs: Any) -> list[NodeSpec]:
    """Validate node specs and return them as :class:`NodeSpec` in topological order (parents before children).

    Raises ValueError / TypeError naming the problem: a missing or unknown key, a duplicate name, an unknown anchor,
    an unknown layer type, a bad loss weight, or a cycle (listed as ``a -> b -> a``).
    """
    if isinstance(specs, (str, bytes, Mapping)) or not isinstance(specs, Sequence):
        raise TypeError(f"a task graph is a list of node specs, got {type(specs).__name__}")
    if not specs:
        raise ValueError("a task graph needs at least one node")
    parsed = [_parse_one(i, raw) for i, raw in enumerate(specs)]
    names = [node.name for node in parsed]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"duplicate node names in the task graph: {duplicates}")
    nodes = {node.name: node for node in parsed}
    for node in parsed:
        unknown = [a for a in node.anchor if a != INPUT and a not in nodes]
        if unknown:
            raise ValueError(
                f"node {node.name!r} anchors on unknown nodes {unknown}; known: {names} and {INPUT!r}"
            )
    cycle = _find_cycle(nodes)
    if cycle:
        raise ValueError(f"the task graph has a cycle: {' -> '.join(cycle)}")
    return [nodes[name] for name in _topological_order(nodes)]
