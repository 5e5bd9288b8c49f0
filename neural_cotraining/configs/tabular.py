"""Ready-made config pieces for the tabular multi-task data (``dataset.tabular_loaders``): one head, loss and
monitored metric per task, following each task's kind ("binary" or "regression"), so a model and trainer config
covers exactly the tasks of a dataset config.

    tasks = ["malignant", "worst_area"]
    dataset = {"source": "breast_cancer", "tasks": tasks}
    model = {"hidden_sizes": [32], "heads": tabular_heads("breast_cancer", tasks)}
    trainer = {"loss_functions": tabular_loss_functions("breast_cancer", tasks),
               "monitor": tabular_monitor("breast_cancer", tasks), "loss_weighting": "likelihood"}
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["LOSS_BY_KIND", "METRIC_BY_KIND", "tabular_heads", "tabular_loss_functions", "tabular_monitor"]

#: the co-trainer's loss for each tabular task kind (binary: sigmoid cross-entropy on one logit)
LOSS_BY_KIND = {"binary": "bce_with_logits", "regression": "mse"}
#: the metric (and its better direction) a task of each kind is judged by
METRIC_BY_KIND = {"binary": ("auc", "max"), "regression": ("rmse", "min")}


def _kinds(source: str, tasks: Sequence[str] | None) -> dict[str, str]:
    from ..dataset.tabular import tabular_task_kinds  # torch is imported only when these helpers are used

    return tabular_task_kinds(source, tasks)


def tabular_heads(source: str = "breast_cancer", tasks: Sequence[str] | None = None) -> dict[str, dict]:
    """``hard_sharing_mlp``'s ``heads``: ``{task: {"kind": kind}}`` for every task (binary heads are never
    inferred from float targets, so they must be declared; and only the tasks listed get a head)."""
    return {task: {"kind": kind} for task, kind in _kinds(source, tasks).items()}


def tabular_loss_functions(source: str = "breast_cancer", tasks: Sequence[str] | None = None) -> dict[str, str]:
    """The co-trainer's ``loss_functions``: bce_with_logits for binary tasks, mse for regression."""
    return {task: LOSS_BY_KIND[kind] for task, kind in _kinds(source, tasks).items()}


def tabular_monitor(source: str = "breast_cancer", tasks: Sequence[str] | None = None) -> dict[str, str]:
    """The co-trainer's ``monitor``: validation AUC of binary tasks, validation RMSE of regression tasks."""
    monitor = {}
    for task, kind in _kinds(source, tasks).items():
        metric, direction = METRIC_BY_KIND[kind]
        monitor[f"validation/{task}/{metric}"] = direction
    return monitor
