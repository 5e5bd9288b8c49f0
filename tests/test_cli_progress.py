"""``status`` and ``watch`` on a job in progress: epoch n/N, the best score so far and the epoch it came from (not
the last one reported), time per epoch and time left, each job on one line with its labels."""

import re
import time

import pytest

from neural_cotraining.cli import main
from tests.tiny_experiment import cotrainer, write_tiny_experiment


@pytest.fixture
def live_job(tmp_path, schema_name, monkeypatch, capsys):
    """An experiment of one co-trainer job (max_epochs 6) that has reported 4 epochs and is still reserved."""
    monkeypatch.setenv("NEURAL_COTRAINING_BUILDER_MODULES", "tests")
    path = write_tiny_experiment(tmp_path, schema_name, seeds=[3], trainers={"cotrain": cotrainer(max_epochs=6)})
    assert main(["-q", "add", str(path)]) == 0
    capsys.readouterr()
    from neural_cotraining.configs import load_experiment
    from neural_cotraining.pipeline import activate
    from neural_cotraining.pipeline.experiments import experiment_keys
    from neural_cotraining.pipeline.jobs.live_progress import LiveProgress

    tables = activate(schema_name)
    key = experiment_keys(tables, load_experiment(path))[0]["key"]
    jobs = tables.TrainedModel().jobs
    jobs.refresh()
    assert jobs.reserve(key)
    live = LiveProgress(tables.LiveJob, tables.LiveEpochMetric, key, write_interval=0.0)  # each epoch at once
    live.start()
    # the trainer's best so far moves with its monitor; the validation accuracy peaks at epoch 2
    for epoch, accuracy in ((1, 0.5), (2, 0.7778), (3, 0.7444), (4, 0.7)):
        rows = [{"epoch": epoch, "split": "validation", "task": "img_classification", "metric": "accuracy",
                 "value": accuracy},
                {"epoch": epoch, "split": "validation", "task": "neural", "metric": "correlation", "value": 0.1 * epoch}]
        live.epoch(epoch, rows, score=accuracy)
        time.sleep(0.7)
    live.heartbeat()
    yield path, tables, key
    tables.schema.drop(prompt=False)


@pytest.mark.db
def test_status_shows_epoch_of_total_best_so_far_with_its_epoch_and_time_left(live_job, capsys):
    path, tables, key = live_job
    assert main(["-q", "status", str(path)]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("  running: "))
    assert line.startswith("  running: small / linear / cotrain / seed 3  epoch 4/6  "
                           "img_classification acc 0.7  neural r 0.4  best 0.7778 (epoch 2)  ")
    row = (tables.LiveJob() & key).to_dicts()[0]
    per_epoch = (row["heartbeat_ts"] - row["started_ts"]).total_seconds() / 4
    assert per_epoch > 0
    assert f"  {per_epoch:.1f} s/epoch  ~{2 * per_epoch:.0f} s left  (last heartbeat " in line


@pytest.mark.db
def test_watch_shows_the_same_progress_in_its_table(live_job, capsys):
    path, _, _ = live_job
    assert main(["-q", "watch", str(path), "--times", "1"]) == 0
    out = capsys.readouterr().out
    header, row = out.splitlines()[1:3]
    assert re.split(r"\s{2,}", header.strip())[:9] == ["dataset", "model", "trainer", "seed", "state", "epoch",
                                                       "best score", "time/epoch", "left"]
    assert re.split(r"\s{2,}", row.strip())[:7] == ["small", "linear", "cotrain", "3", "running", "4/6",
                                                    "0.7778 (epoch 2)"]
