"""One log line per epoch of a job, labelled by its entries' comments instead of its key:
``cotrain / small_vgg / cotrain / seed 3  epoch 12/30  img_classification acc 0.981  neural r 0.702  best 0.981``.

The co-trainer's own per-epoch line (every metric of every split) is DEBUG detail (``-v``); this is the line a
user reads at the default level.
"""

from __future__ import annotations

import logging
from typing import Callable

__all__ = ["EpochLog", "epoch_summary"]

logger = logging.getLogger("neural_cotraining.progress")

_SHORT = {"accuracy": "acc", "correlation": "r"}
_SHOWN = ("accuracy", "correlation", "mse", "loss")  # per task, the first of these it reports


def epoch_summary(rows: list[dict]) -> str:
    """Each task's main validation metric among one epoch's metric rows."""
    validation = {(row["task"], row["metric"]): row["value"] for row in rows if row["split"] == "validation"}
    shown = []
    for task in dict.fromkeys(task for task, _ in validation):
        metric = next((m for m in _SHOWN if validation.get((task, m)) is not None), None)
        if metric is not None:
            shown.append(f"{task} {_SHORT.get(metric, metric)} {validation[task, metric]:.3g}")
    return "  ".join(shown)


class EpochLog:
    """An ``on_epoch(epoch, rows, score)`` hook that logs the job's progress line, then calls ``then`` (if any)."""

    def __init__(self, labels: str, max_epochs: int | None, then: Callable | None = None):
        self._labels = labels
        self._max_epochs = max_epochs
        self._then = then

    def __call__(self, epoch: int, rows: list[dict], score: float | None) -> None:
        if self._then is not None:
            self._then(epoch, rows, score)
        of = f"/{self._max_epochs}" if self._max_epochs else ""
        best = "" if score is None else f"  best {score:.4g}"
        logger.info("%s  epoch %d%s  %s%s", self._labels, epoch, of, epoch_summary(rows), best)
