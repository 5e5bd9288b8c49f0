"""An experiment's results as labelled pandas DataFrames: what ``neural_cotraining.results`` and
``neural_cotraining.curves`` return.

Rows are labelled as the experiment file labels its entries (``dataset``, ``model``, ``trainer``). A schema read
without a file gives the jobs its added experiments recorded (labelled as their files label them) and its other
trained models, or, where no experiment was added, every combination of its entries and seeds; those are labelled
by the entries' comments (the hash's first 8 characters where a comment is empty). Reading creates nothing: a
schema that does not exist is an error.
"""

from __future__ import annotations

import pandas as pd

from ..experiments import schema_jobs
from .results import epoch_table, results_table
from .status import live_epoch_table

__all__ = ["results", "curves"]

_LABELS = ["dataset", "model", "trainer", "seed"]
_CURVE_COLUMNS = [*_LABELS, "epoch", "split", "task", "metric", "value", "running"]


def _jobs(experiment, schema: str | None):
    """(tables, labelled job keys) of an experiment (a file's path or a loaded ``Experiment``) or a whole schema."""
    from ..opened import open_experiment
    from ..schema import activate

    if experiment is None:
        if not schema:
            raise ValueError("give an experiment file or schema=")
        tables = activate(schema, create=False)
        return tables, schema_jobs(tables)
    opened = open_experiment(experiment, schema, create=False)
    return opened.tables, opened.keys()


def results(experiment=None, *, schema: str | None = None) -> pd.DataFrame:
    """One row per trained model: the labels, seed, score, best epoch and a column per final metric
    (``split/task/metric``). ``experiment``: an experiment file's path or an ``Experiment``; None: the jobs of
    ``schema`` (see the module docstring)."""
    tables, keys = _jobs(experiment, schema)
    rows = results_table(tables, keys)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=[*_LABELS, "score", "best_epoch"])
    return frame


def curves(experiment=None, *, schema: str | None = None) -> pd.DataFrame:
    """Per-epoch metrics, long format: one row per (labels, seed, epoch, split, task, metric) with its ``value``;
    jobs still training (or interrupted) are included with ``running`` True."""
    tables, keys = _jobs(experiment, schema)
    rows = [{**row, "running": False} for row in epoch_table(tables, keys)] + live_epoch_table(tables, keys)
    return pd.DataFrame(rows, columns=_CURVE_COLUMNS)
