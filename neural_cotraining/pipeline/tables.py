"""The whole schema, in dependency order: every table and part the pipeline declares.

    Fabrikant                         who adds entries
    Seed                              random seeds
    Dataset, Model, Trainer           builder name + config, keyed by the config's hash   (-> Fabrikant)
    AddedExperiment                   an experiment `add` recorded: name, builder modules (-> Fabrikant)
    AddedJob                          a job it asks for, with the file's labels           (-> AddedExperiment, the four above)
    Checkpoint                        a running job's training state, per epoch           (-> the four above)
    LiveJob, LiveEpochMetric          a running job's progress, per epoch                 (-> the four above)
    TrainedModel                      score, output, user                                 (-> the four above)
      .ModelState (alias ModelStorage), .EpochMetric, .UnitResult
    HyperSearch                       a hyperparameter search, declared on its first use  (declare_search_tables)
    HyperSearchTrial                  one trial of a search: entries, seed, values        (-> HyperSearch, the four above)

The tables follow nnfabrik's names and attributes so its users find their way (``*_fn``, ``*_hash``,
``*_config``, ``*_comment``, ``*_fabrikant``, ``*_ts``). Classes are made afresh for each schema by
:func:`declare_tables`, so that several schemas (one per experiment, or a throwaway one per test) can be open in
one process. The trained-model parts and definition are declared here too and shared by every trained-model table
(``templates.TrainedModelBase``), the user's own included.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import datajoint as dj

from .added_experiments import AddedExperimentMethods
from .entry_limits import BUILDER_MODULES_LENGTH, COMMENT_LENGTH, EXPERIMENT_NAME_LENGTH, FN_LENGTH, LABEL_LENGTH
from .entries import DatasetEntries, FabrikantEntries, ModelEntries, TrainerEntries
from .schema_rules.hash_scheme import hash_column_comment

__all__ = ["TABLE_NAMES", "TABLE_NAMES_IN_DATABASE", "declare_tables", "trained_model_definition", "ModelStatePart",
           "EpochMetricPart", "UnitResultPart"]

_ENTRY_METHODS = {"dataset": DatasetEntries, "model": ModelEntries, "trainer": TrainerEntries}


_JOB_KEY = """-> Model
        -> Dataset
        -> Trainer
        -> Seed"""


def trained_model_definition(table_comment: str) -> str:
    """A trained-model table's definition: keyed by its Model, Dataset, Trainer and Seed tables (``self()``'s
    ``model_table`` & co., so a user's table can point elsewhere)."""
    return f"""
        # {table_comment}
        -> self().model_table
        -> self().dataset_table
        -> self().trainer_table
        -> self().seed_table
        ---
        comment = "": varchar(768) # the trainer, model and dataset comments, joined
        score: float64             # the trainer's score (the co-trainer: main monitored validation metric)
        output: <blob>             # the trainer's output (final metrics per split, history, ...)
        -> self().user_table
        trainedmodel_ts = CURRENT_TIMESTAMP: datetime
        """


class ModelStatePart(dj.Part):
    """The trained weights. nnfabrik's spellings work too: ``insert1({..., "model_state": path})`` stores the bytes
    of the file at ``path`` (nnfabrik's make saves the weights to a file and inserts its path), and
    ``fetch1("model_state", download_path=folder)`` writes them to a file in ``folder`` and returns its path."""

    definition = """
    # trained weights: torch.save bytes of the state dict, read back with weights_only=True
    -> master
    ---
    model_state: bytes
    """

    def insert(self, rows, **kwargs):
        if isinstance(rows, (list, tuple)):  # not a query, file or data frame: those pass as they are
            rows = [_state_from_file(row) for row in rows]
        return super().insert(rows, **kwargs)

    def fetch1(self, *attributes, download_path: str | os.PathLike | None = None, **kwargs):
        value = super().fetch1(*attributes, **kwargs)
        if download_path is None:
            return value
        if not attributes:
            return {**value, "model_state": _write_state(value["model_state"], download_path)}
        if len(attributes) == 1:
            return _write_state(value, download_path) if attributes[0] == "model_state" else value
        return tuple(_write_state(v, download_path) if name == "model_state" else v
                     for name, v in zip(attributes, value))


def _state_from_file(row: Any) -> Any:
    if isinstance(row, Mapping) and isinstance(row.get("model_state"), (str, os.PathLike)):
        return {**row, "model_state": Path(row["model_state"]).read_bytes()}
    return row


def _write_state(data: bytes, folder: str | os.PathLike) -> str:
    """The weights written to ``folder`` under a name from their content (nnfabrik's attach returns a path)."""
    path = Path(folder) / f"{hashlib.md5(data).hexdigest()}.pth.tar"
    path.write_bytes(data)
    return str(path)


class EpochMetricPart(dj.Part):
    definition = """
    # one row per epoch, split, task and metric the trainer reported
    -> master
    epoch: int32
    split: varchar(32)
    task: varchar(48)
    metric: varchar(96)
    ---
    value = null: float64  # null where the metric was not finite
    """


class UnitResultPart(dj.Part):
    definition = """
    # per-neuron test results of a neural task, keyed by session and the recording's unit id
    -> master
    task: varchar(48)
    data_key: varchar(64)         # the session
    unit_id: int64                # the neuron's id in the recording (its column index if the data has none)
    ---
    unit_index: int32             # the neuron's column in the session's responses
    test_correlation = null: float64   # single-trial correlation on the test split (best weights)
    oracle = null: float64        # leave-one-out oracle of the test repeats
    fraction_oracle = null: float64    # test_correlation / oracle
    area = "": varchar(32)
    layer = "": varchar(32)
    """


def _config_table(kind: str, fabrikant: type, context: dict, hash_scheme: str) -> type:
    definition = f"""
    # {kind} builders and their configs, keyed by the config's hash
    {kind}_fn: varchar({FN_LENGTH})   # dotted name of the builder function
    {kind}_hash: char(32)             # {hash_column_comment(hash_scheme)}
    ---
    {kind}_config: <blob>             # keyword arguments of the builder
    {kind}_comment = "": varchar({COMMENT_LENGTH})
    -> Fabrikant.proj({kind}_fabrikant="fabrikant_name")
    {kind}_ts = CURRENT_TIMESTAMP: datetime
    """
    attributes = {"definition": definition, "kind": kind, "fabrikant_table": fabrikant, "schema_tables": context}
    return type(kind.capitalize(), (_ENTRY_METHODS[kind], dj.Manual), attributes)


def _declare_added_experiments(schema: dj.Schema, context: dict) -> None:
    """``AddedExperiment`` and ``AddedJob`` (see :mod:`.added_experiments`). A schema made before them gets them
    here, as new tables, on its next writing ``activate``; reading creates nothing and finds none."""

    class AddedExperiment(AddedExperimentMethods, dj.Manual):
        definition = f"""
        # an experiment as `add` recorded it; its jobs are in AddedJob
        experiment_name: varchar({EXPERIMENT_NAME_LENGTH})  # the file's name: (default: the file's stem)
        ---
        builder_modules = "": varchar({BUILDER_MODULES_LENGTH})  # module prefixes, comma-separated
        experiment_comment = "": varchar({COMMENT_LENGTH})     # the file it was added from
        -> Fabrikant.proj(experiment_fabrikant="fabrikant_name")
        experiment_ts = CURRENT_TIMESTAMP: datetime           # when it was first added
        """

    AddedExperiment.fabrikant_table = context["Fabrikant"]
    context["AddedExperiment"] = schema(AddedExperiment, context=context)

    class AddedJob(dj.Manual):
        # a table, not a part: deleting an entry or a seed deletes its rows here and leaves the experiment
        definition = f"""
        # a job an added experiment asks for, labelled as its file labels the entries
        -> AddedExperiment
        {_JOB_KEY}
        ---
        dataset_label = "": varchar({LABEL_LENGTH})
        model_label = "": varchar({LABEL_LENGTH})
        trainer_label = "": varchar({LABEL_LENGTH})
        """

    context["AddedJob"] = schema(AddedJob, context=context)
    context["AddedExperiment"].job_table = context["AddedJob"]


def declare_tables(schema: dj.Schema, context: dict, hash_scheme: str = "typed") -> None:
    """Declare every table but ``TrainedModel`` in ``schema``; ``context`` is its declaration namespace and is filled
    here. ``hash_scheme`` goes into the hash columns' comments of tables declared now (see :mod:`.schema_rules.hash_scheme`)."""

    class Fabrikant(FabrikantEntries, dj.Manual):
        definition = """
        # people (or accounts) who add entries
        fabrikant_name: varchar(32)
        ---
        full_name = "": varchar(128)
        email = "": varchar(64)
        affiliation = "": varchar(64)
        dj_username = "": varchar(64)  # the database user, for get_current_user ("" when added automatically)
        """

    context["Fabrikant"] = schema(Fabrikant, context=context)

    class Seed(dj.Manual):
        definition = """
        # random seeds handed to every builder
        seed: int32
        """

    context["Seed"] = schema(Seed, context=context)
    for kind in ("dataset", "model", "trainer"):
        table = _config_table(kind, Fabrikant, context, hash_scheme)
        context[table.__name__] = schema(table, context=context)
    _declare_added_experiments(schema, context)

    class Checkpoint(dj.Manual):
        definition = f"""
        # training state of a job in progress (the last few epochs), so a crashed job resumes
        {_JOB_KEY}
        epoch: int32
        ---
        state: bytes             # torch.save bytes of the trainer's state, read back with weights_only=True
        checkpoint_ts = CURRENT_TIMESTAMP: datetime
        """

    context["Checkpoint"] = schema(Checkpoint, context=context)

    class LiveJob(dj.Manual):
        definition = f"""
        # a job training now (or interrupted and waiting to resume); removed when its model is stored
        {_JOB_KEY}
        ---
        epoch = 0: int32                # the last epoch reported
        best_score = null: float64      # the trainer's score at its best epoch so far, if it reports one
        worker: varchar(160)            # host:pid of the worker process
        started_ts = CURRENT_TIMESTAMP: datetime
        heartbeat_ts = CURRENT_TIMESTAMP: datetime  # the worker's last sign of life
        """

    context["LiveJob"] = schema(LiveJob, context=context)

    class LiveEpochMetric(dj.Manual):
        definition = """
        # the per-epoch metrics of a live job so far (as TrainedModel.EpochMetric, before the job ends)
        -> LiveJob
        epoch: int32
        split: varchar(32)
        task: varchar(48)
        metric: varchar(96)
        ---
        value = null: float64
        """

    context["LiveEpochMetric"] = schema(LiveEpochMetric, context=context)
    # TrainedModel (trained_model_definition and the parts above) is declared next, by templates.declare_trained_model


TABLE_NAMES = (
    "Fabrikant", "Seed", "Dataset", "Model", "Trainer", "AddedExperiment", "AddedJob", "TrainedModel", "Checkpoint",
    "LiveJob", "LiveEpochMetric",
)
# what activate declares, as the database names them (a schema holding one of these that the pipeline did not
# make is never used: see schema_rules.marker)
TABLE_NAMES_IN_DATABASE = (
    "fabrikant", "seed", "dataset", "model", "trainer", "added_experiment", "added_job", "checkpoint", "live_job",
    "live_epoch_metric", "__trained_model", "__trained_model__model_state", "__trained_model__epoch_metric",
    "__trained_model__unit_result",
)


def declare_search_tables(schema: dj.Schema, context: dict) -> tuple[type, type]:
    """Declare a hyperparameter search's tables (``neural_cotraining.search``) in ``schema``, where missing, and
    return them: ``context`` names the Dataset, Model, Trainer and Seed tables of the trained-model table the search
    fills, and gets the two new ones. A search declares them on its first use (``search_trials``), so a schema
    without a search has none."""

    class HyperSearch(dj.Manual):
        definition = """
        # a hyperparameter search (neural_cotraining.search), keyed by the hash of what defines it
        search_hash: char(32)
        ---
        search_comment = "": varchar(256)
        search_definition: <blob>    # method, builders, fixed configs, parameter specs, direction, sampler seed
        search_ts = CURRENT_TIMESTAMP: datetime
        """

    context["HyperSearch"] = schema(HyperSearch, context=context)

    class HyperSearchTrial(dj.Manual):
        definition = """
        # one trial of a search: the entries it trains and the parameter values it tried
        -> HyperSearch
        trial_id: int32
        ---
        -> Dataset
        -> Model
        -> Trainer
        -> Seed
        params: <blob>               # the sampled values, by "dataset.name" / "model.name" / "trainer.name"
        trial_ts = CURRENT_TIMESTAMP: datetime
        """

    context["HyperSearchTrial"] = schema(HyperSearchTrial, context=context)
    return context["HyperSearch"], context["HyperSearchTrial"]
