"""The schema object ``activate()`` returns: a ``dj.Schema`` that keeps a lab's own tables from binding to ours.

DataJoint binds a class to an existing table of the same name without comparing definitions, so a lab's
``@schema class TrainedModel(TrainedModelBase)`` with extra columns would silently become the pipeline's
``TrainedModel`` and fail only at its first insert. Here a class named like a table ``activate()`` declared is
refused with one line saying so, and a class bound to an existing table that lacks columns its definition names
is refused likewise. ``schema.jobs`` also answers nnfabrik's spelling, ``(schema.jobs & "status='error'").delete()``.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import datajoint as dj

__all__ = ["PipelineSchema", "TableNameTakenError", "JobTables", "definition_attributes"]

_ATTRIBUTE_LINE = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(=|:)")


class TableNameTakenError(ValueError):
    """A user's table class whose name (or existing table) belongs to another definition."""


def definition_attributes(definition: str) -> list[str]:
    """The attribute names a DataJoint definition declares itself (not those of its foreign keys)."""
    names = []
    for line in definition.splitlines():
        line = line.split("#", 1)[0]
        if line.strip().startswith(("->", "---")):
            continue
        match = _ATTRIBUTE_LINE.match(line)
        if match:
            names.append(match.group(1))
    return names


class JobTables(list):
    """DataJoint 2.3's ``schema.jobs`` (a list with each table's job table) that also takes nnfabrik's spelling:
    ``schema.jobs & restriction`` restricts every job table, ``.delete()`` deletes the rows they hold."""

    def __and__(self, restriction: Any) -> "JobTables":
        return JobTables(job & restriction for job in self)

    def delete(self) -> None:
        for job in self:
            job.delete()


class PipelineSchema(dj.Schema):
    """``dj.Schema`` that refuses a class named like one of ``activate_tables`` (the tables ``activate()``
    declared) and a class whose existing table lacks columns its definition names."""

    activate_tables: frozenset = frozenset()
    activate_call = "activate()"  # how the refusal names the call that declared them

    def __call__(self, cls: type, *, context: dict | None = None) -> type:
        # the checks start once activate() has declared its own tables (an older schema of ours may lack columns
        # that activate(..., upgrade=True) adds afterwards)
        checking = bool(self.activate_tables)
        if checking and cls.__name__ in self.activate_tables:
            raise TableNameTakenError(
                f"{cls.__name__}: {self.activate_call} declared a table of that name in schema {self.database} "
                f"already, and a class of yours would bind to it with its columns; name yours differently, or "
                f"declare only the lookup tables with {self.activate_call[:-1]}, trained_model=False)"
            )
        context = context or self.context or inspect.currentframe().f_back.f_locals
        bound = super().__call__(cls, context=context)
        if checking:
            self._check_columns(bound)
        return bound

    def _check_columns(self, table: type) -> None:
        if not self.is_activated():
            return
        missing = [name for name in definition_attributes(table().definition) if name not in table.heading.names]
        if missing:
            raise TableNameTakenError(
                f"{table.__name__}: the table {table.full_table_name} exists already without {', '.join(missing)} "
                "(made from another definition); name your class differently, or drop that table"
            )

    @property
    def jobs(self) -> JobTables:
        return JobTables(super().jobs)
