"""Plots: per-epoch results (one PNG per (dataset, model, trainer), a panel per task and metric); task-affinity
heatmaps."""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from pathlib import Path

__all__ = ["plot_affinity_heatmap", "plot_epoch_curves", "plot_robustness_curves"]

logger = logging.getLogger(__name__)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "plot"


def plot_epoch_curves(rows: list[dict], output_dir: str | Path) -> list[Path]:
    """Write the curves of ``rows`` (labelled EpochMetric rows) as PNGs; returns their paths.

    Each figure holds one experiment label combination; a panel per (task, metric), a line per split and seed.
    Loss weights reported by the trainer (metric names containing "weight" or "log_variance") get panels too.
    Rows with ``running: True`` (jobs still training, from the live tables) are drawn dashed, marked "(running)".
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    groups: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for row in rows:
        if row["value"] is None:
            continue
        figure_key = (row["dataset"], row["model"], row["trainer"])
        panel_key = (row["task"], row["metric"])
        line_key = (row["split"], row["seed"], bool(row.get("running")))
        groups[figure_key][panel_key][line_key].append((row["epoch"], row["value"]))
    paths = []
    for (dataset, model, trainer), panels in sorted(groups.items()):
        # a metric that is zero throughout (e.g. the regularizer of a task without one) gets no panel
        names = sorted(name for name, lines in panels.items()
                       if any(value != 0 for points in lines.values() for _, value in points))
        if not names:
            continue
        columns = min(3, len(names))
        lines = (len(names) + columns - 1) // columns
        figure, axes = plt.subplots(lines, columns, figsize=(4.2 * columns, 3.2 * lines), squeeze=False)
        for axis, (task, metric) in zip(axes.flat, names):
            for (split, seed, running), points in sorted(panels[(task, metric)].items()):
                points.sort()
                label = f"{split} s{seed}" + (" (running)" if running else "")
                axis.plot([p[0] for p in points], [p[1] for p in points], marker=".", label=label,
                          linestyle="--" if running else "-")
            axis.set_title(f"{task}: {metric}", fontsize=9)
            axis.set_xlabel("epoch")
            axis.legend(fontsize=7)
        for axis in list(axes.flat)[len(names):]:
            axis.set_visible(False)
        figure.suptitle(f"dataset {dataset} | model {model} | trainer {trainer}", fontsize=10)
        figure.tight_layout()
        path = output_dir / f"{_safe(dataset)}__{_safe(model)}__{_safe(trainer)}.png"
        figure.savefig(path, dpi=90)
        plt.close(figure)
        paths.append(path)
        logger.info("wrote %s", path)
    return paths


def _save(figure, path: str | Path, dpi: int = 100) -> Path:
    """Write ``figure`` to ``path`` (creating its folder) and close it."""
    import matplotlib.pyplot as plt

    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
    logger.info("wrote %s", path)
    return path


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
    """A heatmap of pairwise task affinity (rows of ``neural_cotraining.affinity_scores.pair_affinity``): cell (i, j) is
    task i's ``value`` when trained with task j, annotated with its mean and spread (± ``spread``); positive (green)
    means j helped i. The colour scale is symmetric around 0. Returns the PNG's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from .affinity_scores import affinity_matrix

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
    return _save(figure, path)


def plot_robustness_curves(per_seed: dict, path: str | Path, conditions: list[str] | None = None,
                           title: str | None = None) -> Path | None:
    """Accuracy against Gaussian noise level, one line per condition with its spread over seeds (mean ± sd,
    shaded): the main figure of Safarani et al. (NeurIPS 2021). ``per_seed`` is ``analysis.metrics_per_seed``'s
    ``{condition: {seed: metrics}}``; level 0 is the clean test accuracy. Conditions without image accuracy are
    left out; returns None when none has any."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from .analysis import noise_level_metrics

    metrics = ["test accuracy", *noise_level_metrics(per_seed)]
    levels = [0.0, *(float(metric.split(" ", 1)[1]) for metric in metrics[1:])]
    figure, axis = plt.subplots(figsize=(6.0, 4.2))
    drawn = 0
    for condition in conditions or sorted(per_seed):
        seeds = per_seed.get(condition, {})
        table = np.array([[values.get(metric, np.nan) for metric in metrics] for values in seeds.values()], dtype=float)
        if table.size == 0 or np.isnan(table).all():
            continue
        mean = np.nanmean(table, axis=0)
        spread = np.nanstd(table, axis=0, ddof=1) if len(table) > 1 else np.zeros_like(mean)
        line, = axis.plot(levels, mean, marker="o", label=f"{condition} (n={len(table)})")
        axis.fill_between(levels, mean - spread, mean + spread, color=line.get_color(), alpha=0.18, linewidth=0)
        drawn += 1
    if not drawn:
        plt.close(figure)
        return None
    axis.set_xlabel("Gaussian noise level (pixel standard deviation; 0 = clean)")
    axis.set_ylabel("test accuracy")
    axis.set_ylim(0, 1.02)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    axis.set_title(title or "robustness to Gaussian noise (mean ± sd over seeds)", fontsize=10)
    return _save(figure, path)
