"""A schema with nnfabrik's config hash (``activate(..., hash="nnfabrik")``), recorded in the schema."""

import os
import subprocess
import sys
import warnings

import pytest

from neural_cotraining.registry import BUILDER_MODULES_ENV
from neural_cotraining.configs import experiment_from_dict, load_experiment
from neural_cotraining.pipeline import activate
from neural_cotraining.pipeline.entries import HashCollisionWarning
from neural_cotraining.pipeline.experiments import add_experiment
from neural_cotraining.pipeline.schema_rules.hash_scheme import HashSchemeError
from tests.tiny_experiment import TINY_BUILDERS, entry, regression, write_tiny_experiment

REGRESSION = "tests.pipeline.tiny_builders.random_regression"
NNFABRIK_BATCH_SIZE_64 = "9aee736870714f8b7c3cc084087ce886"  # nnfabrik's make_hash(dict(batch_size=64))


@pytest.fixture
def nnfabrik_schema(schema_name, monkeypatch):
    monkeypatch.setenv(BUILDER_MODULES_ENV, "tests")
    tables = activate(schema_name, hash="nnfabrik")
    yield tables
    tables.schema.drop(prompt=False)


@pytest.mark.db
def test_entries_are_found_by_nnfabriks_hash(nnfabrik_schema):
    key = nnfabrik_schema.Dataset().add_entry(REGRESSION, dict(batch_size=64))
    assert key["dataset_hash"] == NNFABRIK_BATCH_SIZE_64
    found = (nnfabrik_schema.Dataset() & {"dataset_hash": NNFABRIK_BATCH_SIZE_64}).to_dicts()
    assert [row["dataset_config"] for row in found] == [{"batch_size": 64}]


@pytest.mark.db
def test_the_scheme_is_recorded_so_another_process_hashes_alike(nnfabrik_schema, schema_name):
    nnfabrik_schema.Dataset().add_entry(REGRESSION, dict(batch_size=64))
    script = (
        "from neural_cotraining.pipeline import activate\n"
        f"tables = activate({schema_name!r})\n"  # not told the scheme: reads it from the schema
        f"print(tables.Dataset().add_entry({REGRESSION!r}, dict(batch_size=64))['dataset_hash'])\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={**os.environ, BUILDER_MODULES_ENV: "tests"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == NNFABRIK_BATCH_SIZE_64  # DataJoint may log to stdout before it
    assert len(nnfabrik_schema.Dataset()) == 1


@pytest.mark.db
def test_a_schema_keeps_its_scheme(nnfabrik_schema, schema_name):
    with pytest.raises(HashSchemeError, match=f"schema {schema_name} records hash 'nnfabrik', not 'typed'"):
        activate(schema_name, hash="typed")


@pytest.mark.db
def test_the_default_is_the_typed_hash(pipeline, schema_name):
    key = pipeline.Dataset().add_entry(REGRESSION, dict(batch_size=64))
    assert key["dataset_hash"] != NNFABRIK_BATCH_SIZE_64
    assert activate(schema_name).Dataset.hash_scheme == "typed"
    with pytest.raises(HashSchemeError, match="records hash 'typed', not 'nnfabrik'"):
        activate(schema_name, hash="nnfabrik")


def test_an_unknown_scheme_is_refused_before_anything_is_made(schema_name):  # before connecting: no server needed
    with pytest.raises(HashSchemeError, match="hash 'md5' is not one of"):
        activate(schema_name, hash="md5")


@pytest.mark.db
def test_a_collision_warns_naming_both_configs(nnfabrik_schema):
    model = nnfabrik_schema.Model()
    first = model.add_entry("tests.pipeline.tiny_builders.linear_model", {"hidden": 4})
    with pytest.warns(HashCollisionWarning) as caught:
        second = model.add_entry("tests.pipeline.tiny_builders.linear_model", {"hidden": "4"})
    assert first == second
    message = str(caught[0].message)
    assert "{'hidden': '4'}" in message and "{'hidden': 4}" in message and first["model_hash"] in message
    assert len(model) == 1


@pytest.mark.db
def test_the_same_config_again_does_not_warn(nnfabrik_schema):
    trainer = nnfabrik_schema.Trainer()
    trainer.add_entry("tests.pipeline.tiny_builders.sgd_trainer", {"lr": 0.1})
    with warnings.catch_warnings():
        warnings.simplefilter("error", HashCollisionWarning)
        trainer.add_entry("tests.pipeline.tiny_builders.sgd_trainer", {"lr": 0.1})


@pytest.mark.db
def test_an_experiment_file_names_the_scheme(schema_name, monkeypatch):
    monkeypatch.setenv(BUILDER_MODULES_ENV, "tests")
    experiment = experiment_from_dict({
        "schema": schema_name, "hash": "nnfabrik", "seeds": [1],
        "datasets": {"d": {"fn": REGRESSION, "config": {"batch_size": 64}}},
        "models": {"m": {"fn": "tests.pipeline.tiny_builders.linear_model"}},
        "trainers": {"t": {"fn": "tests.pipeline.tiny_builders.sgd_trainer"}},
    })
    tables = activate(schema_name, hash=experiment.hash)
    try:
        [job] = add_experiment(tables, experiment)
        assert job["key"]["dataset_hash"] == NNFABRIK_BATCH_SIZE_64
    finally:
        tables.schema.drop(prompt=False)


@pytest.mark.db
def test_a_trained_model_named_by_its_labels_is_found_under_nnfabriks_hash(schema_name, monkeypatch, tmp_path):
    """A dataset names a model of the same file by its labels; the file's ``hash: nnfabrik`` makes that the key the
    schema stores (under the typed hash the entry would name no trained model and be refused at add)."""
    monkeypatch.setenv(BUILDER_MODULES_ENV, "tests")
    labels = {"dataset": "small", "model": "linear", "trainer": "sgd", "seed": 1}
    after = entry(f"{TINY_BUILDERS}.regression_after_a_trained_model", source={"trained_model": labels})
    path = write_tiny_experiment(tmp_path, schema_name, hash="nnfabrik",
                                 datasets={"small": regression(), "after": after})
    experiment = load_experiment(path)
    tables = activate(schema_name, hash=experiment.hash)
    try:
        [first] = add_experiment(tables, experiment.without_trained_model_inputs())
        tables.TrainedModel().populate([first["key"]])
        assert experiment.datasets["after"].config["source"]["trained_model"] == first["key"]
        jobs = add_experiment(tables, experiment)
        tables.TrainedModel().populate([job["key"] for job in jobs])
        assert len(tables.TrainedModel()) == 2
    finally:
        tables.schema.drop(prompt=False)
