"""The database pipeline: the only part of neural_cotraining that imports datajoint.

Contract:
- ``activate(schema_name)`` connects (to the server DataJoint's configuration names: ``dj.config``, the ``DJ_*``
  environment, ``datajoint.json``; a local default only where none names one, see ``settings``) and returns a namespace of the schema's tables: ``Fabrikant``,
  ``Seed``, ``Dataset``, ``Model``, ``Trainer`` (``add_entry(fn, config, comment=...)`` -> primary key, idempotent;
  nnfabrik's argument names and methods work too) and ``TrainedModel`` (``populate(...)``, ``load_model(key)`` ->
  (dataloaders, model), ``get_full_config``, parts ``ModelState`` (alias ``ModelStorage``), ``EpochMetric`` and
  ``UnitResult`` (per-neuron test results keyed by task, session and unit id)), ``Checkpoint``, the live
  progress of running jobs ``LiveJob`` / ``LiveEpochMetric`` (``jobs.live_progress``), and what ``add`` recorded:
  ``AddedExperiment`` / ``AddedJob`` (the jobs asked for and their builder modules, ``added_experiments``).
  It refuses the server's system schemas and other people's schemas (``ForeignSchemaError``). Importing this
  package connects to nothing.
- ``drop_plan(name)`` lists what ``drop_schema(name)`` would remove (tables, rows); both refuse non-pipeline schemas.
- ``TrainedModelBase`` and ``ScoringBase`` (``pipeline.templates``): base classes for the user's own trained-model
  variants and for computed tables downstream of a trained-model table.
- nnfabrik's other templates: ``TrainedModelChkptBase`` and ``my_checkpoint`` (``templates.checkpoint``: the
  ``call_back(uid, epoch, model, state)`` checkpoint protocol) and ``experiments_table`` (``templates.experiments``:
  nnfabrik's ``Experiments``). ``activate(name, trained_model=False)`` leaves ``TrainedModel`` to the lab; its
  ``schema`` (``schema_rules.class_binding``) refuses a lab's class named like one of activate's tables. docs/nnfabrik.md.
- ``LongLivedWorker`` (``jobs.long_lived_worker``): trains jobs until idle or stopped by SIGTERM/SIGINT, which
  checkpoints the epoch in progress and hands the job back to the queue (``jobs.stopping``).
- ``ensure_server()`` (``server``) makes a local MariaDB or PostgreSQL answer (start / install / packet size).

Layout: ``schema`` (connect, activate, drop); ``connection_timeouts`` (every connection's connect and read
timeouts); ``schema_rules/`` (what is ours: guard, marker, hash scheme, class binding); ``tables`` (every table, in
dependency order); ``entries`` (add_entry & co.); ``experiments`` (an experiment file's entries and jobs, a schema's
jobs without its file), ``added_experiments`` (what ``add`` records) and ``opened`` (one experiment opened once);
``trained_model`` (the make) and ``templates`` (the user's own trained-model and scoring tables); ``reports/``
(status, results, labelled frames, failures); ``jobs/`` (reservations, long-lived workers, stopping, the trainer's
callback, checkpoints, live progress, the epoch log line); ``server/`` (local database starters); ``_datajoint``
(every private DataJoint touch).
"""

import warnings

# a missing datajoint.json is the normal case (the environment or the local default name the server; settings.py)
warnings.filterwarnings("ignore", message="No datajoint.json found", category=UserWarning)

from .jobs.callback import TrainingCallback  # noqa: E402
from .jobs.long_lived_worker import LongLivedWorker, WorkerSummary  # noqa: E402
from .schema import (  # noqa: E402
    DatabaseUnavailableError,
    SchemaMissingError,
    SchemaOutdatedError,
    activate,
    connect,
    drop_plan,
    drop_schema,
)
from .schema_rules.guard import ForeignSchemaError  # noqa: E402
from .server import ServerError, ensure_server, server_version  # noqa: E402
from .settings import DatabaseSettings, database_settings  # noqa: E402
from .trained_model import BrokenResultError, deserialize_state, serialize_state  # noqa: E402
from .templates import ScoringBase, TrainedModelBase  # noqa: E402

__all__ = [
    "activate",
    "drop_plan",
    "drop_schema",
    "ForeignSchemaError",
    "SchemaMissingError",
    "SchemaOutdatedError",
    "TrainedModelBase",
    "ScoringBase",
    "connect",
    "DatabaseUnavailableError",
    "ensure_server",
    "server_version",
    "ServerError",
    "DatabaseSettings",
    "database_settings",
    "TrainingCallback",
    "LongLivedWorker",
    "WorkerSummary",
    "BrokenResultError",
    "serialize_state",
    "deserialize_state",
]
