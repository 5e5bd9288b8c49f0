"""Connecting and activating a pipeline schema."""

from __future__ import annotations

import logging
import multiprocessing
from types import SimpleNamespace

import datajoint as dj

from ._datajoint import check_private_api, install_connection_timeouts, is_lost_connection
from .schema_rules.hash_scheme import apply_hash_scheme, check_scheme_name
from .schema_rules.guard import (
    ForeignSchemaError,
    check_schema_name,
    refuse_system_schema,
    schema_tables,
    table_row_counts,
)
from .schema_rules.class_binding import PipelineSchema
from .schema_rules.marker import ownership, referencing_schemas, write_marker
from .settings import database_settings
from .tables import TABLE_NAMES, TABLE_NAMES_IN_DATABASE, declare_tables
from .templates import declare_trained_model

__all__ = ["DatabaseUnavailableError", "SchemaMissingError", "SchemaOutdatedError", "connect", "activate", "drop_plan",
           "drop_schema", "lost_connection_message"]

logger = logging.getLogger(__name__)

# columns added to the tables since the first version: a schema made before lacks them
_COLUMNS_ADDED = {"Fabrikant": ("full_name", "dj_username"), "TrainedModel": ("comment",)}


class DatabaseUnavailableError(ConnectionError):
    """The database does not answer or refuses the credentials (one clear message, not a stack of them)."""


class SchemaMissingError(ValueError):
    """A read-only use of a schema that does not exist (reading creates nothing)."""


class SchemaOutdatedError(RuntimeError):
    """A schema made by an older version, lacking columns this version writes."""


def connect(reset: bool = False) -> "dj.Connection":
    """The shared DataJoint connection to the server DataJoint's configuration names (see :mod:`.settings`).

    ``dj.config`` is read, never overwritten (a notebook's settings stay as they were); the server, user and where
    they came from are logged once per process. A server that does not answer raises
    :class:`DatabaseUnavailableError` naming it and its source: nothing falls back to another server.
    """
    settings = database_settings()
    if dj.config["database.backend"] != settings.backend:  # named by an environment set after DataJoint's import
        dj.config["database.backend"] = settings.backend
    use_tls = settings.use_tls
    if use_tls is None and settings.is_local:
        use_tls = False  # a local server has no TLS; trying it first only adds a warning to every failed connect
    _announce(settings)
    install_connection_timeouts()  # no connection or query waits forever on a frozen path
    # host:port carries the port, so dj.config's own port is left as the user set it
    host = settings.host if ":" in settings.host else f"{settings.host}:{settings.port}"
    try:
        return dj.conn(host, settings.user, settings.password, reset=reset, use_tls=use_tls)
    except Exception as error:  # pymysql/psycopg errors differ; one message names the server, not the password
        reason = error.args[1] if len(error.args) > 1 else (error.args[0] if error.args else error)
        raise DatabaseUnavailableError(
            f"cannot use the database at {settings.describe()}: {reason} ({settings.origin()})") from None


def lost_connection_message(error: BaseException) -> str | None:
    """One line for ``error`` if it says the database connection was lost or timed out (a frozen path, a server gone
    mid-command), naming the server; None for any other error."""
    if not is_lost_connection(error):
        return None
    settings = database_settings()
    reason = error.args[1] if len(error.args) > 1 else (error.args[0] if error.args else type(error).__name__)
    return f"lost the connection to the database at {settings.describe()}: {reason} ({settings.origin()})"


_announced: set[str] = set()


def _announce(settings) -> None:
    described = settings.describe_with_origin()
    if described not in _announced:
        _announced.add(described)
        # a worker process (``populate --workers N``): the command that started it named the server already
        level = logging.DEBUG if multiprocessing.parent_process() is not None else logging.INFO
        logger.log(level, "database %s", described)


def activate(schema_name: str, *, allow_other_tables: bool = False, upgrade: bool = False,
             trained_model: bool = True, hash: str | None = None, create: bool = True) -> SimpleNamespace:
    """Open (creating if needed) the schema ``schema_name`` and its tables; ``create=False`` (for reading) creates
    nothing and refuses a schema that does not exist (:class:`SchemaMissingError`).

    Returns a namespace with ``schema``, ``Fabrikant``, ``Seed``, ``Dataset``, ``Model``, ``Trainer``,
    ``AddedExperiment``, ``AddedJob``, ``TrainedModel``, ``Checkpoint``, ``LiveJob`` and ``LiveEpochMetric``. A
    schema made before a table was added to the pipeline gets that table (created, nothing altered) on its next
    writing activate; read-only, the table is missing (``is_declared`` False) and nothing is created. Nothing connects at import time; this is where the connection is made.
    With ``trained_model=False`` there is no ``TrainedModel``: a lab declares its own (``TrainedModelBase``) in
    ``schema``, which refuses a class named like a table declared here (see :mod:`.schema_rules.class_binding`).
    Refuses the server's system schemas, and a schema holding tables that the pipeline did not make, before
    declaring anything in it, unless ``allow_other_tables`` and none of them bears a pipeline table's name (see
    :mod:`.schema_rules.guard`, :mod:`.schema_rules.marker`); marks the schema as the pipeline's before declaring tables.
    A schema made by an older version that lacks columns added since is refused with the reason, or brought up to
    date with ``upgrade=True`` (the columns are added with their defaults; nothing else changes).

    ``hash`` picks the config hash of a new schema: ``"typed"`` (the default, :func:`..hashing.make_hash`) or
    ``"nnfabrik"`` (nnfabrik's own, to agree with tables nnfabrik filled). The schema records it; ``None`` uses
    the recorded one, and naming another than the recorded one is refused (:mod:`.schema_rules.hash_scheme`).
    """
    check_schema_name(schema_name)
    check_scheme_name(hash)
    refuse_system_schema(schema_name)
    check_private_api()
    connection = connect()
    existing = schema_tables(connection, schema_name)
    owner = ownership(connection, schema_name, existing)
    if owner == "new" and not create:
        there = "there is no schema" if existing is None else "there are no tables in schema"
        raise SchemaMissingError(f"{there} {schema_name} at {database_settings().describe()}: nothing has been added "
                                 "to it yet (`add` creates it)")
    if owner == "foreign":
        _refuse_foreign(schema_name, existing, allow_other_tables)
    context: dict = {}
    schema = PipelineSchema(schema_name, context=context, connection=connection, create_schema=create,
                            create_tables=None if create else False)
    if create:  # reading writes nothing, the marker included
        write_marker(connection, schema_name)
    declare_tables(schema, context, hash or "typed")
    if trained_model:
        declare_trained_model(schema, context)
    tables = SimpleNamespace(schema=schema, **{name: context[name] for name in TABLE_NAMES if name in context})
    schema.activate_tables = frozenset(name for name in vars(tables) if name != "schema")
    schema.activate_call = f"activate({schema_name!r})"
    _check_columns(tables, schema_name, upgrade)
    apply_hash_scheme(tables, schema_name, hash)
    return tables


def _refuse_foreign(schema_name: str, existing: list[str], allow_other_tables: bool) -> None:
    clashes = sorted(set(existing) & set(TABLE_NAMES_IN_DATABASE))
    listed = f"{', '.join(existing[:6])}{', ...' if len(existing) > 6 else ''}"
    if clashes:
        raise ForeignSchemaError(
            f"schema {schema_name} holds tables named as the pipeline's ({', '.join(clashes)}) that it did not make: "
            "not using or changing them; use another schema name"
        )
    if not allow_other_tables:
        raise ForeignSchemaError(
            f"schema {schema_name} holds {len(existing)} table(s) ({listed}) and none of the pipeline's: not adding "
            "ours beside them; use another schema name, or activate(..., allow_other_tables=True) to share it"
        )


def _check_columns(tables: SimpleNamespace, schema_name: str, upgrade: bool) -> None:
    missing = {
        name: [column for column in columns if column not in getattr(tables, name).heading.names]
        for name, columns in _COLUMNS_ADDED.items() if hasattr(tables, name)
    }
    missing = {name: columns for name, columns in missing.items() if columns}
    if not missing:
        return
    described = "; ".join(f"{name} lacks {', '.join(columns)}" for name, columns in missing.items())
    if not upgrade:
        raise SchemaOutdatedError(
            f"schema {schema_name} was made by an older neural_cotraining ({described}); "
            f"activate({schema_name!r}, upgrade=True) adds the columns with their defaults"
        )
    for name in missing:
        getattr(tables, name)().alter(prompt=False)
    logger.info("schema %s upgraded: %s", schema_name, described)


def drop_plan(schema_name: str) -> list[tuple[str, int]]:
    """``[(table, rows)]`` that dropping ``schema_name`` would remove; refuses a schema that does not exist or is
    not the pipeline's. Creates nothing."""
    check_schema_name(schema_name)
    refuse_system_schema(schema_name)
    check_private_api()
    connection = connect()
    existing = schema_tables(connection, schema_name)
    if existing is None:
        raise ValueError(f"there is no schema {schema_name}")
    if ownership(connection, schema_name, existing) == "foreign":
        raise ForeignSchemaError(f"schema {schema_name} is not a pipeline's (activate did not make it and it does not "
                                 "hold the pipeline's tables): not dropping it")
    referencing = referencing_schemas(connection, schema_name)
    if referencing:
        raise ForeignSchemaError(
            f"schema {schema_name} is referred to by tables in {', '.join(referencing)}: drop "
            f"{'that schema' if len(referencing) == 1 else 'those schemas'} first; nothing was dropped"
        )
    return table_row_counts(connection, schema_name)


def drop_schema(schema_name: str) -> None:
    """Drop the pipeline schema ``schema_name`` and everything in it (checked again, as :func:`drop_plan`): all or
    nothing, since a schema that other schemas refer to is refused before anything is dropped."""
    drop_plan(schema_name)
    connection = connect()
    connection.query(connection.adapter.drop_schema_sql(schema_name))
    logger.info("dropped schema %s", schema_name)
