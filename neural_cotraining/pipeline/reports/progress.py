"""How far each live job is: epoch n of N, the best score so far and its epoch, time per epoch and time left.

Read from what the live tables already hold, nothing more is written while a job trains:

- N is the trainer entry's ``max_epochs`` (its builder's default where the config leaves it out; unknown for a
  trainer without one). Early stopping may end a job sooner, so the time left is an upper bound.
- The best score so far is the trainer's (``LiveJob.best_score``, the score metric at the trainer's best epoch); the
  epoch metric that holds that very value names the score metric, and that metric's best value over the epochs so
  far (by its direction, ``trainer.metrics.METRIC_MODES``) and its epoch are shown.
- Time per epoch: the time since the job (re)started over the epochs it trained since; a resumed job started after
  the newest checkpoint written before its start (``Checkpoint.checkpoint_ts``).
"""

from __future__ import annotations

import inspect
import math
from types import SimpleNamespace

from ...registry import resolve_builder
from ...trainer.metrics import METRIC_MODES

__all__ = ["live_progress", "best_in_rows"]


def _max_epochs(tables: SimpleNamespace, keys: list[dict]) -> dict:
    """{(trainer_fn, trainer_hash): max_epochs or None} of the trainers among ``keys``."""
    wanted = {(job["key"]["trainer_fn"], job["key"]["trainer_hash"]) for job in keys}
    restriction = [{"trainer_fn": fn, "trainer_hash": digest} for fn, digest in wanted]
    found = {}
    for row in (tables.Trainer() & restriction).to_dicts() if restriction else []:
        config = row["trainer_config"] if isinstance(row["trainer_config"], dict) else {}
        value = config.get("max_epochs", _default_max_epochs(row["trainer_fn"]))
        found[row["trainer_fn"], row["trainer_hash"]] = int(value) if isinstance(value, (int, float)) else None
    return found


def _default_max_epochs(name: str):
    try:
        parameter = inspect.signature(resolve_builder(name)).parameters.get("max_epochs")
    except (ValueError, TypeError, ImportError):
        return None
    return None if parameter is None or parameter.default is inspect.Parameter.empty else parameter.default


def best_in_rows(rows: list[dict], score: float | None) -> tuple[float | None, int | None, str | None]:
    """(best value so far, its epoch, ``task/metric``) of the validation metric that holds ``score`` in ``rows``
    (epoch metric rows); ``(score, None, None)`` where no validation metric holds it."""
    if score is None:
        return None, None, None
    holding = [row for row in rows if row["split"] == "validation" and row["value"] is not None
               and math.isclose(row["value"], score, rel_tol=1e-9, abs_tol=1e-12)]
    if not holding:
        return score, None, None
    task, metric = holding[0]["task"], holding[0]["metric"]
    series = sorted((int(row["epoch"]), row["value"]) for row in rows if row["split"] == "validation"
                    and row["task"] == task and row["metric"] == metric and row["value"] is not None)
    pick = max if METRIC_MODES.get(metric, "max") == "max" else min
    value = pick(value for _, value in series)
    epoch = next(epoch for epoch, candidate in series if candidate == value)  # the first epoch reaching it
    return float(value), epoch, f"{task}/{metric}"


def _resumed_epoch(checkpoints: list[dict], started) -> int:
    before = [int(row["epoch"]) for row in checkpoints if row["checkpoint_ts"] < started]
    return max(before, default=0)


def live_progress(tables: SimpleNamespace, jobs: list[tuple[dict, dict]], rows_per_job) -> dict:
    """{id(job): progress} for ``jobs`` (``[(job, its LiveJob row)]``); ``rows_per_job(table, keys)`` reads
    per-job rows in one query (``rows.rows_per_job``)."""
    if not jobs:
        return {}
    keys = [job for job, _ in jobs]
    max_epochs = _max_epochs(tables, keys)
    metrics = {id(job): rows for job, rows in rows_per_job(tables.LiveEpochMetric(), keys)}
    checkpoints = {id(job): rows for job, rows in rows_per_job(tables.Checkpoint().proj("checkpoint_ts"), keys)}
    progress = {}
    for job, live in jobs:
        total = max_epochs.get((job["key"]["trainer_fn"], job["key"]["trainer_hash"]))
        epoch = int(live["epoch"])
        score = None if live["best_score"] is None else float(live["best_score"])
        best, best_epoch, score_metric = best_in_rows(metrics.get(id(job), []), score)
        trained = epoch - _resumed_epoch(checkpoints.get(id(job), []), live["started_ts"])
        elapsed = (live["heartbeat_ts"] - live["started_ts"]).total_seconds()
        per_epoch = elapsed / trained if trained > 0 and elapsed > 0 else None
        left = None if per_epoch is None or total is None else per_epoch * max(0, total - epoch)
        latest = {f"{row['task']}/{row['metric']}": row["value"] for row in metrics.get(id(job), [])
                  if row["split"] == "validation" and int(row["epoch"]) == epoch}
        progress[id(job)] = {"max_epochs": total, "best_score": best, "best_epoch": best_epoch,
                             "score_metric": score_metric, "seconds_per_epoch": per_epoch, "seconds_left": left,
                             "validation": latest}
    return progress
