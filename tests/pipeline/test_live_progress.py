"""LiveProgress: a job's live rows appear with its first report (or a heartbeat during a long first epoch), move on
per epoch (at most every ``write_interval`` seconds, the epochs in between in the same commit), forget an earlier
attempt's epochs after the checkpoint it resumes from, and go away with clear()."""

import time

from neural_cotraining.pipeline.jobs.live_progress import LiveProgress
from neural_cotraining.trainer import cotrainer
from tests.pipeline import tiny_builders


def job_key(pipeline):
    key = {}
    key.update(pipeline.Dataset().add_entry(tiny_builders.random_regression, {}))
    key.update(pipeline.Model().add_entry(tiny_builders.linear_model, {}))
    key.update(pipeline.Trainer().add_entry(cotrainer, {}))
    pipeline.Seed().insert1({"seed": 1})
    return {**key, "seed": 1}


def rows(epoch, value):
    return [{"epoch": epoch, "split": "validation", "task": "t", "metric": "loss", "value": value}]


def live_values(pipeline):
    return {int(r["epoch"]): r["value"] for r in pipeline.LiveEpochMetric().to_dicts()}


def test_live_rows_follow_the_run_and_a_resumed_run_forgets_what_it_trains_again(pipeline):
    key = job_key(pipeline)
    live = LiveProgress(pipeline.LiveJob, pipeline.LiveEpochMetric, key, heartbeat_interval=0.0, write_interval=0.0)
    live.start()
    assert len(pipeline.LiveJob()) == 0  # nothing written before the first report or heartbeat
    live.heartbeat()  # a long first epoch: the job shows up at epoch 0
    assert pipeline.LiveJob().to_dicts()[0]["epoch"] == 0
    for epoch, value in ((1, 3.0), (2, 2.0), (3, 1.5)):
        live.epoch(epoch, rows(epoch, value), score=value)
    job = pipeline.LiveJob().to_dicts()[0]
    assert (job["epoch"], job["best_score"]) == (3, 1.5) and live_values(pipeline) == {1: 3.0, 2: 2.0, 3: 1.5}

    # another worker resumes after epoch 2
    again = LiveProgress(pipeline.LiveJob, pipeline.LiveEpochMetric, key, write_interval=0.0)
    again.start(resumed_epoch=2)
    again.epoch(3, rows(3, 1.4), score=1.4)
    assert live_values(pipeline) == {1: 3.0, 2: 2.0, 3: 1.4}
    again.epoch(3, rows(3, 1.3), score=1.3)  # reported twice in one run: the newer values count
    assert live_values(pipeline) == {1: 3.0, 2: 2.0, 3: 1.3}

    # a restart without a checkpoint
    fresh = LiveProgress(pipeline.LiveJob, pipeline.LiveEpochMetric, key, write_interval=0.0)
    fresh.start()
    fresh.epoch(1, rows(1, 2.5), score=2.5)
    assert live_values(pipeline) == {1: 2.5} and pipeline.LiveJob().to_dicts()[0]["best_score"] == 2.5
    fresh.clear()
    assert len(pipeline.LiveJob()) == len(pipeline.LiveEpochMetric()) == 0


def test_epochs_between_writes_wait_for_the_next_write_and_go_in_together(pipeline):
    key = job_key(pipeline)
    live = LiveProgress(pipeline.LiveJob, pipeline.LiveEpochMetric, key, heartbeat_interval=1.0, write_interval=1.0)
    live.start()
    live.epoch(1, rows(1, 3.0), score=3.0)  # the first report is written at once: the job shows up
    live.epoch(2, rows(2, 2.0), score=2.0)
    live.epoch(2, rows(2, 1.9), score=1.9)  # reported twice before it was written: the newer rows count
    assert live_values(pipeline) == {1: 3.0} and pipeline.LiveJob().to_dicts()[0]["epoch"] == 1
    time.sleep(1.05)
    live.epoch(3, rows(3, 1.5), score=1.5)  # write_interval passed: epochs 2 and 3 together
    job = pipeline.LiveJob().to_dicts()[0]
    assert live_values(pipeline) == {1: 3.0, 2: 1.9, 3: 1.5} and (job["epoch"], job["best_score"]) == (3, 1.5)

    live.epoch(4, rows(4, 1.2), score=1.2)
    assert 4 not in live_values(pipeline)
    time.sleep(1.05)
    live.heartbeat()  # a long epoch: its heartbeat writes what is held
    assert live_values(pipeline)[4] == 1.2 and pipeline.LiveJob().to_dicts()[0]["epoch"] == 4
    live.epoch(5, rows(5, 1.1), score=1.1)
    live.flush()  # a job that stops or fails writes what it holds
    assert live_values(pipeline)[5] == 1.1 and pipeline.LiveJob().to_dicts()[0]["best_score"] == 1.1
