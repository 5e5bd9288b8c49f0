"""Every use of DataJoint's private API, in one place.

The pipeline needs five things DataJoint 2.3 has but does not export: the single-job step of ``populate``
(``AutoPopulate._populate1``, for long-lived workers that take one job at a time), the jobs table's own key
projection (``JobsTable._get_pk``), the configured default job priority, and the SQL ``WHERE`` clause of a key
(``datajoint.condition.make_condition``, for one-statement UPDATEs that DataJoint's ``update1`` cannot express:
server-side timestamps and a condition on the row's current status); and, for the job machinery: the client
modules DataJoint's adapters connect through (``datajoint.adapters.mysql.client``,
``datajoint.adapters.postgres.client``: every connection gets connect and read timeouts, see
:mod:`.connection_timeouts`), a connection's settings (``Connection._config``, ``conn_info``: a second connection
for the reservation keeper's thread, and ``jobs.keep_completed``), and which ``datajoint.json`` and secrets
directory DataJoint loaded (``dj.config._config_path`` / ``_secrets_dir``, to say where the server came from).
:func:`check_private_api` says in one line what is missing when a DataJoint upgrade moves any of them;
``tests/pipeline/test_datajoint_private_api.py`` runs it.
"""

from __future__ import annotations

import datajoint as dj
from datajoint.autopopulate import AutoPopulate

from .connection_timeouts import (
    configured_timeouts, connect_mysql, current_timeouts, guarded_connect, install_postgres_waits, postgres_parameters,
    register_postgres_connection, short_timeouts,
)

__all__ = ["check_private_api", "populate_one", "has_single_job_step", "job_key", "job_row_condition",
           "keeps_completed_jobs", "open_connection_like", "open_client_connection_like", "default_job_priority",
           "update_row", "install_connection_timeouts", "is_lost_connection", "is_deadlock", "loaded_config_files"]


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
    try:
        from datajoint.adapters import postgres as _postgres_adapter

        _postgres_adapter.client  # noqa: B018 (None when psycopg2 is not installed)
    except (ImportError, AttributeError):
        missing.append("datajoint.adapters.postgres.client (the PostgreSQL client module, for connection timeouts)")
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


def queue_exists(table) -> bool:
    """Whether ``table``'s jobs table exists, found without declaring it: DataJoint declares ``~~<name>`` on the first
    access to ``table.jobs``, which a command that only reads must not do."""
    name = "~~" + table.table_name.lstrip("_")  # DataJoint's naming of a jobs table (datajoint.jobs.Job)
    rows = table.connection.query(table.connection.adapter.list_tables_sql(table.database)).fetchall()
    return any(row[0] == name for row in rows)


def keeps_completed_jobs(jobs) -> bool:
    return bool(jobs.connection._config.jobs.keep_completed)


def open_connection_like(connection) -> "dj.Connection":
    """A new connection to the server and user of ``connection`` (for a thread of its own), with its settings."""
    info = connection.conn_info
    return dj.Connection(info["host"], info["user"], info["passwd"], info["port"], use_tls=info.get("ssl_input"),
                         database_name=info.get("database_name"), backend=connection.adapter.backend,
                         config_override=connection._config)


def open_client_connection_like(connection):
    """A new client connection (pymysql's or psycopg2's, autocommitting) to the server and user of ``connection``,
    waiting at most the connect timeout for anything (:func:`.connection_timeouts.short_timeouts`): for one last
    statement when ``connection`` itself stopped answering. The caller closes it."""
    info = connection.conn_info
    parameters = {"use_tls": info.get("ssl_input")}
    if info.get("database_name"):
        parameters["dbname"] = info["database_name"]
    with short_timeouts():
        return connection.adapter.connect(host=info["host"], port=info["port"], user=info["user"],
                                          password=info["passwd"], **parameters)


class _MySQLClientWithTimeouts:
    """The MySQL client module as DataJoint's adapter uses it, every ``connect`` given our timeouts."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def connect(self, **parameters):
        def refused(message):
            return self._client.err.OperationalError(2013, message)

        return guarded_connect(lambda: connect_mysql(self._client.connect, **parameters), refused)


class _PostgresClientWithTimeouts:
    """The PostgreSQL client module (psycopg2) as DataJoint's adapter uses it, every ``connect`` given our
    timeouts; DataJoint's own 10 s ``connect_timeout`` gives way to the configured one."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def connect(self, **parameters):
        timeouts = current_timeouts()
        connection = guarded_connect(lambda: self._client.connect(**{**parameters, **postgres_parameters(timeouts)}),
                                     self._client.OperationalError)
        register_postgres_connection(connection, timeouts)
        return connection


def install_connection_timeouts() -> None:
    """Give every connection DataJoint opens from now on (reconnects included), MySQL/MariaDB and PostgreSQL, the
    connect and read timeouts of :mod:`.connection_timeouts`; checks the settings first (ValueError in one line)."""
    configured_timeouts()
    from datajoint.adapters import mysql, postgres

    if not isinstance(mysql.client, _MySQLClientWithTimeouts):
        mysql.client = _MySQLClientWithTimeouts(mysql.client)
    if postgres.client is not None:  # psycopg2 installed
        install_postgres_waits()
        if not isinstance(postgres.client, _PostgresClientWithTimeouts):
            postgres.client = _PostgresClientWithTimeouts(postgres.client)


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
