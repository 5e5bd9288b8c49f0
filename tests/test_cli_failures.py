"""Failed jobs from the command line: ``errors`` lists them (labels, last line, ``--traceback``), ``retry`` clears
them for the next populate, ``status`` counts each job once (a trained job with a stale error row is done) and its
exit status says whether anything is failed now."""

import re

import pytest

from neural_cotraining.cli import main
from tests.tiny_experiment import broken, sgd, write_tiny_experiment


@pytest.fixture
def failed_experiment(tmp_path, schema_name, monkeypatch, capsys):
    """An experiment of 4 jobs, populated: 2 trained (sgd), 2 failed (broken)."""
    monkeypatch.setenv("NEURAL_COTRAINING_BUILDER_MODULES", "tests")
    path = write_tiny_experiment(tmp_path, schema_name, seeds=[1, 2], trainers={"sgd": sgd(), "broken": broken()})
    assert main(["-q", "populate", str(path), "--add", "--reserve-jobs"]) == 2
    capsys.readouterr()
    yield path
    from neural_cotraining.pipeline import activate

    activate(schema_name).schema.drop(prompt=False)


def run(capsys, *arguments):
    code = main(["-q", *map(str, arguments)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.db
def test_errors_lists_each_failed_job_with_its_labels_and_traceback(failed_experiment, capsys):
    code, out, _ = run(capsys, "errors", failed_experiment)
    assert code == 2
    lines = out.splitlines()
    assert lines[:2] == [f"small / linear / broken / seed {seed}: BrokenResultError: the trainer's score is nan; "
                         "nothing stored"
                         for seed in (1, 2)]
    assert lines[2].startswith("2 of 4 jobs failed; `neural-cotraining retry ")

    code, out, _ = run(capsys, "errors", failed_experiment, "--traceback")
    assert code == 2 and out.count("Traceback (most recent call last)") == 2


@pytest.mark.db
def test_retry_clears_the_named_failed_jobs_and_populate_takes_them_again(failed_experiment, capsys):
    code, _, err = run(capsys, "retry", failed_experiment)
    assert code == 1 and err.startswith("error: name the failed jobs to retry")
    code, _, err = run(capsys, "retry", failed_experiment, "brokn")
    assert code == 1
    assert err == "error: no job is labelled brokn; the labels are broken, linear, seed=1, seed=2, sgd, small\n"

    code, out, _ = run(capsys, "retry", failed_experiment, "broken", "seed=2")
    assert code == 0
    assert out.splitlines() == ["retry small / linear / broken / seed 2",
                                "cleared 1 failed job(s); the next populate or worker trains them again"]
    code, out, _ = run(capsys, "status", failed_experiment)
    assert code == 2  # seed 1 is still failed
    assert out.splitlines()[0] == "jobs: 4 | done 2 | pending 0 | reserved 0 | errors 1 | not started 1"

    code, out, _ = run(capsys, "retry", failed_experiment, "--all")
    assert code == 0 and "cleared 1 failed job(s)" in out
    code, out, _ = run(capsys, "status", failed_experiment)
    assert code == 0  # nothing is failed now
    assert out.splitlines()[0] == "jobs: 4 | done 2 | pending 0 | reserved 0 | errors 0 | not started 2"
    # the next populate takes the cleared jobs (and they fail again, being broken)
    code, out, _ = run(capsys, "populate", failed_experiment, "--reserve-jobs")
    assert code == 2 and "errors 2 | not started 0" in out


@pytest.mark.db
def test_a_trained_job_with_a_stale_error_row_counts_as_done(failed_experiment, capsys, schema_name):
    from neural_cotraining.configs import load_experiment
    from neural_cotraining.pipeline import activate
    from neural_cotraining.pipeline.experiments import experiment_keys

    tables = activate(schema_name)
    trained = [job for job in experiment_keys(tables, load_experiment(failed_experiment))
               if job["labels"]["trainer"] == "sgd"]
    # what an interrupted earlier run leaves: an error row for a job trained since
    tables.TrainedModel().jobs.insert1({**trained[0]["key"], "status": "error", "priority": 5,
                                        "error_message": "KeyboardInterrupt"})
    code, out, _ = run(capsys, "status", failed_experiment)
    counts = [int(number) for number in re.findall(r"\d+", out.splitlines()[0])]
    assert out.splitlines()[0] == "jobs: 4 | done 2 | pending 0 | reserved 0 | errors 2 | not started 0"
    assert counts[0] == sum(counts[1:])
    code, out, _ = run(capsys, "errors", failed_experiment)
    assert "KeyboardInterrupt" not in out and out.count("broken") == 2
