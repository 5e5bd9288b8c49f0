"""Table declarations, made per schema by :func:`declare_tables`.

The tables follow nnfabrik's names and attributes so its users find their way: ``Fabrikant``, ``Seed``,
``Dataset`` / ``Model`` / ``Trainer`` (``*_fn``, ``*_hash``, ``*_config``, ``*_comment``, ``*_fabrikant``,
``*_ts``) and ``TrainedModel`` keyed by all four. Classes are made afresh for each schema so that several schemas
(one per experiment, or a throwaway one per test) can be open in one process.
"""

from __future__ import annotations

from types import SimpleNamespace

import datajoint as dj

from .entries import DatasetEntries, FabrikantEntries, ModelEntries, TrainerEntries
from .hash_scheme import hash_column_comment
from .live_progress import declare_live_tables
from .user_tables import TrainedModelBase

__all__ = ["declare_tables"]

_ENTRY_METHODS = {"dataset": DatasetEntries, "model": ModelEntries, "trainer": TrainerEntries}
FN_LENGTH = 96  # dotted builder names; keeps the TrainedModel key within MySQL's 3072-byte index limit


def _config_table(kind: str, fabrikant: type, hash_scheme: str) -> type:
    definition = f"""
    # {kind} builders and their configs, keyed by the config's hash
    {kind}_fn: varchar({FN_LENGTH})   # dotted name of the builder function
    {kind}_hash: char(32)             # {hash_column_comment(hash_scheme)}
    ---
    {kind}_config: <blob>             # keyword arguments of the builder
    {kind}_comment = "": varchar(256)
    -> Fabrikant.proj({kind}_fabrikant="fabrikant_name")
    {kind}_ts = CURRENT_TIMESTAMP: datetime
    """
    attributes = {"definition": definition, "kind": kind, "fabrikant_table": fabrikant}
    return type(kind.capitalize(), (_ENTRY_METHODS[kind], dj.Manual), attributes)


def declare_tables(schema: dj.Schema, context: dict, hash_scheme: str = "typed") -> SimpleNamespace:
    """Declare every table in ``schema``; ``context`` is its declaration namespace and is filled here.
    ``hash_scheme`` goes into the hash columns' comments of tables declared now (see :mod:`.hash_scheme`)."""

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
        table = _config_table(kind, Fabrikant, hash_scheme)
        context[table.__name__] = schema(table, context=context)

    class Checkpoint(dj.Manual):
        definition = """
        # training state of a job in progress (the last few epochs), so a crashed job resumes
        -> Model
        -> Dataset
        -> Trainer
        -> Seed
        epoch: int32
        ---
        state: bytes             # torch.save bytes of the trainer's state, read back with weights_only=True
        checkpoint_ts = CURRENT_TIMESTAMP: datetime
        """

    context["Checkpoint"] = schema(Checkpoint, context=context)
    declare_live_tables(schema, context)

    class TrainedModel(TrainedModelBase):
        table_comment = "a model trained from one dataset, model, trainer and seed entry"
        nnfabrik = context

    context["TrainedModel"] = schema(TrainedModel, context=context)
    return SimpleNamespace(schema=schema, **{name: context[name] for name in _TABLE_NAMES})


_TABLE_NAMES = (
    "Fabrikant", "Seed", "Dataset", "Model", "Trainer", "TrainedModel", "Checkpoint", "LiveJob", "LiveEpochMetric"
)
