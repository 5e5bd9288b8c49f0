"""Bad values are refused at ``add`` (the co-trainer's and the shipped builders' value checks), in one line naming
the file, the entry and the key, with nothing written: not 20 s into a job."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from neural_cotraining.registry import ConfigValueError, check_entry
from tests.tiny_experiment import COTRAINER, cotrainer, entry, write_tiny_experiment

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("config, problem", [
    ({"lr": "fast"}, "lr must be a finite number, got 'fast'"),
    ({"max_epochs": 0}, "max_epochs must be >= 1, got 0"),
    ({"patience": 2.5}, "patience must be an int or None, got 2.5"),
    ({"cycler": "round_robin"}, "unknown cycler 'round_robin'"),
    ({"optimizer": "adagrad"}, "unknown optimizer 'adagrad'"),
    ({"loss_weighting": "magic"}, "unknown loss_weighting 'magic'"),
    ({"loss_functions": {"neural": "poisson_exact"}}, "loss_functions['neural']: unknown loss 'poisson_exact'"),
    ({"restore_best": "yes"}, "restore_best must be true or false, got 'yes'"),
])
def test_the_cotrainers_value_checks_run_when_an_entry_is_checked(config, problem):
    with pytest.raises(ConfigValueError, match=re.escape(problem)):
        check_entry(COTRAINER, config, "trainer")


def test_good_cotrainer_and_model_values_pass():
    check_entry(COTRAINER, {"lr": 0.01, "max_epochs": 3, "patience": None, "loss_weighting": "likelihood"}, "trainer")
    check_entry("neural_cotraining.models.builders.multitask_model", {"dropout": 0.2, "readout_type": "factorized"},
                "model")


def test_the_models_value_checks_run_when_an_entry_is_checked():
    with pytest.raises(ConfigValueError, match=r"dropout must be a number in \[0, 1\), got 2"):
        check_entry("neural_cotraining.models.builders.multitask_model", {"dropout": 2}, "model")


@pytest.mark.db
def test_add_refuses_a_bad_value_in_one_line_and_writes_nothing(tmp_path, schema_name):
    path = write_tiny_experiment(
        tmp_path, schema_name,
        datasets={"digits": entry("neural_cotraining.dataset.builders.digits_loaders", image_size=16)},
        models={"vgg": entry("neural_cotraining.models.builders.multitask_model", block_channels=[8])},
        trainers={"quick": cotrainer(max_epochs=2), "fast": cotrainer(max_epochs=2, lr="fast")})
    environment = {name: value for name, value in os.environ.items() if not name.startswith("DJ_")}
    result = subprocess.run([sys.executable, "-m", "neural_cotraining.cli", "add", str(path)], capture_output=True,
                            text=True, env=dict(environment, PYTHONPATH=str(ROOT)), timeout=180)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"error: {path}: trainers.fast: trainer builder {COTRAINER}: lr must be a finite number, got 'fast'"]
    from neural_cotraining.pipeline import connect

    connection = connect()
    assert not connection.query(connection.adapter.schema_exists_sql(schema_name)).rowcount
