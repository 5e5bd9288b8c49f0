"""``neural-cotraining search FILE`` on MariaDB, with the tiny builders."""

import pytest

from neural_cotraining import registry
from neural_cotraining.cli import main
from neural_cotraining.pipeline import activate, connect
from neural_cotraining.pipeline.schema_guard import schema_tables
from neural_cotraining.search.search_file import load_search_file

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
    monkeypatch.setattr(registry, "_runtime_prefixes", [])  # the file's builder_modules stay in this test

    def write(method="bayesian", auto="lr"):
        path = tmp_path / "search.yaml"
        path.write_text(SEARCH.format(schema=schema_name, method=method, auto=auto))
        return path

    yield write
    if schema_tables(connect(), schema_name) is not None:
        activate(schema_name).schema.drop(prompt=False)


@pytest.mark.db
def test_search_runs_the_file_and_a_rerun_resumes(search_file, schema_name, capsys):
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
def test_a_bad_file_is_one_line_and_touches_no_database(search_file, schema_name, capsys):
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
    (("schema:", "datasets: {}\nschema:"), "a search file takes only"),
])
def test_file_errors_name_the_file_and_key(search_file, change, message):
    path = search_file()
    path.write_text(path.read_text().replace(*change, 1))
    with pytest.raises(ValueError) as caught:
        load_search_file(path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)
