"""Whose schema is it: the marker that ``activate`` writes, the pipeline schemas made before it, and who refers to us.

A table name says little: nnfabrik's schemas hold ``fabrikant``, ``seed``, ``dataset``, ``model``, ``trainer`` and
``__trained_model`` too, and adding our tables beside a colleague's (or ``ALTER``-ing theirs) must never happen.
So ``activate`` writes a hidden marker table (``~neural_cotraining``, one row) into every schema it makes, *before*
declaring any table, and a schema is the pipeline's when it holds that marker. A schema made before the marker
existed is recognised by its tables' definitions (the pipeline's tables with exactly their columns, as first
released), and gets the marker when next activated. ``drop`` reads the same, and refuses a schema that other
schemas' tables refer to by foreign key, naming them, before dropping anything (a server drops a schema table by
table, so a drop that a reference stops half-way leaves half a pipeline).
"""

from __future__ import annotations

__all__ = ["MARKER_TABLE", "ownership", "write_marker", "referencing_schemas"]

MARKER_TABLE = "~neural_cotraining"
_MADE_BY = "neural_cotraining"

_KEY = {"model_fn", "model_hash", "dataset_fn", "dataset_hash", "trainer_fn", "trainer_hash", "seed"}
# The pipeline's tables as the versions before the marker made them: {table: (columns, columns added since)}.
# Frozen on purpose: it describes schemas that already exist, whatever tables.py declares later.
_PRE_MARKER_TABLES = {
    "fabrikant": ({"fabrikant_name", "email", "affiliation"}, {"full_name", "dj_username"}),
    "seed": ({"seed"}, set()),
    **{kind: ({f"{kind}_{column}" for column in ("fn", "hash", "config", "comment", "fabrikant", "ts")}, set())
       for kind in ("dataset", "model", "trainer")},
    "__trained_model": (_KEY | {"score", "output", "fabrikant_name", "trainedmodel_ts"}, {"comment"}),
    "__trained_model__model_state": (_KEY | {"model_state"}, set()),
    "__trained_model__epoch_metric": (_KEY | {"epoch", "split", "task", "metric", "value"}, set()),
}


def _has_marker(connection, schema_name: str) -> bool:
    found = connection.query(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
        args=(schema_name, MARKER_TABLE),
    ).fetchone()[0]
    if not found:
        return False
    table = connection.adapter.make_full_table_name(schema_name, MARKER_TABLE)
    return bool(connection.query(f"SELECT COUNT(*) FROM {table} WHERE made_by = %s", args=(_MADE_BY,)).fetchone()[0])


def _columns(connection, schema_name: str) -> dict[str, set[str]]:
    rows = connection.query(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s", args=(schema_name,)
    ).fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    return columns


def _made_before_the_marker(connection, schema_name: str) -> bool:
    columns = _columns(connection, schema_name)
    return all(
        table in columns and required <= columns[table] <= required | added
        for table, (required, added) in _PRE_MARKER_TABLES.items()
    )


def ownership(connection, schema_name: str, tables: list[str] | None) -> str:
    """"new" (no schema, or no tables), "ours" (marked), "ours before the marker" or "foreign"."""
    if tables is None:
        return "new"
    if _has_marker(connection, schema_name):
        return "ours"
    if not tables:
        return "new"
    return "ours before the marker" if _made_before_the_marker(connection, schema_name) else "foreign"


def write_marker(connection, schema_name: str) -> None:
    """Mark ``schema_name`` (which exists) as the pipeline's; safe to run twice, and from several processes."""
    table = connection.adapter.make_full_table_name(schema_name, MARKER_TABLE)
    connection.query(f"CREATE TABLE IF NOT EXISTS {table} (made_by varchar(64) NOT NULL PRIMARY KEY)")
    if connection.adapter.backend == "postgresql":
        connection.query(f"INSERT INTO {table} (made_by) VALUES (%s) ON CONFLICT DO NOTHING", args=(_MADE_BY,))
    else:
        connection.query(f"INSERT IGNORE INTO {table} (made_by) VALUES (%s)", args=(_MADE_BY,))


def referencing_schemas(connection, schema_name: str) -> list[str]:
    """Other schemas whose tables refer to a table of ``schema_name`` by foreign key."""
    adapter = connection.adapter
    rows = connection.query(adapter.find_downstream_schemas_sql(adapter.quote_string(schema_name))).fetchall()
    return sorted(row[0] for row in rows)
