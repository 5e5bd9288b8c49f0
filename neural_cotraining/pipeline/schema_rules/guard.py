"""Never touch what is not ours: which schemas ``activate`` may open and ``drop`` may drop.

- The server's own schemas are refused always: MySQL/MariaDB's ``mysql``, ``sys``, ``information_schema``,
  ``performance_schema``; PostgreSQL's ``information_schema``, every ``pg_*`` schema (``pg_catalog``, ``pg_toast``,
  ...) and ``public``, which exists in every database and holds whatever was created without a schema name, so it is
  never a pipeline's alone.
- A schema is the pipeline's when ``activate`` marked it, or it holds the pipeline's tables as versions before the
  marker made them (:mod:`.marker`). ``activate`` refuses any other schema that holds tables (a
  colleague's data) unless told to add the pipeline's tables beside them, and never uses tables named as the
  pipeline's that it did not make; ``drop`` refuses any schema that is not the pipeline's and never creates anything.
"""

from __future__ import annotations

import re

__all__ = ["ForeignSchemaError", "SYSTEM_SCHEMAS", "check_schema_name", "refuse_system_schema", "schema_tables",
           "table_row_counts"]

SYSTEM_SCHEMAS = {
    "mysql": frozenset({"mysql", "sys", "information_schema", "performance_schema"}),
    "postgresql": frozenset({"information_schema", "public"}),  # and every pg_* schema
}
_SCHEMA_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")


class ForeignSchemaError(ValueError):
    """A schema that is not the pipeline's: the server's own, or someone else's."""


def check_schema_name(schema_name: str) -> None:
    if not isinstance(schema_name, str) or not _SCHEMA_NAME.fullmatch(schema_name):
        raise ValueError(f"schema name {schema_name!r} must be 1-64 letters, digits or underscores")


def refuse_system_schema(schema_name: str) -> None:
    """Raise for the server's own schemas. Either backend's are refused on both, so that a schema name means the
    same wherever it is used (and this check needs no connection)."""
    name = schema_name.lower()
    if any(name in names for names in SYSTEM_SCHEMAS.values()) or name.startswith("pg_"):
        raise ForeignSchemaError(f"{schema_name} is a system schema of the database server; the pipeline never "
                                 "opens or drops it")


def schema_tables(connection, schema_name: str) -> list[str] | None:
    """The names of the tables in ``schema_name`` (DataJoint's hidden ``~`` tables left out), None if it does not
    exist."""
    adapter = connection.adapter
    if not connection.query(adapter.schema_exists_sql(schema_name)).rowcount:
        return None
    rows = connection.query(adapter.list_tables_sql(schema_name)).fetchall()
    return sorted(row[0] for row in rows if not row[0].startswith("~"))


def table_row_counts(connection, schema_name: str) -> list[tuple[str, int]]:
    """``[(table, rows)]`` of every table in the schema, DataJoint's hidden ones included."""
    adapter = connection.adapter
    names = sorted(row[0] for row in connection.query(adapter.list_tables_sql(schema_name)).fetchall())
    counts = []
    for name in names:
        full_name = adapter.make_full_table_name(schema_name, name)
        counts.append((name, int(connection.query(f"SELECT COUNT(*) FROM {full_name}").fetchone()[0])))
    return counts
