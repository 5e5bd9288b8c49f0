"""The pipeline on PostgreSQL (DJ_BACKEND=postgresql): entries, populate with jobs and checkpoints, load_model.

Runs in a subprocess, since a process holds one DataJoint connection and the other tests use MySQL/MariaDB.
"""

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from neural_cotraining.pipeline import database_settings, ensure_server
from neural_cotraining.pipeline.server.data_dir import stop_postgres
from tests.pipeline.postgres_script import fresh_schema_name, query, run_on_postgresql

SCRIPT = """
import json, sys
import torch
from neural_cotraining.pipeline import activate
from tests.pipeline import tiny_builders
tables = activate(sys.argv[1])
try:
    tables.Dataset().add_entry(tiny_builders.random_regression, {"n_samples": 32})
    tables.Model().add_entry(tiny_builders.linear_model, {"hidden": 4})
    tables.Trainer().add_entry("neural_cotraining.trainer.builders.cotrainer", {
        "max_epochs": 3, "checkpoint_every": 1, "loss_functions": {"regression": "mse"}, "verbose": False})
    tables.Seed().insert1({"seed": 2})
    result = tables.TrainedModel().populate(reserve_jobs=True)
    loaders, model = tables.TrainedModel().load_model()
    reference_loaders = tiny_builders.random_regression(seed=2, n_samples=32)
    reference = tiny_builders.linear_model(reference_loaders, seed=2, hidden=4)
    from neural_cotraining.trainer import cotrainer
    _, _, state = cotrainer(reference, reference_loaders, seed=2, max_epochs=3, loss_functions={"regression": "mse"},
                            verbose=False)
    print(json.dumps({
        "result": result,
        "backend": tables.schema.connection.adapter.__class__.__name__,
        "epochs": sorted(set(tables.TrainedModel.EpochMetric().to_arrays("epoch").tolist())),
        "checkpoints_left": len(tables.Checkpoint()),
        "same_weights": all(torch.equal(model.state_dict()[k], v) for k, v in state.items()),
    }))
finally:
    tables.schema.drop(prompt=False)
"""


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.db
def test_pipeline_runs_on_postgresql():
    report = run_on_postgresql(SCRIPT)
    assert report["result"] == {"success_count": 1, "error_list": []}
    assert report["backend"] == "PostgreSQLAdapter"
    assert report["epochs"] == [1, 2, 3]
    assert report["checkpoints_left"] == 0
    assert report["same_weights"]


def _postmaster_start_of_the_shared_server():
    return query("SELECT pg_postmaster_start_time()")[0][0]


@pytest.mark.db
def test_a_stopped_local_postgresql_is_started():
    """On a throwaway server of the test's own (data directory, socket, port); the shared server keeps running."""
    shared_started = _postmaster_start_of_the_shared_server()
    data_dir = Path(tempfile.mkdtemp(prefix="nct_postgres_"))
    port = _unused_port()
    settings = database_settings({"DJ_BACKEND": "postgresql", "DJ_USER": "postgres", "DJ_PORT": str(port)})
    try:
        ensure_server(settings, data_dir=data_dir)  # a fresh data directory: made and started
        assert stop_postgres(data_dir)
        ready = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", str(port)], capture_output=True, text=True)
        assert ready.returncode != 0  # really stopped
        assert ensure_server(settings, data_dir=data_dir).startswith("PostgreSQL ")
        ready = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", str(port)], capture_output=True, text=True)
        assert ready.returncode == 0
        assert (data_dir / "postmaster.pid").read_text().splitlines()[3] == str(port)
    finally:
        stop_postgres(data_dir)
        shutil.rmtree(data_dir)
    assert _postmaster_start_of_the_shared_server() == shared_started


FAULTS_SCRIPT = """
import json, sys
import psycopg2, yaml
from neural_cotraining.configs import experiment_from_dict
from neural_cotraining.pipeline import ForeignSchemaError, activate, drop_schema
from neural_cotraining.pipeline.experiments import add_experiment, check_experiment
schema, lab, text, long_text = sys.argv[1:5]
report = {}
raw = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
raw.autocommit = True
cursor = raw.cursor()
def count(table):
    cursor.execute(f'SELECT COUNT(*) FROM "{schema}"."{table}"')
    return cursor.fetchone()[0]
tables = activate(schema)
cursor.execute("SELECT made_by FROM \\"" + schema + "\\".\\"~neural_cotraining\\"")
report["marker"] = cursor.fetchall()
try:
    check_experiment(experiment_from_dict(yaml.safe_load(long_text)))
except ValueError as error:
    report["too_long"] = str(error)
cursor.execute(f'CREATE FUNCTION "{schema}".refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '
               f"'seeds refused by the test'; END $$ LANGUAGE plpgsql")
cursor.execute(f'CREATE TRIGGER refuse_seeds BEFORE INSERT ON "{schema}".seed FOR EACH ROW EXECUTE FUNCTION "{schema}".refuse()')
experiment = experiment_from_dict(yaml.safe_load(text))
try:
    add_experiment(tables, experiment)
except Exception as error:
    report["refused"] = "seeds refused by the test" in str(error)
report["rows_after_refusal"] = [count(t) for t in ("fabrikant", "dataset", "model", "trainer", "seed")]
cursor.execute(f'DROP TRIGGER refuse_seeds ON "{schema}".seed')
add_experiment(tables, experiment)
report["rows_after_add"] = [count(t) for t in ("fabrikant", "dataset", "model", "trainer", "seed")]
cursor.execute(f'CREATE SCHEMA "{lab}"')
cursor.execute(f'CREATE TABLE "{lab}".sessions (seed int PRIMARY KEY REFERENCES "{schema}".seed (seed))')
try:
    drop_schema(schema)
except ForeignSchemaError as error:
    report["drop"] = str(error)
cursor.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s", (schema,))
report["tables_after_refused_drop"] = cursor.fetchone()[0]
cursor.execute("SELECT COUNT(*) FROM information_schema.table_constraints WHERE table_schema = %s "
               "AND constraint_type = 'FOREIGN KEY'", (lab,))
report["lab_references"] = cursor.fetchone()[0]
cursor.execute(f'DROP SCHEMA "{lab}" CASCADE')
drop_schema(schema)
cursor.execute("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = %s", (schema,))
report["schema_left"] = cursor.fetchone()[0]
print(json.dumps(report))
"""


@pytest.mark.db
def test_add_is_checked_and_one_transaction_and_drop_all_or_nothing_on_postgresql():
    from tests.pipeline.test_add_limits import experiment_text

    schema = fresh_schema_name()
    arguments = [schema + "_lab", experiment_text(schema), experiment_text(schema, trainer_comment="c" * 300)]
    report = run_on_postgresql(FAULTS_SCRIPT, *arguments, schema=schema)
    assert report["marker"] == [["neural_cotraining"]]
    assert report["too_long"] == "trainers.sgd.comment is 300 characters long; the database column holds at most 256"
    assert report["refused"] and report["rows_after_refusal"] == [0, 0, 0, 0, 0]
    assert report["rows_after_add"] == [1, 1, 1, 1, 2]
    assert report["drop"] == (f"schema {schema} is referred to by tables in {schema}_lab: drop that schema first; "
                              "nothing was dropped")
    assert report["tables_after_refused_drop"] > 10 and report["lab_references"] == 1  # CASCADE would have cut it
    assert report["schema_left"] == 0
