"""nnfabrik's ``Experiments`` table: a named collection of (dataset, model, trainer) combinations to train and to
read results by, with nnfabrik's columns, its ``Restrictions`` part and its ``add_entry``::

    Experiments = experiments_table(tables)       # tables: what activate() returns (or a module of tables)
    Experiments().add_entry("sweep", "ada", "what it tests", restrictions=[{dataset/model/trainer keys}, ...])
    TrainedModel.populate(Experiments.Restrictions & 'experiment_name="sweep"', reserve_jobs=True)

nnfabrik declares it in its default schema (``nnfabrik.main``); here a call declares it in the pipeline's schema.
Our experiment files (``neural-cotraining add``) do not need it: they name their jobs themselves, and ``add`` records
them in the pipeline's own ``AddedExperiment`` / ``AddedJob`` (jobs with seeds and labels, and the builder modules
they allow; table names ``added_experiment`` / ``added_job``, no clash with this one's ``experiments``). The pipeline
never writes or reads this table: it is for code written against nnfabrik's.
"""

from __future__ import annotations

from typing import Any

import datajoint as dj

from .base import find_table

__all__ = ["experiments_table"]


class _Restrictions(dj.Part):
    definition = """
    # the dataset, model and trainer combinations of an experiment
    -> master
    -> Dataset
    -> Trainer
    -> Model
    ---
    experiment_restriction_ts = CURRENT_TIMESTAMP: datetime
    """


class _ExperimentEntries:
    def add_entry(self, experiment_name: str, experiment_fabrikant: str, experiment_comment: str,
                  restrictions: list[dict], skip_duplicates: bool = False) -> None:
        """nnfabrik's: the experiment and its combinations, in one transaction (all or nothing). The fabrikant is
        added if missing, as ``Dataset.add_entry`` does."""
        fabrikant = self.fabrikant_table().ensure(experiment_fabrikant)
        rows = [{**restriction, "experiment_name": experiment_name} for restriction in restrictions]
        with self.connection.transaction:
            self.insert1({"experiment_name": experiment_name, "experiment_fabrikant": fabrikant,
                          "experiment_comment": experiment_comment}, skip_duplicates=skip_duplicates)
            self.Restrictions.insert(rows, skip_duplicates=skip_duplicates)


def experiments_table(nnfabrik: Any) -> type:
    """nnfabrik's ``Experiments`` (with ``Restrictions``) in the schema of ``nnfabrik`` (the namespace ``activate``
    returns, a module or a dict with ``schema``, ``Fabrikant``, ``Dataset``, ``Model`` and ``Trainer``)."""
    context = {name: find_table(nnfabrik, name) for name in ("Fabrikant", "Dataset", "Model", "Trainer")}

    class Experiments(_ExperimentEntries, dj.Manual):
        definition = """
        # named collections of dataset, model and trainer combinations
        experiment_name: varchar(100)
        ---
        -> Fabrikant.proj(experiment_fabrikant="fabrikant_name")
        experiment_comment = "": varchar(2000)
        experiment_ts = CURRENT_TIMESTAMP: datetime
        """
        fabrikant_table = context["Fabrikant"]
        Restrictions = type("Restrictions", (_Restrictions,), {"__module__": __name__})

    return find_table(nnfabrik, "schema")(Experiments, context=context)
