"""The task-affinity heatmap: cell (i, j) is task i's gain when trained with task j."""

from __future__ import annotations

import math
from pathlib import Path

from ..common.figures import pyplot, save_figure
from .scores import affinity_matrix

__all__ = ["plot_affinity_heatmap"]


def _format_cell(mean: float, spread: float, digits: int) -> str:
    if not math.isfinite(mean):
        return "n/a"
    text = f"{mean:+.{digits}f}"
    return text + (f"\n\u00b1{spread:.{digits}f}" if math.isfinite(spread) else "")


def plot_affinity_heatmap(
    rows: list[dict],
    tasks: list[str],
    path: str | Path,
    value: str = "gain_mean",
    spread: str | None = "gain_std",
    title: str | None = None,
    digits: int = 3,
) -> Path:
    """A heatmap of pairwise task affinity (rows of ``neural_cotraining.affinity.scores.pair_affinity``): cell (i, j) is
    task i's ``value`` when trained with task j, annotated with its mean and spread (± ``spread``); positive (green)
    means j helped i. The colour scale is symmetric around 0. Returns the PNG's path."""
    plt = pyplot()
    import numpy as np

    if not tasks:
        raise ValueError("an affinity heatmap needs at least one task")
    means = np.array(affinity_matrix(rows, tasks, value), dtype=float)
    spreads = np.array(affinity_matrix(rows, tasks, spread), dtype=float) if spread else np.full_like(means, np.nan)
    finite = np.abs(means[np.isfinite(means)])
    limit = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    metric_of = {row["task"]: f"{row['split']} {row['metric']}" for row in rows}
    size = 1.6 + 1.3 * len(tasks)
    figure, axis = plt.subplots(figsize=(size + 1.5, size))
    image = axis.imshow(np.ma.masked_invalid(means), cmap="RdYlGn", vmin=-limit, vmax=limit)
    for i in range(len(tasks)):
        for j in range(len(tasks)):
            if i != j:
                dark = math.isfinite(means[i, j]) and abs(means[i, j]) > 0.6 * limit  # white text on deep colours
                axis.text(j, i, _format_cell(means[i, j], spreads[i, j], digits), ha="center", va="center",
                          fontsize=8, color="white" if dark else "black")
    axis.set_xticks(range(len(tasks)), labels=tasks, rotation=30, ha="right")
    axis.set_yticks(range(len(tasks)), labels=[f"{t}\n({metric_of[t]})" if t in metric_of else t for t in tasks])
    axis.set_xlabel("trained together with (partner)")
    axis.set_ylabel("task evaluated")
    figure.colorbar(image, ax=axis, label=f"{value} (positive = partner helps)")
    axis.set_title(title or f"task affinity: {value}", fontsize=10)
    return save_figure(figure, path)
