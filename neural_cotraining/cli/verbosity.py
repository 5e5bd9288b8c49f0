"""How much the commands say on stderr: ``-q`` errors only, the default one line per thing that happens, ``-v``
everything (DataJoint's own connection lines and warnings included).

The level travels to worker processes in an environment variable, so ``populate --workers N`` speaks as its parent.
DataJoint's "connected to" line is left to the pipeline's own (which also says where the server came from, once per
process); its known warnings (MariaDB "not officially supported", "Native type" on a jobs table declaration) say
nothing a user can act on and are dropped unless ``-v``.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import warnings

from .errors import logs_to_stderr
from .job_lines import send_to_parent

__all__ = ["QUIET", "NORMAL", "VERBOSE", "configure_output", "current_verbosity"]

QUIET, NORMAL, VERBOSE = "quiet", "normal", "verbose"
_ENVIRONMENT = "NEURAL_COTRAINING_VERBOSITY"
_LEVELS = {QUIET: logging.ERROR, NORMAL: logging.INFO, VERBOSE: logging.DEBUG}
_USERS_DATAJOINT_LEVEL = os.environ.get("DJ_LOG_LEVEL")  # as the process started (a worker: its parent's choice)
_KNOWN_WARNINGS = ("MariaDB is not officially supported", "Native type ")


class _DropKnownWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(_KNOWN_WARNINGS)


class _NotDataJoints(logging.Filter):
    """DataJoint prints its records with a handler of its own (once it is imported): they are not printed again."""

    def filter(self, record: logging.LogRecord) -> bool:
        own = record.name == "datajoint" or record.name.startswith("datajoint.")
        return not (own and logging.getLogger("datajoint").handlers)


def current_verbosity() -> str:
    value = os.environ.get(_ENVIRONMENT, NORMAL)
    return value if value in _LEVELS else NORMAL


def configure_output(verbosity: str | None = None, format: str = "%(asctime)s %(levelname)s %(name)s: %(message)s",
                     parent_queue=None) -> str:
    """Set this process's logging for ``verbosity`` (None: the one its parent command chose); returns it.
    ``parent_queue``: a worker process's records and stderr text go there, for its parent to draw
    (:mod:`.job_lines`)."""
    verbosity = verbosity or current_verbosity()
    os.environ[_ENVIRONMENT] = verbosity
    logs_to_stderr()
    logging.basicConfig(level=_LEVELS[verbosity], format=format)
    logging.getLogger().setLevel(_LEVELS[verbosity])
    # DataJoint sets its logger's level from DJ_LOG_LEVEL when imported (perhaps later than now): both, unless the
    # user chose a level
    datajoint_level = _USERS_DATAJOINT_LEVEL or {QUIET: "ERROR", NORMAL: "WARNING", VERBOSE: "INFO"}[verbosity]
    os.environ["DJ_LOG_LEVEL"] = datajoint_level
    datajoint = logging.getLogger("datajoint")
    datajoint.setLevel(datajoint_level.upper())
    if parent_queue is not None:
        send_to_parent(parent_queue)
    for handler in logging.getLogger().handlers:  # ours (basicConfig's), not a test harness's subclasses
        if type(handler) in (logging.StreamHandler, logging.handlers.QueueHandler) and not any(
                isinstance(f, _NotDataJoints) for f in handler.filters):
            handler.addFilter(_NotDataJoints())
    if verbosity == VERBOSE:
        return verbosity
    if not any(isinstance(existing, _DropKnownWarnings) for existing in datajoint.filters):
        datajoint.addFilter(_DropKnownWarnings())
    warnings.filterwarnings("ignore", message="MariaDB is not officially supported", category=UserWarning)
    if verbosity == QUIET:
        warnings.filterwarnings("ignore", category=UserWarning, module="datajoint")
    return verbosity
