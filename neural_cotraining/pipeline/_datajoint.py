"""Every use of DataJoint's private API, in one place.

The pipeline needs five things DataJoint 2.3 has but does not export: the single-job step of ``populate``
(``AutoPopulate._populate1``, for long-lived workers that take one job at a time), the jobs table's own key
projection (``JobsTable._get_pk``), the configured default job priority, and the SQL ``WHERE`` clause of a key
(``datajoint.condition.make_condition``, for one-statement UPDATEs that DataJoint's ``update1`` cannot express:
server-side timestamps and a condition on the row's current status); and two more for the job machinery: the MySQL
client module DataJoint's adapter connects through (``datajoint.adapters.mysql.client``, given connect and read
timeouts) and a connection's settings (``Connection._config``, ``conn_info``: a second connection for the
reservation keeper's thread, and ``jobs.keep_completed``). and which ``datajoint.json`` and secrets
directory DataJoint loaded (``dj.config._config_path`` / ``_secrets_dir``, to say where the server came from).
:func:`check_private_api` says in one line
what is missing when a DataJoint upgrade moves any of them; ``tests/pipeline/test_datajoint_private_api.py`` runs it.
"""

from __future__ import annotations

import os

import datajoint as dj
from datajoint.autopopulate import AutoPopulate

__all__ = ["check_private_api", "populate_one", "has_single_job_step", "job_key", "job_row_condition",
           "keeps_completed_jobs", "open_connection_like", "default_job_priority", "update_row",
           "install_connection_timeouts", "is_lost_connection", "is_deadlock", "loaded_config_files"]


def _make_condition():
    from datajoint.condition import make_condition

    return make_condition


def check_private_api() -> None:
    """Raise RuntimeError naming every private DataJoint name the pipeline uses that this DataJoint lacks."""
    missing = []
    if not callable(getattr(AutoPopulate, "_populate1", None)):
        missing.append("AutoPopulate._populate1 (the single-job populate step)")
    try:
        from datajoint.jobs import Job as _JobsTable  # noqa: F401
    except ImportError:
        _JobsTable = None
    if _JobsTable is None or not callable(getattr(_JobsTable, "_get_pk", None)):
        missing.append("datajoint.jobs.Job._get_pk (the jobs table's key)")
    try:
        _make_condition()
    except ImportError:
        missing.append("datajoint.condition.make_condition (a key's WHERE clause)")
    if not hasattr(dj.config, "jobs") or not hasattr(dj.config.jobs, "default_priority"):
        missing.append("dj.config.jobs.default_priority")
    try:
        from datajoint.adapters import mysql as _mysql_adapter

        if not callable(getattr(_mysql_adapter.client, "connect", None)):
            raise ImportError
    except (ImportError, AttributeError):
        missing.append("datajoint.adapters.mysql.client (the MySQL client module, for connection timeouts)")
    if not (hasattr(dj.config, "_config_path") and hasattr(dj.config, "_secrets_dir")):
        missing.append("dj.config._config_path / _secrets_dir (where the connection settings came from)")
    if missing:
        raise RuntimeError(
            f"DataJoint {dj.__version__} lacks what neural_cotraining {__package__} uses: " + "; ".join(missing)
            + ". Install the DataJoint version pinned in pyproject.toml."
        )


def populate_one(table, key: dict, jobs, **kwargs):
    """DataJoint's single-job step: reserve ``key`` in ``jobs`` (None: no reservation), run the (tripartite) make,
    complete or record the error."""
    return table._populate1(key, jobs, **kwargs)


def has_single_job_step(table) -> bool:
    return callable(getattr(table, "_populate1", None))


def job_key(jobs, key: dict) -> dict:
    """``key`` projected onto the jobs table's primary key (as DataJoint stores it)."""
    return jobs._get_pk(key)


def job_row_condition(jobs, key: dict) -> str:
    """The SQL condition that selects ``key``'s row of ``jobs``."""
    return _make_condition()(jobs, job_key(jobs, key), set())


def keeps_completed_jobs(jobs) -> bool:
    return bool(jobs.connection._config.jobs.keep_completed)


def open_connection_like(connection) -> "dj.Connection":
    """A new connection to the server and user of ``connection`` (for a thread of its own), with its settings."""
    info = connection.conn_info
    return dj.Connection(info["host"], info["user"], info["passwd"], info["port"], use_tls=info.get("ssl_input"),
                         database_name=info.get("database_name"), backend=connection.adapter.backend,
                         config_override=connection._config)


#: environment variables that set every connection's timeouts (seconds), and their defaults: no connection attempt
#: waits longer than the first for the server (a host that drops packets, an endpoint that accepts but never greets),
#: no query longer than the second for an answer (a frozen network path), so nothing blocks forever
CONNECT_TIMEOUT_ENV, READ_TIMEOUT_ENV = "NEURAL_COTRAINING_DB_CONNECT_TIMEOUT", "NEURAL_COTRAINING_DB_READ_TIMEOUT"
DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT = 10.0, 120.0


def _seconds_from_env(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not (seconds > 0 and seconds < float("inf")):
        raise ValueError(f"{name} must be a positive number of seconds, not {text!r}")
    return seconds


class _ClientWithTimeouts:
    """The MySQL client module as DataJoint's adapter uses it, with our timeouts added to every ``connect``."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def connect(self, **parameters):
        connect_timeout = _seconds_from_env(CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT)
        read_timeout = _seconds_from_env(READ_TIMEOUT_ENV, DEFAULT_READ_TIMEOUT)
        timeouts = {"connect_timeout": connect_timeout, "read_timeout": read_timeout, "write_timeout": read_timeout}
        return self._client.connect(**{**timeouts, **parameters})


def install_connection_timeouts() -> None:
    """Give every MySQL/MariaDB connection DataJoint opens from now on (reconnects included) a connect timeout and
    read/write timeouts (:data:`CONNECT_TIMEOUT_ENV`, :data:`READ_TIMEOUT_ENV`); checks the settings first.
    PostgreSQL: DataJoint's adapter already passes a 10 s connect timeout."""
    _seconds_from_env(CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT)
    _seconds_from_env(READ_TIMEOUT_ENV, DEFAULT_READ_TIMEOUT)
    from datajoint.adapters import mysql

    if not isinstance(mysql.client, _ClientWithTimeouts):
        mysql.client = _ClientWithTimeouts(mysql.client)


def is_lost_connection(error: BaseException) -> bool:
    """Whether ``error`` says the database connection was lost or timed out (not a bad query)."""
    from datajoint.errors import LostConnectionError

    if isinstance(error, LostConnectionError):
        return True
    codes = {2006, 2013, 2055}  # server gone away, lost connection during query (a timeout too), lost at handshake
    arguments = getattr(error, "args", ())
    return type(error).__name__ in ("OperationalError", "InterfaceError") and (
        bool(arguments) and arguments[0] in codes or "connection" in str(error).lower())


def is_deadlock(error: BaseException) -> bool:
    """Whether ``error`` is the server breaking a deadlock (or a lock wait timeout): the transaction is to be redone.
    Two workers writing their checkpoints at the same moment can deadlock on InnoDB's gap locks."""
    arguments = getattr(error, "args", ())
    if arguments and arguments[0] in (1213, 1205):  # MySQL/MariaDB: deadlock found; lock wait timeout exceeded
        return True
    return getattr(error, "pgcode", None) in ("40P01", "55P03") or "deadlock" in str(error).lower()


def default_job_priority(jobs) -> int:
    return jobs.connection._config.jobs.default_priority


def update_row(table, key: dict, values: dict | None = None, now: tuple[str, ...] = (), where: str = "",
               args: list | None = None, clock: str = "CURRENT_TIMESTAMP") -> None:
    """One ``UPDATE`` of ``table``'s row ``key``: ``values`` from Python, the ``now`` columns set to the server's
    ``clock``, an optional extra SQL condition ``where`` (with ``args`` for its placeholders)."""
    values = values or {}
    quote = table.adapter.quote_identifier
    assignments = [f"{quote(name)}=%s" for name in values] + [f"{quote(name)}={clock}" for name in now]
    condition = _make_condition()(table, key, set())
    if where:
        condition = f"{condition} AND {where}"
    table.connection.query(
        f"UPDATE {table.full_table_name} SET {', '.join(assignments)} WHERE {condition}",
        args=[*values.values(), *(args or [])],
    )


def loaded_config_files() -> tuple[str | None, str | None]:
    """(the ``datajoint.json`` DataJoint loaded at import, the secrets directory it read), None where none."""
    config_path = getattr(dj.config, "_config_path", None)
    secrets_dir = getattr(dj.config, "_secrets_dir", None)
    return (None if config_path is None else str(config_path)), (None if secrets_dir is None else str(secrets_dir))
