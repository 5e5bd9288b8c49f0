"""A job's progress as log lines, labelled as its experiment file labels it instead of by its key: one per epoch,
``cotrain / small_vgg / cotrain / seed 3  epoch 12/30  img_classification acc 0.981  neural r 0.702  best 0.981
~40 s left``, and one when the job ends (``... epoch 30/30 ...  done in 24 s``).

The co-trainer's own per-epoch line (every metric of every split) is DEBUG detail (``-v``); these are the lines a
user reads at the default level. Each record carries ``progress = {"job": id, "final": bool}``, so that a terminal
display (the command line's) can keep one line per running job and rewrite it in place.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from ...common.progress_text import duration, main_metrics
from .stopping import TrainingStopped

__all__ = ["EpochLog", "epoch_summary", "job_id", "labels_by_job"]

logger = logging.getLogger("neural_cotraining.progress")


def job_id(key: dict) -> str:
    """A job's identity in progress records and label look-ups: its key's values in the attributes' order."""
    return "/".join(str(key[name]) for name in sorted(key))


def labels_by_job(jobs: list[dict]) -> dict[str, str]:
    """``{job_id(key): "dataset / model / trainer"}`` of labelled jobs (``{"labels": ..., "key": ...}``, as
    ``experiments.experiment_keys`` gives them): what ``TrainedModel.job_labels`` holds."""
    return {job_id(job["key"]): " / ".join(job["labels"][kind] for kind in ("dataset", "model", "trainer"))
            for job in jobs}


def epoch_summary(rows: list[dict]) -> str:
    """Each task's main validation metric among one epoch's metric rows."""
    return main_metrics({(row["task"], row["metric"]): row["value"] for row in rows if row["split"] == "validation"})


class EpochLog:
    """An ``on_epoch(epoch, rows, score)`` hook that logs the job's progress line, then calls ``then`` (if any);
    ``start()`` when training starts (after the data is loaded), ``finished(error)`` when it ends."""

    def __init__(self, label: str, max_epochs: int | None, job: str, then: Callable | None = None):
        self._label = label
        self._max_epochs = max_epochs
        self._job = job
        self._then = then
        self._started = time.monotonic()
        self._first_epoch = 0  # the epoch training starts after (a resumed job's checkpoint)
        self._state = ""  # "epoch 12/30  <metrics>  best 0.981" of the newest epoch

    def start(self, resumed_epoch: int | None = None) -> None:
        self._started = time.monotonic()
        self._first_epoch = int(resumed_epoch or 0)

    def __call__(self, epoch: int, rows: list[dict], score: float | None) -> None:
        if self._then is not None:
            self._then(epoch, rows, score)
        of = f"/{self._max_epochs}" if self._max_epochs else ""
        best = "" if score is None else f"  best {score:.4g}"
        self._state = f"epoch {epoch}{of}  {epoch_summary(rows)}{best}"
        trained = epoch - self._first_epoch
        left = ""
        if self._max_epochs and trained > 0 and epoch < self._max_epochs:
            seconds = (time.monotonic() - self._started) / trained * (self._max_epochs - epoch)
            left = f"  ~{duration(seconds)} left"
        self._log(f"{self._state}{left}", final=False)

    def finished(self, error: BaseException | None = None) -> None:
        """The job's last line: how its training ended (done, stopped, failed) and after how long."""
        took = duration(time.monotonic() - self._started)
        if error is None:
            outcome = f"done in {took}"
        elif isinstance(error, TrainingStopped):
            outcome = f"stopped after {took}"
        else:
            outcome = f"failed after {took}: {type(error).__name__}"
        self._log(f"{self._state}  {outcome}" if self._state else outcome, final=True)

    def _log(self, text: str, final: bool) -> None:
        logger.info("%s  %s", self._label, text, extra={"progress": {"job": self._job, "final": final}})
