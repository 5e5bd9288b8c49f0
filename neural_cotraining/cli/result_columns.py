"""Which columns ``results`` shows: a compact default, every column with ``--all``, or those ``--metrics`` names.

The compact default: the labels, seed, score and best epoch; every test metric of each task; and per task with
robustness sets, the mean accuracy over them (beside the clean test accuracy). The robustness sets themselves (34
sets x 5 metrics on the demo) stay in ``--all`` and in the CSV/JSON files.
"""

from __future__ import annotations

import re

__all__ = ["KEY_COLUMNS", "add_robustness_means", "compact_columns", "matching_columns", "describe_columns"]

KEY_COLUMNS = ["dataset", "model", "trainer", "seed", "score", "best_epoch"]
_ROBUSTNESS = re.compile(r"^robustness/(?P<task>[^/]+)/accuracy/")


def add_robustness_means(rows: list[dict]) -> list[dict]:
    """Each row with ``robustness/<task>/mean accuracy``: the mean over its robustness sets, per task."""
    completed = []
    for row in rows:
        sets: dict[str, list[float]] = {}
        for column, value in row.items():
            match = _ROBUSTNESS.match(column)
            if match and isinstance(value, (int, float)):
                sets.setdefault(match["task"], []).append(float(value))
        means = {f"robustness/{task}/mean accuracy": sum(values) / len(values) for task, values in sets.items()}
        completed.append({**row, **means})
    return completed


def compact_columns(columns: list[str]) -> list[str]:
    keys = [column for column in KEY_COLUMNS if column in columns]
    return keys + [column for column in columns if column.startswith("test/") or column.endswith("/mean accuracy")]


def matching_columns(columns: list[str], words: list[str]) -> list[str]:
    """The key columns and those containing any of ``words``; ValueError, naming what exists, when none does."""
    matched = [column for column in columns if column not in KEY_COLUMNS and any(word in column for word in words)]
    if not matched:
        raise ValueError(f"--metrics {' '.join(words)} matches no column; the metrics are: {describe_columns(columns)}")
    return [column for column in KEY_COLUMNS if column in columns] + matched


def describe_columns(columns: list[str]) -> str:
    """The metric columns, robustness sets folded into one ``.../accuracy/* (n sets)`` entry per task and metric."""
    folded: dict[str, int] = {}
    for column in columns:
        if column in KEY_COLUMNS:
            continue
        parts = column.split("/")
        name = "/".join(parts[:3]) + "/*" if parts[0] == "robustness" and len(parts) > 3 else column
        folded[name] = folded.get(name, 0) + 1
    return ", ".join(name if count == 1 else f"{name} ({count} sets)" for name, count in folded.items())
