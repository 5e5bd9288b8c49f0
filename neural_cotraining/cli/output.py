"""What the commands print: tables on stdout, one job's labels."""

from __future__ import annotations

import sys

from ..common.progress_text import duration, job_label, main_metrics

__all__ = ["labels_of", "print_table", "progress_line", "epoch_of", "best_of", "metrics_of"]

labels_of = job_label  # ``dataset / model / trainer / seed n`` of a labelled job


def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def print_table(rows: list[dict], columns: list[str], stream=None) -> None:
    stream = stream or sys.stdout
    widths = {c: max(len(c), *(len(_format_value(r.get(c))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns), file=stream)
    for row in rows:
        print("  ".join(_format_value(row.get(c)).ljust(widths[c]) for c in columns), file=stream)


def epoch_of(job: dict) -> str:
    """``12/30`` (``12`` where the trainer's epoch count is unknown)."""
    return f"{job['epoch']}/{job['max_epochs']}" if job.get("max_epochs") else str(job["epoch"])


def best_of(job: dict) -> str:
    """``0.981 (epoch 11)``: the best score so far and its epoch."""
    if job.get("best_score") is None:
        return "n/a"
    return f"{job['best_score']:.4g}" + (f" (epoch {job['best_epoch']})" if job.get("best_epoch") else "")


def metrics_of(job: dict) -> str:
    """``img_classification acc 0.981  neural r 0.702``: each task's main validation metric, latest epoch."""
    latest = job.get("validation") or {}
    return main_metrics({tuple(name.split("/", 1)): value for name, value in latest.items() if "/" in name})


def progress_line(job: dict) -> str:
    """One live job on one line: labels, epoch n/N, latest metrics, best so far, time per epoch and time left."""
    parts = [labels_of(job), f"epoch {epoch_of(job)}", metrics_of(job), f"best {best_of(job)}"]
    if job.get("seconds_per_epoch") is not None:
        parts.append(f"{job['seconds_per_epoch']:.1f} s/epoch")
    if job.get("seconds_left") is not None:
        parts.append(f"~{duration(job['seconds_left'])} left")
    return "  ".join(part for part in parts if part)
