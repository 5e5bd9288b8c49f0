"""Results in Python: ``neural_cotraining.results`` / ``curves`` give labelled DataFrames for an experiment file, and
for a schema without one (labels as `add` recorded them, else the entries' comments); reading creates nothing."""

import pandas as pd
import pytest

import neural_cotraining
from neural_cotraining.cli import main
from neural_cotraining.pipeline import SchemaMissingError
from tests.tiny_experiment import linear, write_tiny_experiment


@pytest.fixture
def trained(tmp_path, schema_name, monkeypatch, capsys):
    monkeypatch.setenv("NEURAL_COTRAINING_BUILDER_MODULES", "tests")
    path = write_tiny_experiment(tmp_path, schema_name, seeds=[1, 2], models={"linear": linear(comment="a 4-unit MLP")})
    assert main(["-q", "populate", str(path), "--add"]) == 0
    capsys.readouterr()
    yield path
    from neural_cotraining.pipeline import activate

    activate(schema_name).schema.drop(prompt=False)


@pytest.mark.db
def test_results_and_curves_of_an_experiment_file_are_labelled_frames(trained):
    table = neural_cotraining.results(trained)
    assert isinstance(table, pd.DataFrame)
    assert table[["dataset", "model", "trainer", "seed"]].values.tolist() == [
        ["small", "linear", "sgd", 1], ["small", "linear", "sgd", 2]]
    assert table["score"].notna().all()

    curves = neural_cotraining.curves(str(trained))
    assert list(curves.columns) == ["dataset", "model", "trainer", "seed", "epoch", "split", "task", "metric", "value",
                                    "running"]
    # 2 seeds x 2 epochs x (train, validation) x one mse each
    assert len(curves) == 8 and set(curves["metric"]) == {"mse"} and not curves["running"].any()
    validation = curves[(curves["split"] == "validation") & (curves["seed"] == 1)]
    assert validation["epoch"].tolist() == [0, 1]


@pytest.mark.db
def test_a_schema_without_a_file_is_labelled_as_add_recorded_the_files_labels(trained, schema_name):
    table = neural_cotraining.results(schema=schema_name)
    # the labels, not the comment ("a 4-unit MLP"); a schema filled from Python has only the comments
    # (test_added_experiments)
    assert table[["dataset", "model", "trainer"]].drop_duplicates().values.tolist() == [["small", "linear", "sgd"]]
    assert sorted(table["seed"]) == [1, 2]
    assert table["score"].tolist() == neural_cotraining.results(trained)["score"].tolist()


@pytest.mark.db
def test_reading_a_schema_that_does_not_exist_creates_nothing(schema_name):
    with pytest.raises(SchemaMissingError, match=f"there is no schema {schema_name}"):
        neural_cotraining.results(schema=schema_name)
