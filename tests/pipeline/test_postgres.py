"""The pipeline on PostgreSQL (DJ_BACKEND=postgresql): entries, populate with jobs and checkpoints, load_model.

Runs in a subprocess, since a process holds one DataJoint connection and the other tests use MySQL/MariaDB.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import sys
import uuid
from pathlib import Path

import pytest

from neural_cotraining.pipeline import database_settings, ensure_server
from neural_cotraining.pipeline.server_data_dir import stop_postgres

ROOT = Path(__file__).resolve().parents[2]
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


def test_pipeline_runs_on_postgresql():
    environment = dict(os.environ, DJ_BACKEND="postgresql", DJ_HOST="127.0.0.1", DJ_PORT="5432", DJ_USER="postgres",
                       DJ_PASS="", PYTHONPATH=str(ROOT), NEURAL_COTRAINING_BUILDER_MODULES="tests",
                       OMP_NUM_THREADS="1")
    ensure_server(database_settings(environment))
    schema = f"nct_pg_{uuid.uuid4().hex[:10]}"
    completed = subprocess.run([sys.executable, "-c", SCRIPT, schema], cwd=ROOT, env=environment,
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["result"] == {"success_count": 1, "error_list": []}
    assert report["backend"] == "PostgreSQLAdapter"
    assert report["epochs"] == [1, 2, 3]
    assert report["checkpoints_left"] == 0
    assert report["same_weights"]


def _postmaster_start_of_the_shared_server():
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_postmaster_start_time()")
        started = cursor.fetchone()[0]
    connection.close()
    return started


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
