"""Rows of ``TrainedModel.UnitResult``: a trainer's per-neuron test figures, keyed by task, session and unit id.

The co-trainer reports them in ``output["per_neuron"]`` (``{task: {data_key: {"unit_ids": [...], "correlation":
[...], "oracle": [...], "fraction_oracle": [...], "area": [...], "layer": [...]}}}``, see ``trainer.per_neuron``).
A trainer that does not report them (an nnfabrik trainer) gets no rows. Anything malformed raises, so the job's
whole insert is refused rather than stored in part.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["unit_rows", "BrokenUnitResultsError"]

DATA_KEY_LENGTH = 64  # varchar length of UnitResult.data_key
LABEL_LENGTH = 32  # varchar length of area and layer


class BrokenUnitResultsError(ValueError):
    """The trainer's per-neuron results cannot be stored (lengths differ, ids repeat, wrong types)."""


def _number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None  # NULL, not NaN, for a neuron without a figure


def _session_rows(task: str, data_key: str, table: Mapping) -> list[dict]:
    where = f"per-neuron results of task {task!r} session {data_key!r}"
    if len(data_key) > DATA_KEY_LENGTH:
        raise BrokenUnitResultsError(f"{where}: the data_key is longer than {DATA_KEY_LENGTH} characters")
    unit_ids = [int(u) for u in table["unit_ids"]]
    if len(set(unit_ids)) != len(unit_ids):
        raise BrokenUnitResultsError(f"{where}: unit ids are not unique")
    columns = {name: list(table[name]) for name in ("correlation", "oracle", "fraction_oracle", "area", "layer")
               if name in table}
    wrong = {name: len(values) for name, values in columns.items() if len(values) != len(unit_ids)}
    if wrong:
        raise BrokenUnitResultsError(f"{where}: {len(unit_ids)} unit ids but {wrong} values")
    rows = []
    for index, unit_id in enumerate(unit_ids):
        row = {"task": task, "data_key": data_key, "unit_id": unit_id, "unit_index": index}
        for name in ("correlation", "oracle", "fraction_oracle"):
            if name in columns:
                row["test_correlation" if name == "correlation" else name] = _number(columns[name][index])
        for name in ("area", "layer"):
            if name in columns:
                row[name] = str(columns[name][index])[:LABEL_LENGTH]
        rows.append(row)
    return rows


def unit_rows(output: Any) -> list[dict]:
    """One row per neuron of every session of every neural task in ``output["per_neuron"]`` (none if absent)."""
    per_neuron = output.get("per_neuron") if isinstance(output, Mapping) else None
    if not per_neuron:
        return []
    try:
        return [
            row
            for task, sessions in per_neuron.items()
            for data_key, table in sessions.items()
            for row in _session_rows(str(task), "" if data_key is None else str(data_key), table)
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        if isinstance(error, BrokenUnitResultsError):
            raise
        raise BrokenUnitResultsError(f"the trainer's per-neuron results are malformed: {error!r}") from error
