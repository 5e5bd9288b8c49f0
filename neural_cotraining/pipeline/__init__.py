"""The database pipeline: the only part of neural_cotraining that imports datajoint.

Contract:
- ``activate(schema_name)`` connects (settings from ``DJ_HOST``, ``DJ_PORT``, ``DJ_USER``, ``DJ_PASS``,
  ``DJ_BACKEND``, ``DJ_USE_TLS``; local defaults) and returns a namespace of the schema's tables: ``Fabrikant``,
  ``Seed``, ``Dataset``, ``Model``, ``Trainer`` (``add_entry(fn, config, comment=...)`` -> primary key, idempotent)
  and ``TrainedModel`` (``populate(...)``, ``load_model(key)`` -> (dataloaders, model), parts ``ModelState`` and
  ``EpochMetric``), ``Checkpoint``, and the live progress of running jobs ``LiveJob`` / ``LiveEpochMetric``
  (``live_progress``). Importing this package connects to nothing.
- ``LongLivedWorker`` (``long_lived_worker``): trains jobs until idle or stopped by SIGTERM/SIGINT, which checkpoints
  the epoch in progress and hands the job back to the queue (``stopping``).
- ``ensure_server()`` makes a local MariaDB answer (start / install / enable root over TCP / packet size).
- ``run_affinity_study(tables, study, output_dir)`` (``pipeline.affinity``) adds, trains and summarises a
  task-affinity study (every single task and pair over seeds; gains over the single-task baselines, CSV + heatmap).
"""

import warnings

# settings come from the DJ_* environment (see settings.py); a missing datajoint.json is the normal case
warnings.filterwarnings("ignore", message="No datajoint.json found", category=UserWarning)

from .affinity import AffinityResult, run_affinity_study  # noqa: E402
from .callback import TrainingCallback  # noqa: E402
from .long_lived_worker import LongLivedWorker, WorkerSummary  # noqa: E402
from .schema import DatabaseUnavailableError, activate, connect  # noqa: E402
from .server import ServerError, ensure_server, server_version  # noqa: E402
from .settings import DatabaseSettings, database_settings  # noqa: E402
from .trained_model import BrokenResultError, deserialize_state, serialize_state  # noqa: E402

__all__ = [
    "activate",
    "AffinityResult",
    "run_affinity_study",
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
