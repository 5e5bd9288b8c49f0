"""Every CLI subcommand against the real database, on the tiny builder trio."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from neural_cotraining.cli import main
from tests.tiny_experiment import broken, sgd, write_tiny_experiment

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def experiment_file(tmp_path, schema_name, monkeypatch):
    monkeypatch.setenv("NEURAL_COTRAINING_BUILDER_MODULES", "tests")
    path = write_tiny_experiment(tmp_path, schema_name, seeds=[1, 2], trainers={"sgd": sgd(), "broken": broken()})
    yield path
    from neural_cotraining.pipeline import activate

    activate(schema_name).schema.drop(prompt=False)


def run(capsys, *arguments):
    code = main([str(a) for a in arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.db
def test_db_reports_where_and_the_version(capsys):
    code, out, _ = run(capsys, "db")
    assert code == 0
    assert out.startswith("database answers at mysql://root@127.0.0.1:3306 (host, port, user from the local default): ")


def test_add_populate_status_results_plot(capsys, experiment_file, tmp_path):
    code, out, _ = run(capsys, "add", experiment_file)
    keys = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(keys) == 4
    assert {(k["trainer"], k["seed"]) for k in keys} == {("sgd", 1), ("sgd", 2), ("broken", 1), ("broken", 2)}

    code, out, _ = run(capsys, "status", experiment_file)
    assert "jobs: 4 | done 0 |" in out and "not started 4" in out

    code, out, _ = run(capsys, "populate", experiment_file, "--reserve-jobs")
    assert code == 2  # two jobs failed, and say so
    assert "jobs: 4 | done 2 | pending 0 | reserved 0 | errors 2" in out
    assert out.count("error in small / linear / broken / seed") == 2
    assert "score is nan; nothing stored" in out

    code, out, _ = run(capsys, "results", experiment_file, "--csv", tmp_path / "r.csv", "--json", tmp_path / "r.json")
    assert code == 0
    header, *lines = out.splitlines()
    assert header.split()[:5] == ["dataset", "model", "trainer", "seed", "score"]
    assert len(lines) == 2
    with open(tmp_path / "r.csv") as handle:
        table = list(csv.DictReader(handle))
    assert [row["seed"] for row in table] == ["1", "2"]
    assert json.loads((tmp_path / "r.json").read_text())[0]["trainer"] == "sgd"

    code, out, _ = run(capsys, "plot", experiment_file, "--output", tmp_path / "plots")
    png = Path(out.strip())
    assert code == 0 and png.name == "small__linear__sgd.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_populate_with_worker_processes(capsys, experiment_file):
    code, out, _ = run(capsys, "populate", experiment_file, "--workers", "2", "--add")
    assert "done 2 |" in out and "errors 2" in out


def test_drop_asks_first(experiment_file, schema_name):
    from neural_cotraining.pipeline import activate

    activate(schema_name)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "neural_cotraining.cli", "drop", schema_name]
    refused = subprocess.run(command, input="", capture_output=True, text=True, env=env, timeout=120)
    assert refused.returncode == 1 and "needs --yes" in refused.stderr
    dropped = subprocess.run(command + ["--yes"], capture_output=True, text=True, env=env, timeout=120)
    assert dropped.returncode == 0 and f"dropped {schema_name}" in dropped.stdout


@pytest.mark.parametrize(
    "content, message",
    [
        ("seeds: [1]\n", "'datasets' must map labels"),
        ("schema: x\ndatasets: {a: {fn: os.system}}\nmodels: {m: {fn: a.b}}\ntrainers: {t: {fn: a.b}}\n", "allow-list"),
        ("schema: x\nbogus: 1\n", "unknown keys ['bogus']"),
        ("schema: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_experiment_files_give_one_clear_error(capsys, tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    code, out, err = run(capsys, "add", path)
    assert code == 1
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err
    import pymysql

    connection = pymysql.connect(host="127.0.0.1", user="root", password="")
    with connection.cursor() as cursor:
        assert cursor.execute("SHOW DATABASES LIKE 'x'") == 0  # nothing created for a refused file
    connection.close()


def test_missing_experiment_file(capsys, tmp_path):
    code, _, err = run(capsys, "status", tmp_path / "nope.yaml")
    assert code == 1 and "no such experiment file" in err


def test_status_shows_how_far_checkpointed_jobs_got(capsys, experiment_file, schema_name):
    from neural_cotraining.pipeline import activate
    from neural_cotraining.pipeline.jobs.checkpoints import CheckpointStore

    code, out, _ = run(capsys, "add", experiment_file)
    key = next(json.loads(line) for line in out.splitlines() if '"trainer": "sgd"' in line and '"seed": 1' in line)
    key = {name: value for name, value in key.items() if name not in ("dataset", "model", "trainer")}
    tables = activate(schema_name)
    store = CheckpointStore(tables.Checkpoint, key)
    for epoch in (2, 3):
        store.save(epoch, {"epoch": epoch})
    code, out, _ = run(capsys, "status", experiment_file)
    assert "checkpoint of small / linear / sgd / seed 1 at epoch 3" in out
    assert out.count("checkpoint of") == 1
