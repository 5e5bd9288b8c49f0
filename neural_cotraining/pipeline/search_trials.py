"""The database side of a hyperparameter search (``neural_cotraining.search``): its trials and their scores.

A trial is an ordinary job: its dataset, model and trainer configs are entries (``add_entry``) and its score is the
``TrainedModel`` row that ``populate`` makes, so any worker can train it. Two tables (defined in :mod:`.tables`),
declared on first use in the trained-model table's schema, tie the trials to their search:

- ``HyperSearch``: one row per search, keyed by the hash of what defines it (method, builders, fixed configs,
  parameter specs, direction, sampler seed, trained-model table), so that running the same search again finds it;
- ``HyperSearchTrial``: one row per trial (``trial_id`` 0, 1, ...), pointing at its entries and seed, with the
  sampled parameter values.

Everything a search knows is therefore in the database; a driver that crashed resumes from it, and several drivers
can share one search (a trial number taken by another is refused by the primary key, and the driver asks again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import datajoint as dj
from datajoint.errors import DuplicateError

from ..common.plain import from_numpy
from ..hashing import plain_config
from .entry_limits import COMMENT_LENGTH
from .jobs.long_lived_worker import LongLivedWorker
from .tables import declare_search_tables
from .jobs.stopping import StopRequest

__all__ = ["Trial", "SearchTrials"]

logger = logging.getLogger(__name__)

_KINDS = ("dataset", "model", "trainer")


@dataclass(frozen=True)
class Trial:
    """One trial as the database holds it. ``state``: ``complete`` (scored), ``pending`` (not being trained: new,
    or handed back by an interrupted worker), ``running`` (reserved by a worker) or ``failed`` (its job errored)."""

    trial_id: int
    params: dict
    key: dict
    state: str
    score: float | None


def _declare(trained_model_table) -> tuple[type, type]:
    """The search tables in the schema of ``trained_model_table``, declared there if missing."""
    trained = trained_model_table()
    context = {"Dataset": trained.dataset_table, "Model": trained.model_table, "Trainer": trained.trainer_table,
               "Seed": trained.seed_table}
    schema = dj.Schema(trained.database, context=context, connection=trained.connection)
    return declare_search_tables(schema, context)


class SearchTrials:
    """The trials of the search ``search_hash`` over ``trained_model_table``: read them, add one, train some."""

    def __init__(self, trained_model_table, search_hash: str, definition: dict, comment: str = ""):
        self.trained_model_table = trained_model_table
        self.search_hash = search_hash
        self.definition, self.comment = definition, comment
        self.search_table, self.trial_table = _declare(trained_model_table)

    def open(self) -> None:
        """Record the search (once; running it again finds the row)."""
        self.search_table.insert1({"search_hash": self.search_hash, "search_comment": self.comment[:256],
                                   "search_definition": self.definition}, skip_duplicates=True)

    def _trial_rows(self) -> list[dict]:
        return (self.trial_table & {"search_hash": self.search_hash}).to_dicts(order_by="trial_id")

    def trials(self) -> list[Trial]:
        """Every trial so far, in trial order, with its state and score."""
        trained = self.trained_model_table()
        rows = self._trial_rows()
        names = trained.primary_key
        keys = [{name: from_numpy(row[name]) for name in names} for row in rows]
        if not keys:
            return []
        # the jobs first, the scores second: a job goes pending -> reserved -> (its row stored) -> done, so a score
        # read after the status can only be newer; read the other way round, a job that finished in between
        # would look neither done nor started
        jobs = trained.jobs
        statuses = {}
        if jobs.is_declared:
            statuses = {tuple(from_numpy(r[n]) for n in names): r["status"]
                        for r in (jobs & keys).proj("status").to_dicts()}
        scores = {tuple(from_numpy(r[n]) for n in names): float(r["score"])
                  for r in (trained & keys).proj("score").to_dicts()}
        trials = []
        for row, key in zip(rows, keys):
            identity = tuple(key[name] for name in names)
            score = scores.get(identity)
            status = statuses.get(identity)
            state = ("complete" if score is not None else "running" if status == "reserved"
                     else "failed" if status in ("error", "ignore") else "pending")
            trials.append(Trial(int(row["trial_id"]), plain_config(row["params"]), key, state, score))
        return trials

    def add(self, trial_id: int, params: dict, fns: dict, configs: dict, seed: int, fabrikant: str | None,
            comment: str) -> Trial | None:
        """Record trial ``trial_id`` (its entries, seed and row) in one transaction; None when another driver took
        that trial number first."""
        trained = self.trained_model_table()
        connection = trained.connection
        try:
            with connection.transaction:
                key = {"seed": int(seed)}
                trained.seed_table().insert1(key, skip_duplicates=True)
                for kind in _KINDS:
                    table = getattr(trained, f"{kind}_table")()
                    key.update(table.add_entry(fns[kind], configs[kind], comment=comment, fabrikant=fabrikant))
                self.trial_table.insert1({"search_hash": self.search_hash, "trial_id": trial_id, **key,
                                          "params": params})
                self._record_job(trained, key, fns, fabrikant)
        except DuplicateError:
            logger.info("trial %d of search %s was added by another driver", trial_id, self.search_hash)
            return None
        logger.info("search %s trial %d: %s", self.search_hash[:8], trial_id, params)
        return Trial(trial_id, plain_config(params), key, "pending", None)

    def _record_job(self, trained, key: dict, fns: dict, fabrikant: str | None) -> None:
        """The trial's job among those asked for (``AddedExperiment`` "search <hash>"), so that a worker without a
        file trains it too, allowing the modules of the search's own builders."""
        added = getattr(trained, "added_experiment_table", None)
        if added is None:  # a trained-model table pointed at tables without the record
            return
        modules = sorted({fn.rsplit(".", 1)[0] for fn in fns.values() if not fn.startswith("neural_cotraining.")})
        added().record(f"search {self.search_hash[:8]}", [key], modules, comment=self.comment[:COMMENT_LENGTH],
                       fabrikant=fabrikant, keep_others=True)

    def train(self, keys: list[dict]) -> bool:
        """Train the jobs ``keys`` here, unless other workers hold them; a job that fails is marked failed in the
        jobs table and the search goes on. False when SIGINT/SIGTERM stopped it: the job in progress went back to
        the queue with a checkpoint (an interrupt is not a failure), as a long-lived worker hands it back."""
        worker = LongLivedWorker(self.trained_model_table(), restriction=keys, idle_exit=0, stop=StopRequest())
        return not worker.run().stopped
