"""Experiment configuration: YAML experiment files and ready-made config sets.

Contract: ``load_experiment(path) -> Experiment`` validates a file (clear errors naming file and key);
``Experiment`` holds labelled dataset/model/trainer entries (``Entry(fn, config, comment)``), seeds, allowed
builder modules and the combinations to train. Nothing here touches the database.
"""

from .experiment import Entry, Experiment, ExperimentFileError, experiment_from_dict, load_experiment

__all__ = ["Entry", "Experiment", "ExperimentFileError", "experiment_from_dict", "load_experiment"]
