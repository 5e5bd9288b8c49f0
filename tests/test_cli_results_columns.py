"""``results`` prints a compact table by default (labels, score, best epoch, test metrics, mean robustness accuracy),
every column with ``--all``, and refuses a ``--metrics`` filter that matches nothing, naming what exists."""

import pytest

from neural_cotraining.cli import main
from neural_cotraining.cli.result_columns import add_robustness_means, compact_columns, describe_columns
from tests.tiny_experiment import cotrainer, write_tiny_experiment


def test_robustness_sets_fold_into_a_mean_accuracy_per_task():
    row = {"dataset": "d", "score": 0.9, "test/img/accuracy": 0.9, "robustness/img/accuracy/noise_0.1": 0.8,
           "robustness/img/accuracy/noise_0.2": 0.6, "robustness/img/loss/noise_0.1": 3.0}
    completed = add_robustness_means([row])[0]
    assert completed["robustness/img/mean accuracy"] == pytest.approx(0.7)
    columns = list(completed)
    assert compact_columns(columns) == ["dataset", "score", "test/img/accuracy", "robustness/img/mean accuracy"]
    assert describe_columns(columns) == ("test/img/accuracy, robustness/img/accuracy/* (2 sets), "
                                         "robustness/img/loss/*, robustness/img/mean accuracy")


@pytest.mark.db
def test_results_is_compact_by_default_and_complete_with_all(tmp_path, schema_name, monkeypatch, capsys):
    monkeypatch.setenv("NEURAL_COTRAINING_BUILDER_MODULES", "tests")
    path = write_tiny_experiment(
        tmp_path, schema_name, trainers={"cotrain": cotrainer(max_epochs=2, loss_functions={"regression": "mse"})})
    try:
        assert main(["-q", "populate", str(path), "--add"]) == 0
        capsys.readouterr()
        assert main(["-q", "results", str(path)]) == 0
        header, row = capsys.readouterr().out.splitlines()
        header = header.split()
        assert header[:6] == ["dataset", "model", "trainer", "seed", "score", "best_epoch"]
        assert "test/regression/mse" in header[6:] and all(column.startswith("test/") for column in header[6:])
        assert row.split()[:6] == ["small", "linear", "cotrain", "1", row.split()[4], "2"]

        assert main(["-q", "results", str(path), "--all"]) == 0
        header = capsys.readouterr().out.splitlines()[0].split()
        assert "validation/regression/mse" in header and "train/regression/loss" in header

        assert main(["-q", "results", str(path), "--metrics", "accuracy"]) == 1
        error = capsys.readouterr().err
        assert error.startswith("error: --metrics accuracy matches no column; the metrics are: train/regression/mae,")
        assert "test/regression/mae" in error
    finally:
        from neural_cotraining.pipeline import activate

        activate(schema_name).schema.drop(prompt=False)
