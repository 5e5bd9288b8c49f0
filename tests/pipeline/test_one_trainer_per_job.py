"""One trainer per job: a worker's reservation is renewed by a thread of its own, so a dataset that loads for longer
than the orphan timeout is never taken by a second worker; a worker whose reservation is taken away stops that job
at once and writes nothing more for it; ``--orphan-timeout`` refuses values that would release live jobs."""

import datetime
import platform
import signal

import pytest

from neural_cotraining.cli import main
from neural_cotraining.trainer import cotrainer
from tests.pipeline import tiny_builders
from tests.pipeline.worker_processes import start_worker as start_any_worker, wait_for

TRAINER_CONFIG = {"max_epochs": 30, "patience": None, "checkpoint_every": 1, "loss_functions": {"regression": "mse"},
                  "lr": 0.02, "verbose": False}


def start_worker(schema_name, *options):
    return start_any_worker(schema_name, "--heartbeat", "0.5", "--orphan-timeout", "2", *options)


def add_job(pipeline, dataset_config, trainer_config=TRAINER_CONFIG):
    pipeline.Dataset().add_entry(tiny_builders.slow_to_load, dataset_config)
    pipeline.Model().add_entry(tiny_builders.linear_model, {"hidden": 4})
    pipeline.Trainer().add_entry(cotrainer, trainer_config)
    pipeline.Seed().insert1({"seed": 3})
    record_every_job(pipeline)
    pipeline.TrainedModel().jobs.refresh()


def record_every_job(pipeline):
    """Ask for every job of the schema, as `add` records a file's (a worker without a file trains only those)."""
    pipeline.AddedExperiment().record("every job", pipeline.TrainedModel().key_source.to_dicts())


@pytest.mark.db
def test_a_dataset_that_loads_longer_than_the_orphan_timeout_is_trained_once(pipeline, schema_name):
    add_job(pipeline, {"load_seconds": 6.0, "n_samples": 16}, {**TRAINER_CONFIG, "max_epochs": 3})
    jobs = pipeline.TrainedModel().jobs
    first = start_worker(schema_name, "--idle-exit", "0")
    wait_for(lambda: len(jobs.reserved), "the first reservation")
    second = start_worker(schema_name, "--idle-exit", "8")  # looks at the queue again and again while the data loads
    outputs = [worker.communicate(timeout=180) for worker in (first, second)]
    assert [worker.returncode for worker in (first, second)] == [0, 0], outputs
    assert "worker: 1 trained, 0 failed" in outputs[0][0]
    assert "worker: 0 trained, 0 failed" in outputs[1][0]
    assert "trained_model: training" not in outputs[1][1]  # the second never started it
    assert "released the reservation" not in outputs[1][1]
    assert len(pipeline.TrainedModel()) == 1 and len(jobs) == 0
    assert len(pipeline.LiveJob()) == len(pipeline.LiveEpochMetric()) == len(pipeline.Checkpoint()) == 0


@pytest.mark.db
def test_a_worker_whose_reservation_is_taken_stops_at_once_and_writes_nothing_more(pipeline, schema_name):
    add_job(pipeline, {"n_samples": 32, "delay": 0.02})
    jobs = pipeline.TrainedModel().jobs
    worker = start_worker(schema_name, "--idle-exit", "0")
    wait_for(lambda: len(pipeline.Checkpoint()) >= 1, "the first checkpoint")
    # another worker (on another host) holds the job now, as after a release by mistake
    jobs.connection.query(f"UPDATE {jobs.full_table_name} SET host='other-host', pid=7, "
                          f"reserved_time=CURRENT_TIMESTAMP(3)")
    taken_at = datetime.datetime.now()
    written = (len(pipeline.LiveEpochMetric()), pipeline.Checkpoint().to_arrays("epoch").tolist())
    stdout, stderr = worker.communicate(timeout=60)
    assert worker.returncode == 0, stderr
    assert "worker: 0 trained, 0 failed" in stdout and "Traceback" not in stderr, stderr
    stop_line = next(line for line in stderr.splitlines() if "was released" in line and "stopped" in line)
    stopped_at = datetime.datetime.strptime(stop_line[:23], "%Y-%m-%d %H:%M:%S,%f")
    # at once: within a heartbeat and an epoch (~0.7 s), not after the ~25 epochs left
    assert (stopped_at - taken_at).total_seconds() < 5, stop_line
    assert (len(pipeline.LiveEpochMetric()), pipeline.Checkpoint().to_arrays("epoch").tolist()) == written
    assert len(pipeline.TrainedModel()) == 0
    row = jobs.to_dicts()[0]  # the other worker's reservation is untouched
    assert (row["status"], row["host"], row["pid"]) == ("reserved", "other-host", 7)


@pytest.mark.db
def test_a_killed_workers_job_on_a_reused_pid_is_released_after_the_orphan_timeout(pipeline, schema_name):
    add_job(pipeline, {"n_samples": 16}, {**TRAINER_CONFIG, "max_epochs": 2})
    jobs = pipeline.TrainedModel().jobs
    # pid 1 is alive here: a restarted container's pid 1, once a worker that died
    jobs.connection.query(f"UPDATE {jobs.full_table_name} SET status='reserved', host=%s, pid=1, "
                          f"reserved_time=CURRENT_TIMESTAMP(3)", args=[platform.node()])
    worker = start_worker(schema_name, "--idle-exit", "6")
    stdout, stderr = worker.communicate(timeout=120)
    assert worker.returncode == 0, stderr
    assert "worker: 1 trained, 0 failed" in stdout
    assert "silent for more than 2 s" in stderr
    assert len(pipeline.TrainedModel()) == 1 and len(jobs) == 0


@pytest.mark.parametrize("value", ["inf", "-5", "nan", "1"])
@pytest.mark.parametrize("command", ["worker", "populate"])
def test_an_orphan_timeout_that_would_release_live_jobs_is_refused_in_one_line(capsys, command, value):
    target = ["--schema", "nct_test_never_made"] if command == "worker" else ["no_such_file.yaml"]
    assert main([command, *target, "--orphan-timeout", value]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: --orphan-timeout (orphan_timeout) must be a finite number of seconds, at least 30")
    assert len(error.splitlines()) == 1


@pytest.mark.db
def test_a_job_that_kills_two_workers_is_failed_with_the_reason_and_not_handed_to_a_third(pipeline, schema_name):
    pipeline.Dataset().add_entry(tiny_builders.process_killing_regression, {"signal_name": "SIGSEGV"})
    pipeline.Model().add_entry(tiny_builders.linear_model, {"hidden": 4})
    pipeline.Trainer().add_entry(tiny_builders.sgd_trainer, {"epochs": 1})
    pipeline.Seed().insert1({"seed": 1})
    record_every_job(pipeline)
    jobs = pipeline.TrainedModel().jobs
    ends = []
    for _ in range(3):
        worker = start_worker(schema_name, "--idle-exit", "0")
        stdout, stderr = worker.communicate(timeout=120)
        ends.append((worker.returncode, "released the reservation" in stderr, "worker: 0 trained, 0 failed" in stdout))
    # the first two died in the job (SIGSEGV); the second and third each found the last one's dead reservation; the
    # third recorded the job as failed instead of taking it, and ended normally
    assert ends == [(-signal.SIGSEGV, False, False), (-signal.SIGSEGV, True, False), (0, True, True)], ends
    (row,) = jobs.to_dicts()
    assert row["status"] == "error"
    assert "killed 2 workers" in row["error_message"] and "process gone" in row["error_message"]
