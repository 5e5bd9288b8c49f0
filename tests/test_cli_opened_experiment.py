"""One opened experiment: a command reads its file and opens its schema once, and the steps after (the workers'
keys, the status) use that object instead of reopening, reconnecting and re-registering."""

import pytest

import neural_cotraining.configs
import neural_cotraining.pipeline.schema
from neural_cotraining.cli import main
from tests.tiny_experiment import write_tiny_experiment


@pytest.mark.db
def test_populate_reads_its_experiment_file_and_opens_its_schema_once(tmp_path, schema_name, monkeypatch, capsys):
    monkeypatch.setenv("NEURAL_COTRAINING_BUILDER_MODULES", "tests")
    path = write_tiny_experiment(tmp_path, schema_name)
    calls = {"load_experiment": 0, "activate": 0}

    def counted(name, function):
        def call(*args, **kwargs):  # the real function runs; the test only counts
            calls[name] += 1
            return function(*args, **kwargs)
        return call

    monkeypatch.setattr(neural_cotraining.configs, "load_experiment",
                        counted("load_experiment", neural_cotraining.configs.load_experiment))
    monkeypatch.setattr(neural_cotraining.pipeline.schema, "activate",
                        counted("activate", neural_cotraining.pipeline.schema.activate))
    monkeypatch.setattr(neural_cotraining.pipeline, "activate", neural_cotraining.pipeline.schema.activate)
    try:
        assert main(["-q", "populate", str(path), "--add"]) == 0
        assert "jobs: 1 | done 1 |" in capsys.readouterr().out
        assert calls == {"load_experiment": 1, "activate": 1}
    finally:
        neural_cotraining.pipeline.schema.activate(schema_name).schema.drop(prompt=False)
