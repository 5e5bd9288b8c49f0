"""``neural-cotraining search FILE`` on MariaDB, with the tiny builders."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neural_cotraining.cli import main
from neural_cotraining.pipeline import activate, connect
from neural_cotraining.pipeline.schema_rules.guard import schema_tables
from neural_cotraining.search.search_file import load_search_file

ROOT = Path(__file__).resolve().parents[2]
SEARCH = """
schema: {schema}
builder_modules: [tests]
search:
  method: {method}
  trials: 3
  optimizer_seed: 4
  dataset: {{fn: tests.pipeline.tiny_builders.random_regression, config: {{n_samples: 32}}}}
  model:
    fn: tests.pipeline.tiny_builders.linear_model
    config_auto: {{hidden: {{type: choice, values: [2, 4, 8]}}}}
  trainer:
    fn: tests.pipeline.tiny_builders.sgd_trainer
    config: {{epochs: 2}}
    config_auto: {{{auto}: {{type: range, bounds: [0.001, 0.3], log_scale: true}}}}
"""


@pytest.fixture
def search_file(tmp_path, schema_name, monkeypatch):
    monkeypatch.setenv("NEURAL_COTRAINING_BUILDER_MODULES", "tests")

    def write(method="bayesian", auto="lr"):
        path = tmp_path / "search.yaml"
        path.write_text(SEARCH.format(schema=schema_name, method=method, auto=auto))
        return path

    return write


@pytest.fixture
def dropped_afterwards(schema_name):
    """The schema a command makes, dropped after the test (if it was made)."""
    yield schema_name
    if schema_tables(connect(), schema_name) is not None:
        activate(schema_name).schema.drop(prompt=False)


@pytest.mark.db
def test_search_runs_the_file_and_a_rerun_resumes(search_file, dropped_afterwards, schema_name, capsys):
    path = search_file()
    assert main(["search", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["trial", "state", "score", "params"]
    assert sum(line.split()[1:2] == ["complete"] for line in out.splitlines()) == 3
    assert "best score" in out.splitlines()[-1]
    tables = activate(schema_name)
    assert len(tables.TrainedModel()) == 3
    assert main(["search", str(path), "--trials", "4"]) == 0  # the same search, one trial more
    assert len(tables.TrainedModel()) == 4


@pytest.mark.db
def test_a_bad_file_is_one_line_and_touches_no_database(search_file, dropped_afterwards, schema_name, capsys):
    path = search_file(auto="learning_rate")
    assert main(["search", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {path}: search.trainer: trainer builder tests.pipeline.tiny_builders.sgd_trainer does "
                   "not accept config keys ['learning_rate']; accepted keys: ['epochs', 'fail_at_epoch', 'lr']"]
    assert schema_tables(connect(), schema_name) is None


@pytest.mark.parametrize("change, message", [
    (("method: bayesian", "method: grid"), "search.method must be one of ['bayesian', 'random'], not 'grid'"),
    (("trials: 3", "trials: 0"), "search.trials must be a positive integer, not 0"),
    (("log_scale: true", "log_scale: true, step: 2"), "parameter trainer.lr: unknown keys ['step']"),
    (("schema:", "datasets: {}\nschema:"), "unknown keys ['datasets']; allowed: ['builder_modules', 'hash', "),
])
def test_file_errors_name_the_file_and_key(search_file, change, message):
    path = search_file()
    path.write_text(path.read_text().replace(*change, 1))
    with pytest.raises(ValueError) as caught:
        load_search_file(path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)


SLOW_SEARCH = """
schema: {schema}
builder_modules: [tests]
search:
  method: random
  trials: 2
  optimizer_seed: 1
  dataset: {{fn: tests.pipeline.tiny_builders.slow_regression, config: {{n_samples: 16, delay: 0.05}}}}
  model: {{fn: tests.pipeline.tiny_builders.linear_model}}
  trainer:
    fn: neural_cotraining.trainer.builders.cotrainer
    config: {{max_epochs: 3, checkpoint_every: 1, loss_functions: {{regression: mse}}, verbose: false}}
    config_auto: {{lr: {{type: range, bounds: [0.001, 0.1], log_scale: true}}}}
"""


@pytest.mark.db
def test_ctrl_c_hands_the_trial_back_and_a_rerun_resumes(search_file, dropped_afterwards, schema_name):
    """An interrupt is not a failure: the trial in training goes back to the queue, no error row, exit 0. (SIGTERM
    takes the same way: the long-lived worker's stop request, tests/pipeline/test_long_lived_worker.py.)"""
    path = search_file()
    path.write_text(SLOW_SEARCH.format(schema=schema_name))
    environment = {**os.environ, "NEURAL_COTRAINING_BUILDER_MODULES": "tests", "OMP_NUM_THREADS": "1",
                   "PYTHONPATH": str(ROOT)}
    driver = subprocess.Popen([sys.executable, "-m", "neural_cotraining.cli", "search", str(path)], cwd=ROOT,
                              env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    made = _wait_for(lambda: any(name.endswith("hyper_search_trial") for name in
                                 schema_tables(connect(), schema_name) or []))  # the driver has made every table
    assert made, "the driver never started its search"
    tables = activate(schema_name)
    assert _wait_for(lambda: len(tables.Checkpoint()) > 0), "the first trial never reached a checkpoint"
    driver.send_signal(signal.SIGINT)
    out, err = driver.communicate(timeout=120)
    assert driver.returncode == 0, err[-2000:]
    assert "went back to the queue" in err
    jobs = tables.TrainedModel().jobs
    assert len(jobs.errors) == 0 and len(tables.TrainedModel()) == 0
    assert [row["status"] for row in jobs.to_dicts()] == ["pending"]

    assert main(["search", str(path)]) == 0  # resumes the trial from its checkpoint, then the second
    assert len(tables.TrainedModel()) == 2 and len(jobs.errors) == 0


def _wait_for(condition, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False
