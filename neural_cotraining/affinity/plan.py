"""Task-affinity study plans: which task groups to train and the dataset / model / trainer config of each.

A study names one dataset, model and trainer builder with base configs that cover the full task list, the tasks,
the seeds and optionally a group size k and a sample size. :func:`plan_study` turns it into one
:class:`GroupPlan` per group — every single task, every pair, and (with ``group_size``) all or a seeded sample of the
k-task groups — whose configs are the base configs restricted to the group's tasks (:func:`restrict_to_tasks`).
Nothing here touches the database (``neural_cotraining.affinity.runs`` inserts and trains the plan).

An affinity file is an experiment file (``configs.experiment``) with exactly one dataset, model and trainer entry
and an ``affinity:`` section::

    schema: tabular_affinity
    seeds: [1, 2, 3]
    datasets: {tabular: {fn: neural_cotraining.dataset.builders.tabular_loaders,
                         config: {source: breast_cancer, tasks: [malignant, worst_area, worst_concavity]}}}
    models: {...}
    trainers: {...}
    affinity:
      tasks: null             # default: the dataset config's task list (under task_key)
      task_key: tasks         # the dataset config key that takes the task subset
      group_size: null        # k >= 3: also train k-task groups
      n_groups: null          # how many k-task groups to sample (default: all of them)
      sample_seed: 0          # seeds the sample of k-task groups
      metrics: {malignant: auc, worst_area: {metric: rmse, split: test, direction: min}}
      split: test             # split of the metrics not given one
      monitor_group: true     # model selection on the group's metrics (validation split), when the trainer
                              # takes `monitor` and its config sets none
      heatmap_value: gain_mean   # or relative_gain_mean
      output: results/affinity
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..common.value_checks import check_int
from ..configs.experiment import Experiment, ExperimentFileError, experiment_from_dict, read_yaml_file

__all__ = [
    "AFFINITY_KEYS",
    "AffinityStudy",
    "GroupPlan",
    "METRIC_BY_HEAD_KIND",
    "METRIC_BY_LOSS",
    "load_affinity_file",
    "plan_study",
    "restrict_to_tasks",
    "study_from_dict",
    "task_groups",
]

#: the keys of an affinity file's ``affinity:`` section
AFFINITY_KEYS = ("tasks", "task_key", "group_size", "n_groups", "sample_seed", "metrics", "split", "monitor_group",
                 "heatmap_value", "output")
#: a task's default metric from its loss in the trainer config's ``loss_functions``
METRIC_BY_LOSS = {
    "bce_with_logits": "auc",
    "cross_entropy": "accuracy",
    "mse": "rmse",
    "smooth_l1": "rmse",
    "poisson": "correlation",
    "negative_binomial": "correlation",
}
#: a task's default metric from the kind of its head in the model config's ``heads`` (``hard_sharing_mlp``)
METRIC_BY_HEAD_KIND = {"binary": "auc", "multiclass": "accuracy", "regression": "rmse"}
_HEATMAP_VALUES = ("gain_mean", "relative_gain_mean")
_METRIC_PATH = re.compile(r"([^/]+)/([^/]+)/(.+)")  # "<split>/<task>/<metric>", as monitor keys are written


def task_groups(tasks: Sequence[str], group_size: int | None = None, n_groups: int | None = None,
                sample_seed: int = 0) -> list[tuple[str, ...]]:
    """Every single task, every pair, then the ``group_size``-task groups (all, or ``n_groups`` drawn without
    replacement with ``random.Random(sample_seed)``); each group's tasks in the order of ``tasks``."""
    tasks = list(tasks)
    if len(tasks) < 2 or len(set(tasks)) != len(tasks):
        raise ValueError(f"an affinity study needs at least two distinct tasks, got {tasks}")
    groups = [(task,) for task in tasks] + list(itertools.combinations(tasks, 2))
    if group_size is None:
        if n_groups is not None:
            raise ValueError("n_groups needs group_size (the number of tasks per sampled group)")
        return groups
    if isinstance(group_size, bool) or not isinstance(group_size, int) or not 3 <= group_size <= len(tasks):
        raise ValueError(f"group_size must be an integer from 3 to the number of tasks ({len(tasks)}), got "
                         f"{group_size!r}")
    larger = list(itertools.combinations(tasks, group_size))
    if n_groups is not None:
        n_groups = check_int("n_groups", n_groups, minimum=1)
        if n_groups < len(larger):
            chosen = sorted(random.Random(sample_seed).sample(range(len(larger)), n_groups))
            larger = [larger[index] for index in chosen]
    return groups + larger


def _task_path(value: Any, all_tasks: set) -> str | None:
    """The task of a "<split>/<task>/<metric>" string (a monitor key or score_metric), if it names one."""
    match = _METRIC_PATH.fullmatch(value) if isinstance(value, str) else None
    return match.group(2) if match and match.group(2) in all_tasks else None


def _restrict(value: Any, group: set, all_tasks: set) -> tuple[bool, Any]:
    """(keep, restricted value) of one config value."""
    if isinstance(value, Mapping):
        keys = list(value)
        if keys and all(isinstance(key, str) and key in all_tasks for key in keys):  # {task: setting}
            value = {key: item for key, item in value.items() if key in group}
        elif keys and all(_task_path(key, all_tasks) for key in keys):  # {"validation/<task>/<metric>": mode}
            value = {key: item for key, item in value.items() if _task_path(key, all_tasks) in group}
        restricted = {}
        for key, item in value.items():
            keep, item = _restrict(item, group, all_tasks)
            if keep:
                restricted[key] = item
        return bool(restricted) or not keys, restricted
    if isinstance(value, (list, tuple)) and value and all(isinstance(item, str) and item in all_tasks
                                                          for item in value):
        kept = [item for item in value if item in group]
        return bool(kept), kept
    if isinstance(value, str) and (value in all_tasks or _task_path(value, all_tasks)):
        return (_task_path(value, all_tasks) or value) in group, value
    return True, value


def restrict_to_tasks(config: Mapping, group: Sequence[str], all_tasks: Sequence[str],
                      task_key: str | None = None) -> dict:
    """A copy of ``config`` with its per-task settings limited to the tasks of ``group``.

    At any depth: a dict keyed by task names keeps the group's keys (``heads``, ``loss_functions``,
    ``loss_weighting_options.weights``, ...); a dict keyed by ``"<split>/<task>/<metric>"`` keeps the group's
    (``monitor``); a list of task names keeps the group's; a string naming another task, or a metric of another task,
    is dropped with its key (``main_task``, ``score_metric``), as is a dict or list left empty, so the builder's
    default applies. ``config[task_key]``, if given, is set to the group's tasks.
    """
    group_set, all_set = set(group), set(all_tasks)
    unknown = sorted(group_set - all_set)
    if unknown:
        raise ValueError(f"group tasks {unknown} are not among the study's tasks {list(all_tasks)}")
    _, restricted = _restrict(dict(config), group_set, all_set)
    if task_key is not None:
        restricted[task_key] = list(group)
    return restricted


@dataclass(frozen=True)
class GroupPlan:
    """The entries of one task group: its configs, already restricted to its tasks."""

    group: tuple[str, ...]
    dataset_config: dict
    model_config: dict
    trainer_config: dict

    @property
    def label(self) -> str:
        return "+".join(self.group)


@dataclass(frozen=True)
class AffinityStudy:
    """What to train: builders with base configs over the full task list, the tasks, seeds and group sampling.

    ``metrics`` maps tasks to a metric name or ``{"metric", "split", "direction"}`` (see
    ``neural_cotraining.affinity.scores.TaskMetric``); a task without one takes :data:`METRIC_BY_LOSS` of its loss in the
    trainer config's ``loss_functions`` (or in the model config's ``heads[task]["loss"]``), else
    :data:`METRIC_BY_HEAD_KIND` of ``heads[task]["kind"]``, else the first of ``affinity.PREFERRED_METRICS`` its
    results report.
    """

    dataset_fn: str
    model_fn: str
    trainer_fn: str
    seeds: Sequence[int]
    dataset_config: dict = field(default_factory=dict)
    model_config: dict = field(default_factory=dict)
    trainer_config: dict = field(default_factory=dict)
    tasks: Sequence[str] | None = None
    task_key: str = "tasks"
    group_size: int | None = None
    n_groups: int | None = None
    sample_seed: int = 0
    metrics: Mapping[str, Any] = field(default_factory=dict)
    split: str = "test"
    monitor_group: bool = True
    heatmap_value: str = "gain_mean"

    def __post_init__(self):
        if self.tasks is None:
            tasks = self.dataset_config.get(self.task_key)
            if tasks is None:
                raise ValueError(f"name the study's tasks: give 'tasks' or set {self.task_key!r} in the dataset config")
            object.__setattr__(self, "tasks", tasks)
        object.__setattr__(self, "tasks", [str(task) for task in self.tasks])
        seeds = list(self.seeds)
        if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
            raise ValueError(f"seeds must be a non-empty list of integers, got {self.seeds!r}")
        object.__setattr__(self, "seeds", seeds)
        unknown = sorted(set(self.metrics) - set(self.tasks))
        if unknown:
            raise ValueError(f"metrics names task(s) {unknown} that are not among the study's tasks {self.tasks}")
        if self.heatmap_value not in _HEATMAP_VALUES:
            raise ValueError(f"heatmap_value must be one of {list(_HEATMAP_VALUES)}, got {self.heatmap_value!r}")
        task_groups(self.tasks, self.group_size, self.n_groups, self.sample_seed)  # checks sizes

    def groups(self) -> list[tuple[str, ...]]:
        return task_groups(self.tasks, self.group_size, self.n_groups, self.sample_seed)

    def metric_specs(self) -> dict[str, Any]:
        """{task: metric spec} for the tasks whose metric is known before training (named, or from the loss)."""
        losses = self.trainer_config.get("loss_functions") or {}
        heads = self.model_config.get("heads") or {}
        specs = {}
        for task in self.tasks:
            head = heads.get(task) if isinstance(heads.get(task), Mapping) else {}
            loss = losses.get(task) or head.get("loss")
            if task in self.metrics:
                specs[task] = self.metrics[task]
            elif loss in METRIC_BY_LOSS:
                specs[task] = METRIC_BY_LOSS[loss]
            elif head.get("kind") in METRIC_BY_HEAD_KIND:
                specs[task] = METRIC_BY_HEAD_KIND[head["kind"]]
        return specs


def _group_monitor(study: AffinityStudy, group: Sequence[str], trainer_config: dict, accepts_monitor: bool) -> dict:
    """Monitor the group's own metrics (on validation data) when the trainer config sets no monitor."""
    if not (study.monitor_group and accepts_monitor) or trainer_config.get("monitor"):
        return trainer_config
    from .scores import TaskMetric  # no import cycle at module load: affinity needs nothing from configs

    specs = study.metric_specs()
    if not all(task in specs for task in group):
        return trainer_config  # a metric known only after training: leave model selection to the trainer
    monitor = {}
    for task in group:
        metric = TaskMetric.parse(specs[task], task, study.split)
        monitor[f"validation/{task}/{metric.metric}"] = metric.direction
    return {**trainer_config, "monitor": monitor}


def plan_study(study: AffinityStudy, accepts_monitor: bool = True) -> list[GroupPlan]:
    """One :class:`GroupPlan` per group of ``study.groups()``; ``accepts_monitor``: the trainer takes ``monitor``.

    Task-keyed settings are recognised by the study's tasks and those of the dataset config's task list, so a study
    of some of the dataset's tasks drops the others' settings too.
    """
    listed = study.dataset_config.get(study.task_key)
    known = list(dict.fromkeys([*study.tasks, *(listed if isinstance(listed, (list, tuple)) else [])]))
    plans = []
    for group in study.groups():
        trainer_config = restrict_to_tasks(study.trainer_config, group, known)
        plans.append(GroupPlan(
            group=tuple(group),
            dataset_config=restrict_to_tasks(study.dataset_config, group, known, task_key=study.task_key),
            model_config=restrict_to_tasks(study.model_config, group, known),
            trainer_config=_group_monitor(study, group, trainer_config, accepts_monitor),
        ))
    return plans


def study_from_dict(raw: Any, source: str = "affinity file") -> tuple[Experiment, AffinityStudy, str | None]:
    """(experiment, study, output folder or None) from a parsed affinity file; errors name ``source``."""
    if not isinstance(raw, dict) or not isinstance(raw.get("affinity"), dict):
        raise ExperimentFileError(f"{source}: an affinity file needs an 'affinity:' section (a mapping)")
    raw = dict(raw)
    section = raw.pop("affinity")
    if "combinations" in raw:
        raise ExperimentFileError(f"{source}: an affinity file has no 'combinations' (the study makes them)")
    experiment = experiment_from_dict(raw, source)
    for kind in ("datasets", "models", "trainers"):
        if len(getattr(experiment, kind)) != 1:
            raise ExperimentFileError(f"{source}: an affinity study takes exactly one entry under '{kind}'")
    unknown = sorted(set(section) - set(AFFINITY_KEYS))
    if unknown:
        raise ExperimentFileError(f"{source}: affinity has unknown keys {unknown}; allowed: {list(AFFINITY_KEYS)}")
    options = {key: value for key, value in section.items() if key != "output" and value is not None}
    (dataset,), (model,), (trainer,) = (list(getattr(experiment, k).values()) for k in ("datasets", "models",
                                                                                         "trainers"))
    try:
        study = AffinityStudy(
            dataset_fn=dataset.fn, dataset_config=dataset.config, model_fn=model.fn, model_config=model.config,
            trainer_fn=trainer.fn, trainer_config=trainer.config, seeds=experiment.seeds, **options,
        )
    except (TypeError, ValueError) as error:
        raise ExperimentFileError(f"{source}: affinity: {error}") from error
    return experiment, study, section.get("output")


def load_affinity_file(path: str | Path) -> tuple[Experiment, AffinityStudy, str | None]:
    """Read and check an affinity file (see the module docstring)."""
    return study_from_dict(read_yaml_file(path, "affinity file"), source=str(path))
