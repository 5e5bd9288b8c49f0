"""Many plain rows in one ``INSERT``, for the rows the pipeline makes itself while a job trains and stores.

DataJoint's ``insert`` checks and encodes every row attribute by attribute (about 0.1 ms of CPU per row): for the
30-odd metric rows of each epoch and the thousand of a finished job that was most of the pipeline's own time per
job. Rows made here from a trainer's numbers (ints, strings, floats, None: no blobs, no defaults to fill) need none
of it; the server still checks the types and keys.
"""

from __future__ import annotations

from ..common.plain import from_numpy

__all__ = ["insert_rows"]


def insert_rows(table, rows: list[dict]) -> None:
    """Insert ``rows`` (dicts with the same plain-valued attributes of ``table``) with one statement; an attribute
    the table lacks raises KeyError before anything is sent."""
    if not rows:
        return
    names = list(rows[0])
    unknown = set(names) - set(table.heading.names)
    if unknown:
        raise KeyError(f"{table.full_table_name} has no attribute {', '.join(sorted(unknown))}")
    quote = table.adapter.quote_identifier
    placeholders = "(" + ", ".join(["%s"] * len(names)) + ")"
    table.connection.query(
        f"INSERT INTO {table.full_table_name} ({', '.join(quote(name) for name in names)}) VALUES "
        + ", ".join([placeholders] * len(rows)),
        args=[from_numpy(row[name]) for row in rows for name in names],
    )
