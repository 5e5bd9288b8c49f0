"""Draw a task graph as a PNG with matplotlib alone (no graphviz).

Layered layout in the manner of Sugiyama, Tagawa & Toda 1981 ("Methods for visual understanding of hierarchical
system structures"), simplified: a node's column is its depth (1 + the deepest of its anchors; the input is column
0) and each column is ordered by the mean row of the nodes' parents (one barycenter pass), which removes most edge
crossings of small graphs. Loss nodes are highlighted and labelled with their loss and weight. Uses the Agg canvas
directly, so drawing never touches pyplot's global state or needs a display.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .layers import describe_layer
from .spec import INPUT, NodeSpec, parse_nodes

logger = logging.getLogger(__name__)

__all__ = ["LOSS_NODE_COLOR", "draw_task_graph", "layered_layout"]

INPUT_COLOR = "#d9d9d9"
INNER_NODE_COLOR = "#cfe2f3"
LOSS_NODE_COLOR = "#f6b26b"
LOSS_EDGE_COLOR = "#b45f06"


def _as_nodes(graph: Any) -> list[NodeSpec]:
    """The parsed nodes of a TaskGraphModel (anything with ``nodes``; not imported here, as ``model`` imports this
    module to draw itself) or of a sequence of node specs."""
    nodes = getattr(graph, "nodes", None)
    return list(nodes) if nodes is not None and not isinstance(graph, Sequence) else parse_nodes(graph)


def layered_layout(graph: Any) -> dict[str, tuple[float, float]]:
    """``{"input" and each node: (column, row)}``: column = depth, rows centred on 0 within each column."""
    nodes = _as_nodes(graph)
    depth = {INPUT: 0}
    for node in nodes:  # topological order: anchors are placed first
        depth[node.name] = 1 + max(depth[a] for a in node.anchor)
    anchors = {node.name: node.anchor for node in nodes}
    columns: dict[int, list[str]] = {}
    for name, d in depth.items():
        columns.setdefault(d, []).append(name)
    position: dict[str, tuple[float, float]] = {}
    for column in sorted(columns):
        names = columns[column]
        if column > 0:
            names.sort(key=lambda n: sum(position[a][1] for a in anchors[n]) / len(anchors[n]), reverse=True)
        top = (len(names) - 1) / 2
        for row, name in enumerate(names):
            position[name] = (float(column), top - row)
    return position


def _label(node: NodeSpec) -> str:
    text = f"{node.name}\n{describe_layer(node.layers)}"
    if node.is_output:
        weight = node.loss_weight if node.loss_weight == "auto" else f"{node.loss_weight:g}"
        text += f"\nloss: {node.loss} (w={weight})"
    return text


def _target_path(path: str | Path) -> Path:
    target = Path(path)
    if target.suffix.lower() != ".png":
        raise ValueError(f"a task graph is drawn as a PNG; {target} does not end in .png")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot write {target}: the folder {target.parent} does not exist")
    return target


def draw_task_graph(
    graph: Any, path: str | Path, *, title: str | None = None, dpi: int = 120
) -> Path:
    """Draw ``graph`` (a :class:`TaskGraphModel` or its node specs) to the PNG file ``path``; returns the path.

    Nodes flow left to right from the input; loss nodes are orange with a bold edge. When a node has several
    anchors, its incoming edges arrive top to bottom in call order, numbered (the order matters for concat and
    select).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    target = _target_path(path)
    nodes = _as_nodes(graph)
    position = layered_layout(nodes)
    n_columns = 1 + max(int(x) for x, _ in position.values())
    n_rows = max(sum(1 for x, _ in position.values() if int(x) == c) for c in range(n_columns))

    figure = Figure(figsize=(max(4.0, 2.8 * n_columns), max(3.0, 1.4 * n_rows + 1.0)), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_xlim(-0.6, n_columns - 0.4)
    axes.set_ylim(-n_rows / 2 - 0.4, n_rows / 2 + 0.4)
    axes.axis("off")

    texts = {}
    boxes = [(INPUT, INPUT, INPUT_COLOR, "0.4", 1.0)] + [
        (node.name, _label(node), LOSS_NODE_COLOR if node.is_output else INNER_NODE_COLOR,
         LOSS_EDGE_COLOR if node.is_output else "0.4", 2.2 if node.is_output else 1.0)
        for node in nodes
    ]
    for name, label, face, edge, width in boxes:
        texts[name] = axes.text(*position[name], label, ha="center", va="center", fontsize=8, zorder=3,
                                bbox={"boxstyle": "round,pad=0.45", "fc": face, "ec": edge, "lw": width})

    for node in nodes:
        n_anchors = len(node.anchor)
        for order, parent in enumerate(node.anchor, start=1):
            # from the parent's right edge to the child's left edge, whatever the box sizes; several anchors arrive
            # at separate points, top to bottom in call order, each numbered (order matters for concat and select)
            arrival = (0.0, 1.0 - order / (n_anchors + 1)) if n_anchors > 1 else (0.0, 0.5)
            axes.annotate(
                "", xy=arrival, xycoords=texts[node.name], xytext=(1.0, 0.5), textcoords=texts[parent],
                arrowprops={"arrowstyle": "-|>", "color": "0.35", "shrinkA": 6, "shrinkB": 6, "lw": 1.2},
                zorder=2,
            )
            if n_anchors > 1:
                axes.annotate(
                    str(order), xy=arrival, xycoords=texts[node.name], xytext=(-14, 0), textcoords="offset points",
                    fontsize=6, color="0.25", ha="center", va="center", zorder=4,
                    bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": "0.6"},
                )

    figure.legend(
        handles=[Patch(fc=INNER_NODE_COLOR, ec="0.4", label="inner node"),
                 Patch(fc=LOSS_NODE_COLOR, ec=LOSS_EDGE_COLOR, lw=2.2, label="loss node (task)")],
        loc="lower center", ncol=2, fontsize=7, frameon=False,
    )
    if title:
        axes.set_title(title, fontsize=10)
    figure.tight_layout(rect=(0.0, 0.06, 1.0, 1.0))
    figure.savefig(target, format="png")
    logger.info("drew task graph with %d nodes to %s", len(nodes), target)
    return target
