"""The ``cb`` the pipeline hands to a trainer: heartbeat, per-epoch metrics, (later) checkpoints.

``cb()`` with no arguments works, as nnfabrik trainers call it. Trainers that know the richer protocol call
``cb(epoch=e, metrics={split: {task: {metric: value}}})`` after each epoch and may pass ``state=...`` at a
checkpoint interval; ``cb.resume_state()`` hands back a state to resume from (None: start fresh).
``on_epoch(epoch, rows, score)`` sees each epoch's rows as they come (live progress); the pipeline calls
:meth:`TrainingCallback.start` when training starts and :meth:`TrainingCallback.finish` when it ends. Given a
:class:`~.stopping.StopRequest`, a requested stop saves a checkpoint at the end of the epoch in progress (the
callback asks the trainer for its state through ``wants_state``) and raises :class:`~.stopping.TrainingStopped`.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Callable

from .stopping import StopRequest, TrainingStopped

__all__ = ["TrainingCallback", "metric_rows"]

logger = logging.getLogger(__name__)


def metric_rows(epoch: int, metrics: dict) -> list[dict]:
    """Flatten ``{split: {task: {metric: value}}}`` into EpochMetric rows (non-finite values become null)."""
    rows = []
    for split, tasks in metrics.items():
        for task, values in tasks.items():
            for metric, value in values.items():
                number = float(value)
                rows.append(
                    {
                        "epoch": int(epoch),
                        "split": str(split),
                        "task": str(task),
                        "metric": str(metric),
                        "value": number if math.isfinite(number) else None,
                    }
                )
    return rows


class TrainingCallback:
    """Collects per-epoch metrics of one training run; ``on_heartbeat`` runs at every call (e.g. to keep a
    job's reservation fresh), ``on_checkpoint(epoch, state)`` when the trainer passes its state, ``on_call`` at
    every call with the keyword arguments the trainer passed (nnfabrik's ``call_back`` hook)."""

    def __init__(
        self,
        on_heartbeat: Callable[[], None] | None = None,
        on_checkpoint: Callable[[int, dict], None] | None = None,
        resume_from: dict | None = None,
        on_epoch: Callable[[int, list[dict], float | None], None] | None = None,
        stop: StopRequest | None = None,
        on_call: Callable[..., None] | None = None,
        checkpoint_seconds: float | None = None,
        on_start: Callable[[int | None], None] | None = None,
        on_finish: Callable[[BaseException | None], None] | None = None,
    ):
        self.epoch_rows: list[dict] = []
        self._on_start = on_start
        self._on_finish = on_finish
        self._on_heartbeat = on_heartbeat
        self._on_checkpoint = on_checkpoint
        self._on_epoch = on_epoch
        self._stop = stop
        self._reports_epochs = False  # a plain nnfabrik trainer only ever calls cb()
        self._resume_from = resume_from
        self._on_call = on_call
        # time-based checkpoints: the state is asked for at the end of the first epoch this long after the last one
        self._checkpoint_seconds = checkpoint_seconds
        self._last_checkpoint = time.monotonic()
        self._epoch_ended: float | None = None  # when the last epoch was reported (or training started)
        # a resumed run reports only the epochs after its checkpoint; the earlier ones are in the state's history
        for entry in (resume_from or {}).get("history", []) if isinstance(resume_from, dict) else []:
            if isinstance(entry, dict) and "epoch" in entry and "metrics" in entry:
                self.epoch_rows.extend(metric_rows(entry["epoch"], entry["metrics"]))

    def __call__(
        self, epoch: int | None = None, metrics: dict | None = None, state: Any = None, score: Any = None, **other: Any
    ) -> None:
        stop = self._stop
        if stop is not None and stop.requested and (stop.immediately or not self._reports_epochs):
            raise TrainingStopped("stopped on request; the job resumes from its newest checkpoint")
        if self._on_heartbeat is not None:
            self._on_heartbeat()
        if self._on_call is not None:
            given = {"epoch": epoch, "metrics": metrics, "state": state, "score": score}
            self._on_call(**{name: value for name, value in given.items() if value is not None}, **other)
        if epoch is not None:
            self._reports_epochs = True
            self._epoch_ended = time.monotonic()
        if epoch is not None and metrics:
            rows = metric_rows(epoch, metrics)
            # a resumed run reports epochs again that an earlier attempt reported: keep the latest
            self.epoch_rows = [r for r in self.epoch_rows if r["epoch"] != int(epoch)] + rows
            if self._on_epoch is not None:
                self._on_epoch(int(epoch), rows, None if score is None else float(score))
        # nnfabrik's checkpoint template passes state={"action": ..., "optimizer": ...}: for call_back, not ours
        ours = not (isinstance(state, dict) and "action" in state)
        if epoch is not None and state is not None and ours and self._on_checkpoint is not None:
            self._on_checkpoint(int(epoch), state)
            self._last_checkpoint = time.monotonic()
        if stop is not None and stop.requested and epoch is not None:
            saved = "a checkpoint saved" if state is not None and self._on_checkpoint is not None else "no checkpoint"
            raise TrainingStopped(f"stopped on request after epoch {int(epoch)} ({saved})")

    @property
    def resumed_epoch(self) -> int | None:
        """The last epoch of the state training resumes from (None: from scratch)."""
        return max((row["epoch"] for row in self.epoch_rows), default=None)

    def start(self) -> None:
        """Training starts (its data and model are built): ``on_start(resumed_epoch)``."""
        self._epoch_ended = time.monotonic()
        if self._on_start is not None:
            self._on_start(self.resumed_epoch)

    def finish(self, error: BaseException | None = None) -> None:
        """Training ended, with ``error`` or (None) a result: ``on_finish(error)``."""
        if self._on_finish is not None:
            self._on_finish(error)

    def wants_state(self) -> bool:
        """True when a stop is pending, or when by the end of the next epoch (as long as this one) ``checkpoint_seconds``
        will have passed since the last checkpoint: the trainer then hands over its state at the end of this
        epoch."""
        if self._on_checkpoint is None:
            return False
        if self._stop is not None and self._stop.requested:
            return True
        seconds = self._checkpoint_seconds
        if seconds is None:
            return False
        now = time.monotonic()
        # the next chance is the next epoch's end, about one epoch away (this one's length): take the state now if
        # waiting for it would put more than ``seconds`` of training at risk, so a kill loses at most ``seconds``
        this_epoch = now - self._epoch_ended if self._epoch_ended is not None else 0.0
        return now - self._last_checkpoint + this_epoch >= seconds

    def resume_state(self) -> dict | None:
        return self._resume_from
