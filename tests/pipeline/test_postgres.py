"""The pipeline on PostgreSQL (DJ_BACKEND=postgresql): entries, populate with jobs and checkpoints, load_model.

Runs in a subprocess, since a process holds one DataJoint connection and the other tests use MySQL/MariaDB.
"""

import subprocess
from pathlib import Path

from neural_cotraining.pipeline import database_settings, ensure_server
from tests.pipeline.postgres_script import run_on_postgresql

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


def test_pipeline_runs_on_postgresql():
    report = run_on_postgresql(SCRIPT)
    assert report["result"] == {"success_count": 1, "error_list": []}
    assert report["backend"] == "PostgreSQLAdapter"
    assert report["epochs"] == [1, 2, 3]
    assert report["checkpoints_left"] == 0
    assert report["same_weights"]


def test_a_stopped_local_postgresql_is_started():
    import glob

    settings = database_settings({"DJ_BACKEND": "postgresql", "DJ_USER": "postgres"})
    versions = [Path(path).name for path in glob.glob("/etc/postgresql/*")]
    assert versions, "the local PostgreSQL cluster is installed (neural-cotraining db installs it)"
    for version in versions:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "stop"], check=True, timeout=60)
    ready = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432"], capture_output=True, text=True)
    assert ready.returncode != 0  # really stopped
    assert ensure_server(settings).startswith("PostgreSQL ")
    ready = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432"], capture_output=True, text=True)
    assert ready.returncode == 0
