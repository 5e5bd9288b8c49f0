"""The demo's robustness plot: accuracy against noise level, one line per condition (mean and spread over seeds)."""

from __future__ import annotations

from pathlib import Path

from ..common.figures import pyplot, save_figure

__all__ = ["plot_robustness_curves"]


def plot_robustness_curves(per_seed: dict, path: str | Path, conditions: list[str] | None = None,
                           title: str | None = None) -> Path | None:
    """Accuracy against Gaussian noise level, one line per condition with its spread over seeds (mean ± sd,
    shaded): the main figure of Safarani et al. (NeurIPS 2021). ``per_seed`` is ``analysis.metrics_per_seed``'s
    ``{condition: {seed: metrics}}``; level 0 is the clean test accuracy. Conditions without image accuracy are
    left out; returns None when none has any."""
    plt = pyplot()
    import numpy as np

    from .comparison import noise_level_metrics

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
    return save_figure(figure, path)
