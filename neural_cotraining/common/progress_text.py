"""How a job's progress reads, wherever it is printed (a worker's progress line, ``status``, ``watch``):
``cotrain / small_vgg / cotrain / seed 3``, ``img_classification acc 0.981  neural r 0.702``, ``~40 s``."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["job_label", "main_metrics", "duration"]

_SHORT = {"accuracy": "acc", "correlation": "r"}
_SHOWN = ("accuracy", "correlation", "mse", "loss")  # per task, the first of these it reports


def job_label(labels: Mapping) -> str:
    """``dataset / model / trainer / seed n`` of a job's labels (and seed)."""
    return f"{labels['dataset']} / {labels['model']} / {labels['trainer']} / seed {labels['seed']}"


def main_metrics(values: Mapping[tuple[str, str], float | None]) -> str:
    """Each task's main metric among ``{(task, metric): value}`` (tasks in their order there):
    ``img_classification acc 0.981  neural r 0.702``."""
    shown = []
    for task in dict.fromkeys(task for task, _ in values):
        metric = next((m for m in _SHOWN if values.get((task, m)) is not None), None)
        if metric is not None:
            shown.append(f"{task} {_SHORT.get(metric, metric)} {values[task, metric]:.3g}")
    return "  ".join(shown)


def duration(seconds: float) -> str:
    """``40 s``, ``12 min``, ``2.5 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"
