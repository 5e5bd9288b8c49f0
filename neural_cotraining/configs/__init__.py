"""Experiment configuration: YAML experiment files and ready-made config sets.

Contract: ``load_experiment(path) -> Experiment`` validates a file (clear errors naming file and key);
``Experiment`` holds labelled dataset/model/trainer entries (``Entry(fn, config, comment)``), seeds, allowed
builder modules and the combinations to train. ``configs.tabular`` has heads / losses / monitors for the tabular tasks. Nothing here touches the database.
"""

from .experiment import Entry, Experiment, ExperimentFileError, experiment_from_dict, load_experiment
from .tabular import tabular_heads, tabular_loss_functions, tabular_monitor

__all__ = [
    "Entry",
    "Experiment",
    "ExperimentFileError",
    "experiment_from_dict",
    "load_experiment",
    "tabular_heads",
    "tabular_loss_functions",
    "tabular_monitor",
]
