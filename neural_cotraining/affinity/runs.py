"""Task-affinity studies in the database: every single-task and pairwise experiment (and sampled k-task groups) as
Dataset / Model / Trainer entries, trained by ``TrainedModel.populate`` and summarised as each pair's gain over the
single-task baselines (Standley et al. 2020; Fifty et al. 2021), written as CSV and a heatmap.

The plan (groups, configs restricted per group) comes from ``configs.affinity_study``; the arithmetic from
``neural_cotraining.affinity.scores``. Each group gets its own entries, so a group's jobs are exactly
``(its dataset, its model, its trainer) x seeds``; :func:`populate_study` restricts ``populate`` to the study's jobs,
because the cross product of all entries in the tables would pair one group's data with another group's heads.
"""

from __future__ import annotations

import inspect
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from .scores import (
    GROUP_FIELDS,
    PAIR_FIELDS,
    TaskMetric,
    group_affinity,
    group_label,
    infer_metric,
    pair_affinity,
    write_rows_csv,
)
from ..registry import check_entry, resolve_builder
from .plan import AffinityStudy, GroupPlan, plan_study

__all__ = [
    "AffinityJob",
    "AffinityResult",
    "add_study",
    "collect_scores",
    "populate_study",
    "run_affinity_study",
    "summarise_study",
    "write_study_results",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AffinityJob:
    """One trained model of the study: its task group, seed and TrainedModel key."""

    group: tuple[str, ...]
    seed: int
    key: dict


@dataclass
class AffinityResult:
    """What a study produced: its jobs, the per-job scores, the summaries and the files written."""

    jobs: list[AffinityJob]
    metrics: dict[str, TaskMetric]
    score_rows: list[dict]
    pairs: list[dict]
    groups: list[dict]
    missing: list[AffinityJob] = field(default_factory=list)  # jobs without a trained model (failed or running)
    files: dict[str, Path] = field(default_factory=dict)


def _accepts(function, name: str) -> bool:
    parameters = inspect.signature(function).parameters
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _check_plans(study: AffinityStudy, plans: list[GroupPlan]) -> None:
    """Refuse the study before inserting anything if any group's config would be refused."""
    for plan in plans:
        for kind in ("dataset", "model", "trainer"):
            try:
                check_entry(getattr(study, f"{kind}_fn"), getattr(plan, f"{kind}_config"), kind, f"{kind} config")
            except (ValueError, TypeError) as error:
                raise type(error)(f"affinity group {plan.label}: {error}") from error


def add_study(tables: SimpleNamespace, study: AffinityStudy) -> list[AffinityJob]:
    """Insert one Dataset / Model / Trainer entry per group (existing ones are found by hash) and the seeds; returns
    the study's jobs, groups in ``study.groups()`` order, seeds in ``study.seeds`` order. Every group's configs are
    checked first, so a bad study inserts nothing."""
    plans = plan_study(study, accepts_monitor=_accepts(resolve_builder(study.trainer_fn), "monitor"))
    _check_plans(study, plans)
    jobs = []
    for plan in plans:
        comment = f"affinity: {plan.label}"
        key = {
            **tables.Dataset().add_entry(study.dataset_fn, plan.dataset_config, comment=comment),
            **tables.Model().add_entry(study.model_fn, plan.model_config, comment=comment),
            **tables.Trainer().add_entry(study.trainer_fn, plan.trainer_config, comment=comment),
        }
        jobs.extend(AffinityJob(plan.group, int(seed), {**key, "seed": int(seed)}) for seed in study.seeds)
    tables.Seed().insert([{"seed": int(seed)} for seed in study.seeds], skip_duplicates=True)
    logger.info("affinity study: %d groups x %d seeds = %d jobs", len(plans), len(study.seeds), len(jobs))
    return jobs


def populate_study(tables: SimpleNamespace, jobs: list[AffinityJob], reserve_jobs: bool = False,
                   suppress_errors: bool = False) -> dict:
    """Train the study's missing jobs (only those: see the module docstring); DataJoint's populate result."""
    return tables.TrainedModel().populate(
        [job.key for job in jobs], reserve_jobs=reserve_jobs, suppress_errors=suppress_errors
    )


def _final_metrics(output, job: AffinityJob) -> dict:
    final = output.get("final") if isinstance(output, dict) else None
    if not isinstance(final, dict):
        raise ValueError(
            f"the trained model of group {group_label(job.group)} seed {job.seed} has no output['final'] metrics "
            "({split: {task: {metric: value}}}, as the co-trainer returns); an affinity study needs them"
        )
    return final


def _resolve_metrics(study: AffinityStudy, finals: dict) -> dict[str, TaskMetric]:
    """Every task's metric: named or implied by its loss, else the preferred one its single-task results report."""
    specs = study.metric_specs()
    metrics = {}
    for task in study.tasks:
        if task in specs:
            metrics[task] = TaskMetric.parse(specs[task], task, study.split)
            continue
        singles = [final for (group, _), final in finals.items() if group == (task,)]
        reported = singles[0].get(study.split, {}).get(task, {}) if singles else {}
        metrics[task] = infer_metric(reported, task, study.split)
    return metrics


def collect_scores(tables: SimpleNamespace, study: AffinityStudy, jobs: list[AffinityJob]):
    """(metrics, scores, rows) of the trained jobs: ``scores[(group, seed)] = {task: value}`` as
    ``neural_cotraining.affinity.scores`` takes them, ``rows`` the same as flat records. Untrained jobs are left out."""
    trained = tables.TrainedModel()
    finals = {}
    for job in jobs:
        found = (trained & job.key).to_dicts()
        if found:
            finals[(job.group, job.seed)] = _final_metrics(found[0]["output"], job)
    metrics = _resolve_metrics(study, finals)
    scores, rows = {}, []
    for (group, seed), final in finals.items():
        values = {}
        for task in group:
            metric = metrics[task]
            reported = final.get(metric.split, {}).get(task, {})
            if metric.metric not in reported:
                raise ValueError(
                    f"group {group_label(group)} seed {seed}: task {task!r} reports {sorted(reported)} on split "
                    f"{metric.split!r}, not {metric.metric!r}"
                )
            value = reported[metric.metric]
            values[task] = math.nan if value is None else float(value)
            rows.append({"group": group_label(group), "group_size": len(group), "seed": seed, "task": task,
                         "metric": metric.metric, "split": metric.split, "value": values[task]})
        scores[(group, seed)] = values
    return metrics, scores, rows


def summarise_study(tables: SimpleNamespace, study: AffinityStudy, jobs: list[AffinityJob]) -> AffinityResult:
    """Pairwise (and k-group) gains over the single-task baselines, per task metric, over seeds."""
    metrics, scores, rows = collect_scores(tables, study, jobs)
    missing = [job for job in jobs if (job.group, job.seed) not in scores]
    if missing:
        logger.warning("affinity study: %d of %d jobs are not trained; they are left out of the summary",
                       len(missing), len(jobs))
    return AffinityResult(
        jobs=jobs,
        metrics=metrics,
        score_rows=rows,
        pairs=pair_affinity(scores, study.tasks, metrics),
        groups=group_affinity(scores, metrics),
        missing=missing,
    )


def write_study_results(result: AffinityResult, study: AffinityStudy, output_dir: str | Path) -> dict[str, Path]:
    """Write ``scores.csv`` (one value per job and task), ``pair_affinity.csv``, ``group_affinity.csv`` (with
    k-task groups) and ``affinity_heatmap.png`` under ``output_dir``; returns {name: path}."""
    from .heatmap import plot_affinity_heatmap

    output_dir = Path(output_dir)
    files = {
        "scores": write_rows_csv(result.score_rows, output_dir / "scores.csv"),
        "pairs": write_rows_csv(result.pairs, output_dir / "pair_affinity.csv", PAIR_FIELDS),
    }
    if result.groups:
        files["groups"] = write_rows_csv(result.groups, output_dir / "group_affinity.csv", GROUP_FIELDS)
    spread = study.heatmap_value.replace("_mean", "_std")
    files["heatmap"] = plot_affinity_heatmap(result.pairs, study.tasks, output_dir / "affinity_heatmap.png",
                                             value=study.heatmap_value, spread=spread,
                                             title=f"task affinity over seeds {study.seeds}: {study.heatmap_value}")
    result.files.update(files)
    return files


def run_affinity_study(tables: SimpleNamespace, study: AffinityStudy, output_dir: str | Path | None = None,
                       reserve_jobs: bool = False) -> AffinityResult:
    """Add, train, summarise and (with ``output_dir``) write a study; failed jobs are logged and left out."""
    jobs = add_study(tables, study)
    populated = populate_study(tables, jobs, reserve_jobs=reserve_jobs, suppress_errors=True)
    for key, message in populated.get("error_list", []):
        logger.error("affinity job %s failed: %s", key, message)
    result = summarise_study(tables, study, jobs)
    if output_dir is not None:
        write_study_results(result, study, output_dir)
    return result
