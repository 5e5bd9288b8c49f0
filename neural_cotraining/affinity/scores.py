"""Task-affinity summaries: how much does training task i together with other tasks help (or hurt) task i?

A task-affinity study trains every task alone, every pair of tasks together (and optionally a sample of larger
groups), each over several seeds, and compares each task's score in a group with its score alone (Standley et al.
2020, "Which tasks should be learned together in multi-task learning?", ICML; Fifty et al. 2021, "Efficiently
identifying task groupings for multi-task learning", NeurIPS). This module is the arithmetic; it needs no database
(``neural_cotraining.affinity.runs`` runs the experiments and feeds it).

Conventions:

* ``scores`` maps ``(group, seed)`` to ``{task: value}``, where ``group`` is a tuple of task names (a single task for
  the baselines) and ``value`` is each task's score on its chosen metric (:class:`TaskMetric`).
* gain of task i in a group G on seed s = ``value(G, s, i) - value((i,), s, i)`` when higher is better (AUC,
  accuracy, correlation, ...) and ``value((i,), s, i) - value(G, s, i)`` when lower is better (RMSE, MAE, loss, ...):
  **a positive gain always means that training with the partner(s) helped i**. The relative gain divides by
  ``|value((i,), s, i)|``. Gains are paired by seed (same seed, same data split) and then averaged: ``*_mean`` is the
  mean over the seeds with a finite gain, ``*_std`` their sample standard deviation (ddof=1; NaN with one seed).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "GROUP_FIELDS",
    "METRIC_DIRECTIONS",
    "PAIR_FIELDS",
    "PREFERRED_METRICS",
    "TaskMetric",
    "affinity_matrix",
    "gain",
    "group_affinity",
    "group_label",
    "infer_metric",
    "metric_direction",
    "pair_affinity",
    "write_rows_csv",
]

#: whether a higher ("max") or lower ("min") value of a metric is better: the co-trainer's metric names
#: (``trainer.metrics.METRIC_MODES``) and a few common others
METRIC_DIRECTIONS = {
    "accuracy": "max",
    "auc": "max",
    "precision": "max",
    "recall": "max",
    "f1": "max",
    "correlation": "max",
    "r2": "max",
    "loss": "min",
    "mae": "min",
    "mse": "min",
    "rmse": "min",
    "nll": "min",
}

#: the metric a task is judged by when none is named, by preference among those its results report
PREFERRED_METRICS = ("auc", "accuracy", "correlation", "rmse", "loss")

_DIRECTIONS = ("max", "min")
_SPLITS_HINT = "e.g. 'validation' or 'test'"


def metric_direction(metric: str) -> str:
    """"max" or "min" for a known metric name; ValueError naming the known ones otherwise."""
    if metric not in METRIC_DIRECTIONS:
        raise ValueError(
            f"no known direction for metric {metric!r}: give 'direction' ('max' or 'min') with it; known metrics: "
            f"{sorted(METRIC_DIRECTIONS)}"
        )
    return METRIC_DIRECTIONS[metric]


@dataclass(frozen=True)
class TaskMetric:
    """Which number judges a task: ``metric`` on ``split``, better when higher (``direction="max"``) or lower."""

    metric: str
    split: str = "test"
    direction: str | None = None  # None: from METRIC_DIRECTIONS

    def __post_init__(self):
        if not isinstance(self.metric, str) or not self.metric:
            raise TypeError(f"a task metric needs a metric name, got {self.metric!r}")
        if not isinstance(self.split, str) or not self.split:
            raise TypeError(f"the split of metric {self.metric!r} must be a split name ({_SPLITS_HINT}), got "
                            f"{self.split!r}")
        direction = metric_direction(self.metric) if self.direction is None else self.direction
        if direction not in _DIRECTIONS:
            raise ValueError(f"direction of metric {self.metric!r} must be 'max' or 'min', got {direction!r}")
        object.__setattr__(self, "direction", direction)

    @classmethod
    def parse(cls, spec, task: str, default_split: str = "test") -> "TaskMetric":
        """From a metric name (``"auc"``), a dict ``{"metric", "split", "direction"}`` or a TaskMetric."""
        if isinstance(spec, TaskMetric):
            return spec
        if isinstance(spec, str):
            return cls(spec, default_split)
        if isinstance(spec, Mapping):
            unknown = sorted(set(spec) - {"metric", "split", "direction"})
            if unknown or "metric" not in spec:
                raise ValueError(
                    f"metric of task {task!r} must be a name or {{'metric', 'split', 'direction'}} with 'metric'; "
                    f"got {dict(spec)!r}"
                )
            return cls(spec["metric"], spec.get("split", default_split), spec.get("direction"))
        raise TypeError(f"metric of task {task!r} must be a metric name or a dict, got {spec!r}")

    @property
    def label(self) -> str:
        return f"{self.split} {self.metric} ({'higher' if self.direction == 'max' else 'lower'} is better)"


def infer_metric(available: Iterable[str], task: str = "", split: str = "test") -> TaskMetric:
    """The first of :data:`PREFERRED_METRICS` among the metric names a task's results report."""
    available = list(available)
    for metric in PREFERRED_METRICS:
        if metric in available:
            return TaskMetric(metric, split)
    raise ValueError(
        f"cannot choose a metric for task {task!r} from {available}; name one (with its direction) in 'metrics'"
    )


def gain(value: float, baseline: float, direction: str) -> float:
    """``value`` over ``baseline``, positive when ``value`` is better (see the module docstring)."""
    if direction not in _DIRECTIONS:
        raise ValueError(f"direction must be 'max' or 'min', got {direction!r}")
    difference = float(value) - float(baseline)
    return difference if direction == "max" else -difference


def _relative(gain_value: float, baseline: float) -> float:
    return gain_value / abs(baseline) if baseline != 0 else math.nan


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan, math.nan
    mean = sum(finite) / len(finite)
    if len(finite) < 2:
        return mean, math.nan
    return mean, math.sqrt(sum((v - mean) ** 2 for v in finite) / (len(finite) - 1))


def group_label(group: Sequence[str]) -> str:
    """``"a+b+c"``: how a group of tasks is written in tables and files."""
    return "+".join(group)


def _normalise_scores(scores: Mapping) -> dict[tuple[tuple[str, ...], int], dict[str, float]]:
    normalised = {}
    for key, values in scores.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise TypeError(f"scores must be keyed by (group, seed), got key {key!r}")
        group, seed = key
        if isinstance(group, str) or not isinstance(group, Sequence) or not group:
            raise TypeError(f"the group of score key {key!r} must be a non-empty tuple of task names")
        missing = sorted(set(group) - set(values))
        if missing:
            raise ValueError(f"scores of group {group_label(group)} seed {seed} lack task(s) {missing}")
        normalised[(tuple(group), int(seed))] = {task: float(values[task]) for task in group}
    return normalised


def _member_gains(scores: dict, group: tuple[str, ...], task: str, direction: str) -> dict:
    """Per-seed baseline, value, gain and relative gain of ``task`` in ``group`` (seeds with both runs only)."""
    per_seed = {}
    for (other_group, seed), values in scores.items():
        if other_group != group:
            continue
        baseline = scores.get(((task,), seed))
        if baseline is None:
            continue
        value, base = values[task], baseline[task]
        delta = gain(value, base, direction)
        per_seed[seed] = (base, value, delta, _relative(delta, base))
    return per_seed


def _summary_row(per_seed: dict) -> dict:
    columns = list(zip(*per_seed.values())) if per_seed else [(), (), (), ()]
    single_mean, _ = _mean_std(columns[0])
    grouped_mean, _ = _mean_std(columns[1])
    gain_mean, gain_std = _mean_std(columns[2])
    relative_mean, relative_std = _mean_std(columns[3])
    return {
        "n_seeds": sum(1 for value in columns[2] if math.isfinite(value)),
        "single_mean": single_mean,
        "grouped_mean": grouped_mean,
        "gain_mean": gain_mean,
        "gain_std": gain_std,
        "relative_gain_mean": relative_mean,
        "relative_gain_std": relative_std,
    }


def _check_metrics(tasks: Sequence[str], metrics: Mapping[str, TaskMetric]) -> None:
    missing = [task for task in tasks if task not in metrics]
    if missing:
        raise ValueError(f"no metric for task(s) {missing}")


#: the columns of :func:`pair_affinity` rows, in CSV order
PAIR_FIELDS = ("task", "partner", "metric", "split", "direction", "n_seeds", "single_mean", "grouped_mean",
               "gain_mean", "gain_std", "relative_gain_mean", "relative_gain_std")
#: the columns of :func:`group_affinity` rows, in CSV order
GROUP_FIELDS = ("group", "task", "metric", "split", "direction", "n_seeds", "single_mean", "grouped_mean",
                "gain_mean", "gain_std", "relative_gain_mean", "relative_gain_std")


def pair_affinity(scores: Mapping, tasks: Sequence[str], metrics: Mapping[str, TaskMetric]) -> list[dict]:
    """One row per ordered pair (task i, partner j), i != j: i's gain from being trained with j.

    ``scores[(group, seed)] = {task: value}`` must hold the single-task runs ``(i,)`` and the pair runs (either
    order of the pair's tasks). A pair without runs on any common seed gets ``n_seeds`` 0 and NaN means.
    """
    tasks = list(tasks)
    _check_metrics(tasks, metrics)
    normalised = _normalise_scores(scores)
    pairs = {frozenset(group): group for group, _ in normalised if len(group) == 2}
    rows = []
    for task in tasks:
        for partner in tasks:
            if partner == task:
                continue
            group = pairs.get(frozenset((task, partner)))
            metric = metrics[task]
            per_seed = _member_gains(normalised, group, task, metric.direction) if group else {}
            rows.append({"task": task, "partner": partner, "metric": metric.metric, "split": metric.split,
                         "direction": metric.direction, **_summary_row(per_seed)})
    return rows


def group_affinity(scores: Mapping, metrics: Mapping[str, TaskMetric], min_size: int = 3) -> list[dict]:
    """One row per (group of at least ``min_size`` tasks, member task): the member's gain from its group."""
    normalised = _normalise_scores(scores)
    groups = list(dict.fromkeys(group for group, _ in normalised if len(group) >= min_size))
    rows = []
    for group in groups:
        _check_metrics(group, metrics)
        for task in group:
            metric = metrics[task]
            per_seed = _member_gains(normalised, group, task, metric.direction)
            rows.append({"group": group_label(group), "task": task, "metric": metric.metric, "split": metric.split,
                         "direction": metric.direction, **_summary_row(per_seed)})
    return rows


def affinity_matrix(rows: Sequence[Mapping], tasks: Sequence[str], value: str = "gain_mean") -> list[list[float]]:
    """``matrix[i][j]`` = ``value`` of task ``tasks[i]`` with partner ``tasks[j]`` (NaN on the diagonal and where
    :func:`pair_affinity` has no row)."""
    lookup = {(row["task"], row["partner"]): float(row[value]) for row in rows}
    return [[lookup.get((task, partner), math.nan) if task != partner else math.nan for partner in tasks]
            for task in tasks]


def write_rows_csv(rows: Sequence[Mapping], path: str | Path, fields: Sequence[str] | None = None) -> Path:
    """Write ``rows`` as CSV (columns ``fields``, default: every key in first-seen order); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fields is None:
        fields = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(fields), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path
