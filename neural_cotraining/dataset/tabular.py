"""Tabular multi-task datasets from scikit-learn's bundled data (offline): several related tasks on the same inputs.

Every task of a source reads the same input columns; the columns that become regression targets are held out of
the inputs (with their near-copies), so no task can be solved by copying an input. The split depends only on the
seed and the fractions, never on ``tasks``, so an experiment on one task and one on a pair of tasks see the same
train / validation / test rows: that is what makes single-task and multi-task runs comparable (task-affinity
studies, ``neural_cotraining.affinity.runs``).

Sources and their tasks (:data:`TABULAR_TASKS`, in this order):

``"breast_cancer"``: Wisconsin diagnostic breast cancer (Street, Wolberg & Mangasarian 1993), 569 tumours.
    Inputs: the 20 ``"mean ..."`` and ``"... error"`` features of the cell nuclei. The 10 ``"worst ..."`` columns are
    held out: four are targets and the others nearly determine them (worst radius and perimeter fix worst area).

    =====================  ==========  =================================================
    task                   kind        target
    =====================  ==========  =================================================
    ``malignant``          binary      1 for a malignant tumour, 0 for a benign one
    ``worst_area``         regression  "worst area" (mean of the three largest nuclei)
    ``worst_concavity``    regression  "worst concavity"
    ``worst_texture``      regression  "worst texture"
    =====================  ==========  =================================================

``"diabetes"``: diabetes progression (Efron, Hastie, Johnstone & Tibshirani 2004), 442 patients.
    Inputs: age, sex and the six blood serum measurements s1..s6; ``bmi`` and ``bp`` are held out as targets.

    =====================  ==========  =================================================
    task                   kind        target
    =====================  ==========  =================================================
    ``progression``        regression  disease progression one year after baseline
    ``high_progression``   binary      1 if progression is above the training split's median
    ``bmi``                regression  body-mass index
    ``bp``                 regression  average blood pressure
    =====================  ==========  =================================================

Batches are ``TabularBatch(inputs (N, F) float32, targets (N,) float32)``; binary targets are 0.0 / 1.0. Each
dataset exposes ``task``, ``task_kind`` ("binary" or "regression"), ``feature_names``, ``target_name`` and, for
regression, the ``target_mean`` / ``target_std`` used to standardise the targets. Binary datasets deliberately have
no ``n_classes`` (that would make a model builder build a multi-class head): declare binary heads in the model config
(``hard_sharing_mlp(heads={task: {"kind": "binary"}})``) and name the losses in the trainer config; both follow from
:func:`tabular_task_kinds` without loading any data.
"""

from __future__ import annotations

import functools
import logging
from collections import namedtuple
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..common.seeds import derive_data_seed
from ..common.value_checks import check_fraction
from ..registry import register_builder
from ._config import batch_sizes, make_generator, strict_builder

logger = logging.getLogger(__name__)

__all__ = [
    "TABULAR_SOURCES",
    "TABULAR_TASKS",
    "TabularBatch",
    "TabularTaskDataset",
    "tabular_loaders",
    "tabular_task_kinds",
]

BINARY = "binary"
REGRESSION = "regression"

#: {source: {task: kind}}, tasks in their default order
TABULAR_TASKS = {
    "breast_cancer": {
        "malignant": BINARY,
        "worst_area": REGRESSION,
        "worst_concavity": REGRESSION,
        "worst_texture": REGRESSION,
    },
    "diabetes": {
        "progression": REGRESSION,
        "high_progression": BINARY,
        "bmi": REGRESSION,
        "bp": REGRESSION,
    },
}
TABULAR_SOURCES = tuple(TABULAR_TASKS)

# Batches are (inputs, targets); a namedtuple survives default_collate and is still a tuple.
TabularBatch = namedtuple("TabularBatch", ["inputs", "targets"])


class _Table:
    """One source's raw arrays: inputs (N, F), named target columns, and the labels the split is stratified on."""

    def __init__(self, inputs, feature_names, columns: dict, strata):
        self.inputs = np.asarray(inputs, dtype=np.float64)
        self.feature_names = [str(name) for name in feature_names]
        self.columns = {name: np.asarray(values, dtype=np.float64) for name, values in columns.items()}
        self.strata = np.zeros(len(self.inputs), dtype=np.int64) if strata is None else np.asarray(strata)


@functools.lru_cache(maxsize=None)
def _breast_cancer() -> _Table:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    names = [str(name) for name in data.feature_names]
    kept = [i for i, name in enumerate(names) if not name.startswith("worst ")]
    malignant = (data.target == list(data.target_names).index("malignant")).astype(np.float64)
    columns = {
        "malignant": malignant,
        "worst_area": data.data[:, names.index("worst area")],
        "worst_concavity": data.data[:, names.index("worst concavity")],
        "worst_texture": data.data[:, names.index("worst texture")],
    }
    return _Table(data.data[:, kept], [names[i] for i in kept], columns, strata=malignant.astype(np.int64))


@functools.lru_cache(maxsize=None)
def _diabetes() -> _Table:
    from sklearn.datasets import load_diabetes

    data = load_diabetes(scaled=False)
    names = [str(name) for name in data.feature_names]
    targets = ("bmi", "bp")
    kept = [i for i, name in enumerate(names) if name not in targets]
    columns = {"progression": data.target, **{name: data.data[:, names.index(name)] for name in targets}}
    return _Table(data.data[:, kept], [names[i] for i in kept], columns, strata=None)


_LOADERS = {"breast_cancer": _breast_cancer, "diabetes": _diabetes}


def tabular_task_kinds(source: str = "breast_cancer", tasks: Sequence[str] | None = None) -> dict[str, str]:
    """``{task: "binary" | "regression"}`` of ``source``'s tasks (all, or the ``tasks`` named, in that order).

    Raises ValueError naming the available sources or tasks when a name is unknown.
    """
    if source not in TABULAR_TASKS:
        raise ValueError(f"unknown tabular source {source!r}; choose one of {list(TABULAR_SOURCES)}")
    available = TABULAR_TASKS[source]
    if tasks is None:
        return dict(available)
    if isinstance(tasks, str) or not isinstance(tasks, Sequence):
        raise TypeError(f"tasks must be a list of task names (or None for all), got {tasks!r}")
    if not tasks:
        raise ValueError(f"tasks is empty; choose some of {list(available)}")
    unknown = [task for task in tasks if task not in available]
    if unknown:
        raise ValueError(f"source {source!r} has no task(s) {unknown}; available tasks: {list(available)}")
    if len(set(tasks)) != len(tasks):
        raise ValueError(f"tasks lists a task more than once: {list(tasks)}")
    return {task: available[task] for task in tasks}


class TabularTaskDataset(Dataset):
    """In-memory inputs (N, F) float32 and one task's targets (N,) float32; see the module docstring."""

    def __init__(self, inputs, targets, task: str, task_kind: str, feature_names, target_mean=0.0, target_std=1.0,
                 name: str = ""):
        if len(inputs) != len(targets):
            raise ValueError(f"{name or task}: {len(inputs)} input rows but {len(targets)} targets")
        self.inputs = torch.as_tensor(inputs, dtype=torch.float32).contiguous()
        self.targets = torch.as_tensor(targets, dtype=torch.float32).contiguous()
        self.task = task
        self.task_kind = task_kind
        self.target_name = task
        self.feature_names = list(feature_names)
        self.target_mean = float(target_mean)
        self.target_std = float(target_std)
        self.name = name

    @property
    def n_features(self) -> int:
        return int(self.inputs.shape[1])

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index):
        return TabularBatch(self.inputs[index], self.targets[index])

    def __repr__(self) -> str:
        return f"TabularTaskDataset({self.name!r}, task={self.task!r}, kind={self.task_kind!r}, n={len(self)})"


def _split(strata: np.ndarray, seed: int, validation_fraction: float, test_fraction: float, source: str) -> dict:
    """Row indices per split, drawn per stratum with one seeded permutation; each split's indices sorted."""
    rng = np.random.default_rng(derive_data_seed(seed, "tabular_split", source))
    parts = {"train": [], "validation": [], "test": []}
    for stratum in np.unique(strata):
        members = rng.permutation(np.flatnonzero(strata == stratum))
        n_test = int(round(len(members) * test_fraction))
        n_validation = int(round(len(members) * validation_fraction))
        parts["test"].append(members[:n_test])
        parts["validation"].append(members[n_test:n_test + n_validation])
        parts["train"].append(members[n_test + n_validation:])
    split = {name: np.sort(np.concatenate(chunks)).astype(np.int64) for name, chunks in parts.items()}
    for name, indices in split.items():
        if len(indices) < 2:
            raise ValueError(
                f"tabular source {source!r}: the {name!r} split would hold {len(indices)} rows "
                f"(validation_fraction={validation_fraction}, test_fraction={test_fraction}); use larger fractions"
            )
    return split


def _standardiser(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    return mean, np.where(std > 0, std, 1.0)  # a constant column stays constant rather than dividing by zero


def _targets(table: _Table, task: str, kind: str, train: np.ndarray, standardize_targets: bool):
    """(targets of all rows, mean, std) of one task; statistics and thresholds from the training rows only."""
    values = table.columns["progression" if task == "high_progression" else task]
    if task == "high_progression":
        return (values > np.median(values[train])).astype(np.float64), 0.0, 1.0
    if kind == BINARY or not standardize_targets:
        return values, 0.0, 1.0
    mean, std = _standardiser(values[train])
    return (values - mean) / std, float(mean), float(std)


@register_builder("dataset")
@strict_builder
def tabular_loaders(
    seed,
    source="breast_cancer",
    tasks=None,
    batch_size=64,
    eval_batch_size=None,
    validation_fraction=0.2,
    test_fraction=0.2,
    standardize=True,
    standardize_targets=True,
    num_workers=0,
):
    """Loaders of several tasks on the same tabular inputs, split by ``seed``; see the module docstring.

    Args:
        source: ``"breast_cancer"`` or ``"diabetes"`` (scikit-learn's bundled copies; no download).
        tasks: the task names to load, in this order (default: all of the source's, see :data:`TABULAR_TASKS`);
            an unknown name raises ValueError listing the available ones.
        batch_size, eval_batch_size: training batch size; evaluation batch size (default: ``batch_size``).
        validation_fraction, test_fraction: fractions of the rows, drawn with a permutation seeded by ``seed``
            (stratified on the diagnosis for breast_cancer); independent of ``tasks``.
        standardize: z-score each input column with the training rows' mean and std.
        standardize_targets: z-score each regression target with its training rows' mean and std (so errors are
            in units of the target's spread and tasks have comparable scales); binary targets stay 0 / 1.
        num_workers: DataLoader workers.

    Returns::

        {"train": {task: DataLoader}, "validation": {task: DataLoader}, "test": {task: DataLoader}}

    Each task's training loader shuffles with its own ``torch.Generator`` (derived from seed, source and task).
    """
    kinds = tabular_task_kinds(source, tasks)
    batch_size, eval_batch_size = batch_sizes(batch_size, eval_batch_size)
    validation_fraction = check_fraction("validation_fraction", validation_fraction)
    test_fraction = check_fraction("test_fraction", test_fraction)
    if validation_fraction + test_fraction >= 1:
        raise ValueError(
            f"validation_fraction + test_fraction must be below 1, got {validation_fraction + test_fraction}"
        )
    num_workers = int(num_workers)

    table = _LOADERS[source]()
    split = _split(table.strata, seed, validation_fraction, test_fraction, source)
    inputs = table.inputs
    if standardize:
        mean, std = _standardiser(inputs[split["train"]])
        inputs = (inputs - mean) / std

    loaders: dict = {"train": {}, "validation": {}, "test": {}}
    for task, kind in kinds.items():
        targets, target_mean, target_std = _targets(table, task, kind, split["train"], bool(standardize_targets))
        for name, indices in split.items():
            dataset = TabularTaskDataset(inputs[indices], targets[indices], task, kind, table.feature_names,
                                         target_mean, target_std, name=f"{source}: {task} {name}")
            shuffle = name == "train"
            loaders[name][task] = DataLoader(
                dataset,
                batch_size=batch_size if shuffle else eval_batch_size,
                shuffle=shuffle,
                generator=make_generator(seed, source, task, name) if shuffle else None,
                num_workers=num_workers,
            )
    logger.debug(
        "%s: tasks %s, %d features, %d train / %d validation / %d test rows", source, kinds, inputs.shape[1],
        len(split["train"]), len(split["validation"]), len(split["test"]),
    )
    return loaders
