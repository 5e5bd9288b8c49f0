"""The command on bad input: one line (and at most a hint line) on stderr naming the file, entry and key; a nonzero
exit; nothing in the database; results alone on stdout. And it never touches a schema that is not the pipeline's."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pymysql
import pytest

from neural_cotraining.cli import main
from tests.tiny_experiment import broken, regression, sgd, write_tiny_experiment

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def server():
    connection = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    yield connection.cursor()
    connection.close()


def schema_exists(cursor, name: str) -> bool:
    return cursor.execute("SHOW DATABASES LIKE %s", (name,)) == 1


def experiment(tmp_path, schema_name, **dataset_config) -> Path:
    return write_tiny_experiment(tmp_path, schema_name, datasets={"small": regression(**dataset_config)},
                                 trainers={"sgd": sgd(epochs=1), "broken": broken()})


def run(capsys, *arguments):
    code = main([str(a) for a in arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: ")), err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_nan_in_a_config_is_one_line_naming_file_entry_and_key(capsys, tmp_path, schema_name, server):
    path = experiment(tmp_path, schema_name, noise=float("nan"))
    code, out, err = run(capsys, "add", path)
    line = one_error_line(err)
    assert code == 1 and out == ""
    assert line == f"error: {path}: datasets.small.config['noise'] is nan: configs must hold finite numbers"
    assert not schema_exists(server, schema_name)


def test_yaml_syntax_error_names_the_file_and_line(capsys, tmp_path, schema_name, server):
    path = tmp_path / "broken.yaml"
    path.write_text(f"schema: {schema_name}\ndatasets:\n  a: {{fn: b\n  c: d\n")
    code, out, err = run(capsys, "add", path)
    line = one_error_line(err)
    assert code == 1 and out == ""
    assert line.startswith(f"error: {path} line 4, column 4: not valid YAML: ") and "<unicode string>" not in line
    assert not schema_exists(server, schema_name)


def test_populate_without_reserve_jobs_fails_when_a_job_fails(capsys, tmp_path, schema_name, monkeypatch):
    monkeypatch.setenv("NEURAL_COTRAINING_BUILDER_MODULES", "tests")
    path = experiment(tmp_path, schema_name)
    try:
        code, out, _ = run(capsys, "populate", path, "--add")
        assert code == 2
        failed = [line for line in out.splitlines() if line.startswith("  failed ")]
        assert failed == ["  failed small / linear / broken / seed 1: BrokenResultError: the trainer's score is nan; "
                          "nothing stored"]
        from neural_cotraining.pipeline import activate

        assert [row["trainer_hash"] for row in activate(schema_name).TrainedModel().to_dicts()] == [
            json.loads(line)["trainer_hash"] for line in run(capsys, "add", path)[1].splitlines()
            if json.loads(line)["trainer"] == "sgd"
        ]
    finally:
        from neural_cotraining.pipeline import drop_schema

        drop_schema(schema_name)


def test_add_prints_clean_json_lines_and_logs_on_stderr(tmp_path, schema_name):
    path = experiment(tmp_path, schema_name)
    environment = dict(os.environ, PYTHONPATH=str(ROOT), NEURAL_COTRAINING_BUILDER_MODULES="tests")
    environment.pop("DJ_LOG_STREAM", None)
    command = [sys.executable, "-m", "neural_cotraining.cli"]
    try:
        added = subprocess.run(command + ["add", str(path)], capture_output=True, text=True, env=environment,
                               timeout=120)
        assert added.returncode == 0, added.stderr[-2000:]
        keys = [json.loads(line) for line in added.stdout.splitlines()]
        # the connection line, on stderr once: the pipeline's, which says where the server came from
        assert len(keys) == 2 and added.stderr.count("database mysql://root@127.0.0.1:3306 (") == 1
        assert "connected" not in added.stderr and "not officially supported" not in added.stderr
    finally:
        subprocess.run(command + ["drop", schema_name, "--yes"], capture_output=True, env=environment, timeout=120)


# ---- never touch what is not ours ----
@pytest.fixture
def colleague_schema(server, schema_name):
    """A database a colleague made, with one table of subjects."""
    name = schema_name + "_colleague"
    server.execute(f"CREATE DATABASE {name}")
    server.execute(f"CREATE TABLE {name}.subjects (subject_id int PRIMARY KEY, species varchar(32))")
    server.execute(f"INSERT INTO {name}.subjects VALUES (1, 'macaque'), (2, 'mouse')")
    yield name
    server.execute(f"DROP DATABASE IF EXISTS {name}")


def colleague_intact(server, name) -> bool:
    server.execute(f"SHOW TABLES IN {name}")
    tables = server.fetchall()
    return tables == (("subjects",),) and server.execute(f"SELECT * FROM {name}.subjects") == 2


def test_drop_refuses_a_colleagues_schema(capsys, server, colleague_schema):
    code, out, err = run(capsys, "drop", colleague_schema, "--yes")
    line = one_error_line(err)
    assert code == 1 and out == ""
    assert line == (f"error: schema {colleague_schema} is not a pipeline's (activate did not make it and it does not "
                    "hold the pipeline's tables): not dropping it")
    assert colleague_intact(server, colleague_schema)


def test_activate_refuses_a_colleagues_schema_unless_told(server, colleague_schema):
    from neural_cotraining.pipeline import ForeignSchemaError, activate

    with pytest.raises(ForeignSchemaError, match="none of the pipeline's"):
        activate(colleague_schema)
    assert colleague_intact(server, colleague_schema)
    tables = activate(colleague_schema, allow_other_tables=True)  # users who keep their own tables beside ours
    assert len(tables.TrainedModel()) == 0
    server.execute(f"SELECT COUNT(*) FROM {colleague_schema}.subjects")
    assert server.fetchone() == (2,)


@pytest.mark.parametrize("name", ["mysql", "sys", "information_schema", "performance_schema", "MySQL", "pg_catalog",
                                  "public"])
def test_system_schemas_are_refused(capsys, server, name):
    server.execute("SELECT COUNT(*) FROM mysql.user")
    users = server.fetchone()
    server.execute("SHOW TABLES IN mysql")
    tables = server.fetchall()
    code, out, err = run(capsys, "drop", name, "--yes")
    assert code == 1 and out == ""
    assert one_error_line(err) == f"error: {name} is a system schema of the database server; the pipeline never " \
                                  "opens or drops it"
    from neural_cotraining.pipeline import ForeignSchemaError, activate

    with pytest.raises(ForeignSchemaError):
        activate(name)
    server.execute("SHOW TABLES IN mysql")
    assert server.fetchall() == tables
    server.execute("SELECT COUNT(*) FROM mysql.user")
    assert server.fetchone() == users


def test_drop_lists_tables_and_rows_before_asking(capsys, schema_name, server):
    from neural_cotraining.pipeline import activate

    activate(schema_name).Seed().insert([{"seed": 1}, {"seed": 2}])
    code, out, err = run(capsys, "drop", schema_name)  # not at a terminal, no --yes: refused after the listing
    assert code == 1 and one_error_line(err).endswith("needs --yes when not asked at a terminal")
    rows = dict(line.split() for line in out.splitlines()[2:])
    assert rows["seed"] == "2" and rows["trainer"] == "0" and "__trained_model" in rows
    assert schema_exists(server, schema_name)
    code, out, _ = run(capsys, "drop", schema_name, "--yes")
    assert code == 0 and out.splitlines()[-1] == f"dropped {schema_name}"
    assert not schema_exists(server, schema_name)
