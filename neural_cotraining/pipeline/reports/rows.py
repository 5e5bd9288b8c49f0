"""Reading rows of a table for many jobs at once, in the jobs' order (one query, not one per job)."""

from __future__ import annotations

from ...common.plain import from_numpy

__all__ = ["rows_per_job"]


def rows_per_job(table, keys: list[dict], order_by: str | None = None) -> list[tuple[dict, list[dict]]]:
    """``[(job, its rows of table)]`` in the order of ``keys``, read with one query."""
    if not keys:
        return []
    names = sorted(keys[0]["key"])
    grouped: dict = {}
    for row in (table & [job["key"] for job in keys]).to_dicts(order_by=order_by):
        grouped.setdefault(tuple(from_numpy(row[name]) for name in names), []).append(row)
    return [(job, grouped.get(tuple(job["key"][name] for name in names), [])) for job in keys]
