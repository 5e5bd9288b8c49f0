"""Per-epoch curves for ``neural-cotraining plot``: one PNG per (dataset, model, trainer), a panel per task and
metric, a line per split and seed."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from pathlib import Path

from ..common.figures import pyplot

__all__ = ["plot_epoch_curves"]

logger = logging.getLogger(__name__)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "plot"


def plot_epoch_curves(rows: list[dict], output_dir: str | Path) -> list[Path]:
    """Write the curves of ``rows`` (labelled EpochMetric rows) as PNGs; returns their paths.

    Each figure holds one experiment label combination; a panel per (task, metric), a line per split and seed.
    Loss weights reported by the trainer (metric names containing "weight" or "log_variance") get panels too.
    Rows with ``running: True`` (jobs still training, from the live tables) are drawn dashed, marked "(running)".
    """
    plt = pyplot()

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
