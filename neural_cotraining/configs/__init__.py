"""Experiment configuration: YAML experiment files and ready-made config sets.

Contract: ``load_experiment(path) -> Experiment`` validates a file (clear errors naming file and key);
``Experiment`` holds labelled dataset/model/trainer entries (``Entry(fn, config, comment)``), seeds, allowed
builder modules and the combinations to train. ``load_affinity_file(path)`` reads an experiment file with an
``affinity:`` section into an ``AffinityStudy``, and ``plan_study`` makes its per-group configs (``configs.affinity_study``);
``configs.tabular`` has heads / losses / monitors for the tabular tasks. Nothing here touches the database.
"""

from .affinity_study import AffinityStudy, GroupPlan, load_affinity_file, plan_study, restrict_to_tasks
from .experiment import Entry, Experiment, ExperimentFileError, experiment_from_dict, load_experiment
from .tabular import tabular_heads, tabular_loss_functions, tabular_monitor

__all__ = [
    "AffinityStudy",
    "Entry",
    "Experiment",
    "ExperimentFileError",
    "GroupPlan",
    "experiment_from_dict",
    "load_affinity_file",
    "load_experiment",
    "plan_study",
    "restrict_to_tasks",
    "tabular_heads",
    "tabular_loss_functions",
    "tabular_monitor",
]
