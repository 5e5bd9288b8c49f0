"""Fixtures shared by all tests: a throwaway database schema per test that needs one."""

from __future__ import annotations

import uuid

import pytest

#: fixtures that open a database schema: a test using one needs a server and is marked ``db``
DATABASE_FIXTURES = {"pipeline", "schema_name"}


def pytest_collection_modifyitems(items):
    for item in items:
        if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


@pytest.fixture(autouse=True)
def builder_modules_allowed_per_test(monkeypatch):
    """An experiment file's builder modules stay allowed for the rest of a process; each test starts from the
    allow-list it would have alone."""
    from neural_cotraining import registry

    monkeypatch.setattr(registry, "_runtime_prefixes", list(registry._runtime_prefixes))


@pytest.fixture
def schema_name() -> str:
    return f"nct_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def pipeline(schema_name, monkeypatch):
    """The pipeline's tables in a fresh schema, dropped afterwards; the tests' builders are allow-listed."""
    from neural_cotraining.registry import BUILDER_MODULES_ENV
    from neural_cotraining.pipeline import activate

    monkeypatch.setenv(BUILDER_MODULES_ENV, "tests")
    tables = activate(schema_name)
    yield tables
    tables.schema.drop(prompt=False)
