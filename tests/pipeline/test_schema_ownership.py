"""Whose schema it is: a colleague's nnfabrik schema is never used or altered, a pipeline schema made before the
marker is still the pipeline's, and ``drop`` is all or nothing (MariaDB; PostgreSQL in test_postgres)."""

import pymysql
import pytest

from neural_cotraining.cli import main
from neural_cotraining.pipeline import ForeignSchemaError, SchemaOutdatedError, activate, drop_plan, drop_schema
from neural_cotraining.pipeline.schema_rules.marker import MARKER_TABLE
from tests.tiny_experiment import regression, sgd, write_tiny_experiment

pytestmark = pytest.mark.db

KEY = ("model_fn varchar(64), model_hash varchar(64), dataset_fn varchar(64), dataset_hash varchar(64), "
       "trainer_fn varchar(64), trainer_hash varchar(64), seed int")
KEY_COLUMNS = "model_fn, model_hash, dataset_fn, dataset_hash, trainer_fn, trainer_hash, seed"
# nnfabrik's tables (nnfabrik/main.py, templates/trained_model.py), as a colleague's notebook made them
NNFABRIK = [
    "CREATE TABLE {s}.fabrikant (fabrikant_name varchar(32) PRIMARY KEY, full_name varchar(128), email varchar(64), "
    "affiliation varchar(32), dj_username varchar(64))",
    "CREATE TABLE {s}.seed (seed int PRIMARY KEY)",
    *[f"CREATE TABLE {{s}}.{kind} ({kind}_fn varchar(64), {kind}_hash varchar(64), {kind}_config longblob, "
      f"{kind}_fabrikant varchar(32), {kind}_comment varchar(256), {kind}_ts timestamp DEFAULT CURRENT_TIMESTAMP, "
      f"PRIMARY KEY ({kind}_fn, {kind}_hash), FOREIGN KEY ({kind}_fabrikant) REFERENCES {{s}}.fabrikant (fabrikant_name))"
      for kind in ("dataset", "model", "trainer")],
    f"CREATE TABLE {{s}}.__trained_model ({KEY}, comment varchar(768), score float, output longblob, "
    f"fabrikant_name varchar(32), trainedmodel_ts timestamp DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY ({KEY_COLUMNS}))",
    f"CREATE TABLE {{s}}.__trained_model__model_storage ({KEY}, model_state longblob, PRIMARY KEY ({KEY_COLUMNS}))",
    "INSERT INTO {s}.fabrikant VALUES ('colleague', 'A Colleague', 'a@lab', 'lab', 'colleague')",
]


@pytest.fixture
def server():
    connection = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    yield connection.cursor()
    connection.close()


def definitions(server, schema: str) -> dict[str, str]:
    server.execute(f"SHOW TABLES IN {schema}")
    names = [row[0] for row in server.fetchall()]
    made = {}
    for name in names:
        server.execute(f"SHOW CREATE TABLE {schema}.`{name}`")
        made[name] = server.fetchone()[1]
    return made


@pytest.fixture
def nnfabrik_schema(server, schema_name):
    name = schema_name + "_nnfabrik"
    server.execute(f"CREATE DATABASE {name}")
    for statement in NNFABRIK:
        server.execute(statement.format(s=name))
    yield name
    server.execute(f"DROP DATABASE IF EXISTS {name}")


@pytest.mark.parametrize("options", [{}, {"allow_other_tables": True}, {"upgrade": True},
                                     {"allow_other_tables": True, "upgrade": True}])
def test_a_colleagues_nnfabrik_schema_is_refused_before_anything_is_declared(server, nnfabrik_schema, options):
    before = definitions(server, nnfabrik_schema)
    with pytest.raises(ForeignSchemaError, match=rf"^schema {nnfabrik_schema} holds tables named as the pipeline's "
                                                 r"\(__trained_model, dataset, fabrikant, model, seed, trainer\) "
                                                 "that it did not make: not using or changing them"):
        activate(nnfabrik_schema, **options)
    assert definitions(server, nnfabrik_schema) == before  # no table added, none altered
    with pytest.raises(ForeignSchemaError, match="is not a pipeline's"):
        drop_plan(nnfabrik_schema)
    assert definitions(server, nnfabrik_schema) == before


def test_the_cli_refuses_to_add_to_or_drop_a_colleagues_nnfabrik_schema(capsys, server, nnfabrik_schema, tmp_path):
    before = definitions(server, nnfabrik_schema)
    path = write_tiny_experiment(tmp_path, nnfabrik_schema, datasets={"small": regression(n_samples=8)},
                                 trainers={"sgd": sgd(epochs=1)})
    for arguments in (["add", str(path)], ["drop", nnfabrik_schema, "--yes"]):
        assert main(arguments) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"error: schema {nnfabrik_schema} "), err
    assert definitions(server, nnfabrik_schema) == before


def marked(server, schema: str) -> bool:
    return server.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
                          (schema, MARKER_TABLE)) == 1


def test_activate_marks_its_schema(server, pipeline, schema_name):
    assert marked(server, schema_name)
    server.execute(f"SELECT made_by FROM {schema_name}.`{MARKER_TABLE}`")
    assert server.fetchall() == (("neural_cotraining",),)
    assert drop_plan(schema_name)  # and drop takes it as the pipeline's


def test_a_pipeline_schema_made_before_the_marker_is_recognised_marked_and_upgraded(server, schema_name, monkeypatch):
    monkeypatch.setenv("NEURAL_COTRAINING_BUILDER_MODULES", "tests")
    activate(schema_name).Seed().insert1({"seed": 3})
    server.execute(f"DROP TABLE {schema_name}.`{MARKER_TABLE}`")  # as versions before the marker left it
    server.execute(f"ALTER TABLE {schema_name}.__trained_model DROP COLUMN comment")  # and an older one at that
    try:
        with pytest.raises(SchemaOutdatedError, match="TrainedModel lacks comment"):
            activate(schema_name)
        assert marked(server, schema_name)
        tables = activate(schema_name, upgrade=True)
        assert "comment" in tables.TrainedModel.heading.names and len(tables.Seed()) == 1
    finally:
        drop_schema(schema_name)


@pytest.fixture
def referring_schema(server, pipeline, schema_name):
    """A lab schema whose table refers to the pipeline's Seed table (the "tables of your own" layout)."""
    name = schema_name + "_lab"
    pipeline.Seed().insert1({"seed": 1})
    server.execute(f"CREATE DATABASE {name}")
    server.execute(f"CREATE TABLE {name}.sessions (seed int, note varchar(8), PRIMARY KEY (seed), "
                   f"FOREIGN KEY (seed) REFERENCES {schema_name}.seed (seed))")
    server.execute(f"INSERT INTO {name}.sessions VALUES (1, 'kept')")
    yield name
    server.execute(f"DROP DATABASE IF EXISTS {name}")


def test_drop_refuses_a_schema_other_schemas_refer_to_and_drops_nothing(capsys, server, schema_name,
                                                                         referring_schema):
    before = definitions(server, schema_name)
    expected = (f"schema {schema_name} is referred to by tables in {referring_schema}: drop that schema first; "
                "nothing was dropped")
    with pytest.raises(ForeignSchemaError, match=f"^{expected}$"):
        drop_schema(schema_name)
    assert main(["drop", schema_name, "--yes"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [f"error: {expected}"]
    assert definitions(server, schema_name) == before
    server.execute(f"SELECT COUNT(*) FROM {schema_name}.seed")
    assert server.fetchone() == (1,)
    server.execute(f"DROP DATABASE {referring_schema}")
    drop_schema(schema_name)  # with the reference gone, all of it goes
    assert server.execute("SHOW DATABASES LIKE %s", (schema_name,)) == 0


def test_the_table_names_the_guard_protects_are_the_declared_ones(server, pipeline, schema_name):
    from neural_cotraining.pipeline.tables import TABLE_NAMES_IN_DATABASE

    declared = set(definitions(server, schema_name)) - {MARKER_TABLE, "~lineage"}
    assert declared == set(TABLE_NAMES_IN_DATABASE)
