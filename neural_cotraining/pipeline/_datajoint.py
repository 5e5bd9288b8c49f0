"""Every use of DataJoint's private API, in one place.

The pipeline needs five things DataJoint 2.3 has but does not export: the single-job step of ``populate``
(``AutoPopulate._populate1``, for long-lived workers that take one job at a time), the jobs table's own key
projection (``JobsTable._get_pk``), the configured default job priority, and the SQL ``WHERE`` clause of a key
(``datajoint.condition.make_condition``, for one-statement UPDATEs that DataJoint's ``update1`` cannot express:
server-side timestamps and a condition on the row's current status), and which ``datajoint.json`` and secrets
directory DataJoint loaded (``dj.config._config_path`` / ``_secrets_dir``, to say where the server came from). :func:`check_private_api` says in one line
what is missing when a DataJoint upgrade moves any of them; ``tests/pipeline/test_datajoint_private_api.py`` runs it.
"""

from __future__ import annotations

import datajoint as dj
from datajoint.autopopulate import AutoPopulate

__all__ = ["check_private_api", "populate_one", "has_single_job_step", "job_key", "default_job_priority", "update_row",
           "loaded_config_files"]


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
    if not (hasattr(dj.config, "_config_path") and hasattr(dj.config, "_secrets_dir")):
        missing.append("dj.config._config_path / _secrets_dir (where the connection settings came from)")
    if missing:
        raise RuntimeError(
            f"DataJoint {dj.__version__} lacks what neural_cotraining {__package__} uses: " + "; ".join(missing)
            + ". Install the DataJoint version pinned in pyproject.toml."
        )


def populate_one(table, key: dict, **kwargs):
    """DataJoint's single-job step: reserve ``key``, run the (tripartite) make, complete or record the error."""
    return table._populate1(key, table.jobs, **kwargs)


def has_single_job_step(table) -> bool:
    return callable(getattr(table, "_populate1", None))


def job_key(jobs, key: dict) -> dict:
    """``key`` projected onto the jobs table's primary key (as DataJoint stores it)."""
    return jobs._get_pk(key)


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
