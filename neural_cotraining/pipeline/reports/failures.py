"""An experiment's failed jobs: which they are, why they failed, and clearing them so they are trained again.

A job fails when its make raises; DataJoint's jobs table then holds an ``error`` row (message and traceback) and
no worker takes the job again. :func:`retry_jobs` deletes those rows: the next ``populate`` or ``worker`` queues the
jobs afresh. A job that has been trained since (a stale error row) is done, not failed, and is left alone.
"""

from __future__ import annotations

from types import SimpleNamespace

from .status import job_states

__all__ = ["failed_jobs", "select_jobs", "retry_jobs"]


def failed_jobs(tables: SimpleNamespace, keys: list[dict]) -> list[dict]:
    """The failed jobs among ``keys``: ``{"job", "labels" (with the seed), "message", "traceback"}`` each."""
    return [
        {"job": job, "labels": {**job["labels"], "seed": job["key"]["seed"]},
         "message": row.get("error_message") or "", "traceback": row.get("error_stack") or ""}
        for job, state, row in job_states(tables, keys) if state == "error"
    ]


def _words(labels: dict) -> set[str]:
    return {str(value) for name, value in labels.items() if name != "seed"} | {f"seed={labels['seed']}"}


def select_jobs(failed: list[dict], words: list[str], known: list[dict]) -> list[dict]:
    """The failed jobs whose labels include every one of ``words`` (an entry's label, or ``seed=N``); a word that
    names nothing among the ``known`` jobs' labels is refused, naming those that exist."""
    existing = set().union(*(_words({**job["labels"], "seed": job["key"]["seed"]}) for job in known)) if known else set()
    unknown = [word for word in words if word not in existing]
    if unknown:
        raise ValueError(f"no job is labelled {', '.join(unknown)}; the labels are {', '.join(sorted(existing))}")
    return [failure for failure in failed if set(words) <= _words(failure["labels"])]


def retry_jobs(tables: SimpleNamespace, failures: list[dict]) -> int:
    """Delete the error rows of ``failures`` (as :func:`failed_jobs` gives them); how many were cleared."""
    if not failures:
        return 0
    errors = tables.TrainedModel().jobs.errors & [failure["job"]["key"] for failure in failures]
    cleared = len(errors)
    errors.delete()
    return cleared
