"""Which config hash a schema uses, recorded in the schema itself so that every process agrees.

The scheme is written into the comment of the ``*_hash`` columns of ``Dataset``, ``Model`` and ``Trainer`` when
they are declared, and read back from there by every later ``activate``: a worker that opens the schema without
being told hashes as the process that made it. Schemas made before the choice existed carry ``make_hash(config)``
and are ``typed``.
"""

from __future__ import annotations

from types import SimpleNamespace

from ...hashing import HASH_SCHEMES

__all__ = ["HashSchemeError", "hash_column_comment", "check_scheme_name", "recorded_scheme", "apply_hash_scheme"]

_COMMENTS = {"typed": "make_hash(config)", "nnfabrik": "make_hash(config), nnfabrik scheme"}
_KIND_TABLES = ("Dataset", "Model", "Trainer")


class HashSchemeError(ValueError):
    """An unknown hash scheme, or one that is not the scheme the schema records."""


def check_scheme_name(scheme: str | None) -> None:
    if scheme is not None and scheme not in HASH_SCHEMES:
        raise HashSchemeError(f"hash {scheme!r} is not one of {sorted(HASH_SCHEMES)}")


def hash_column_comment(scheme: str) -> str:
    return _COMMENTS[scheme]


def _scheme_of_comment(comment: str) -> str | None:
    return next((scheme for scheme, written in _COMMENTS.items() if written == comment.strip()), None)


def recorded_scheme(tables: SimpleNamespace, schema_name: str) -> str:
    """The scheme the schema's hash columns record; refuses columns that disagree or that name no scheme."""
    found = {}
    for name in _KIND_TABLES:
        table = getattr(tables, name)
        column = f"{table.kind}_hash"
        found[name] = _scheme_of_comment(table.heading.attributes[column].comment)
    schemes = set(found.values())
    if len(schemes) != 1 or None in schemes:
        described = ", ".join(f"{name}: {scheme or 'unknown'}" for name, scheme in found.items())
        raise HashSchemeError(f"schema {schema_name}: the hash columns record different or unknown hash schemes "
                              f"({described}); the comments of the *_hash columns say which")
    return schemes.pop()


def apply_hash_scheme(tables: SimpleNamespace, schema_name: str, requested: str | None) -> str:
    """Set the recorded scheme on the entry tables; refuses a ``requested`` scheme the schema does not record."""
    scheme = recorded_scheme(tables, schema_name)
    if requested is not None and requested != scheme:
        raise HashSchemeError(
            f"schema {schema_name} records hash {scheme!r}, not {requested!r}: a schema keeps the hash it was made "
            f"with (use hash: {scheme}, or a new schema for hash: {requested})"
        )
    for name in _KIND_TABLES:
        getattr(tables, name).hash_scheme = scheme
    return scheme
