"""Many worker processes on one job queue, and recovery of dead workers' reservations."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neural_cotraining.pipeline.jobs.reservations import Reservation, release_dead_reservations
from tests.pipeline import tiny_builders

ROOT = Path(__file__).resolve().parents[2]


def start_worker(schema_name, *extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT), NEURAL_COTRAINING_BUILDER_MODULES="tests", OMP_NUM_THREADS="1")
    return subprocess.Popen(
        [sys.executable, "-m", "tests.pipeline.worker", schema_name, *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def add_jobs(pipeline, n_seeds, delay=0.0):
    pipeline.Dataset().add_entry(tiny_builders.slow_regression, {"n_samples": 16, "delay": delay, "batch_size": 8})
    pipeline.Model().add_entry(tiny_builders.linear_model, {"hidden": 3})
    pipeline.Trainer().add_entry(tiny_builders.sgd_trainer, {"epochs": 2})
    pipeline.Seed().insert([{"seed": seed} for seed in range(n_seeds)])


def test_each_job_is_trained_exactly_once_by_several_workers(pipeline, schema_name):
    add_jobs(pipeline, n_seeds=8, delay=0.05)  # ~1.6 s a job: no worker can drain the queue while others start
    pipeline.TrainedModel().jobs.refresh()
    workers = [start_worker(schema_name) for _ in range(3)]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    reports = [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs]
    assert all(report["errors"] == [] for report in reports), reports
    assert sum(report["success_count"] for report in reports) == 8
    trained_seeds = [line.split("'seed': ")[1].split("}")[0] for _, stderr in outputs
                     for line in stderr.splitlines() if "trained_model: training" in line]
    assert sorted(map(int, trained_seeds)) == list(range(8))  # every job started once, by one worker
    assert sum(1 for report in reports if report["success_count"] > 0) >= 2  # the work was shared
    assert sorted(pipeline.TrainedModel().to_arrays("seed").tolist()) == list(range(8))
    jobs = pipeline.TrainedModel().jobs
    assert len(jobs.pending) == len(jobs.reserved) == len(jobs.errors) == 0


def _reserve(jobs, key, host, pid):
    jobs.connection.query(
        f"UPDATE {jobs.full_table_name} SET status='reserved', host=%s, pid=%s, "
        f"reserved_time=CURRENT_TIMESTAMP(3) - INTERVAL 1 HOUR WHERE seed=%s",
        args=[host, pid, key["seed"]],
    )


@pytest.mark.db
def test_only_dead_or_silent_reservations_are_released(pipeline):
    import platform

    add_jobs(pipeline, n_seeds=4)
    trained = pipeline.TrainedModel()
    jobs = trained.jobs
    jobs.refresh()
    keys = {int(k["seed"]): k for k in jobs.keys()}
    dead_pid = subprocess.Popen([sys.executable, "-c", "pass"])  # a pid that no longer exists
    dead_pid.wait()
    _reserve(jobs, keys[0], platform.node(), dead_pid.pid)      # this host, process gone
    _reserve(jobs, keys[1], "other-host", 12345)                 # another host, silent for an hour
    _reserve(jobs, keys[2], platform.node(), 1)                  # this host, a live pid (reused), silent for an hour
    _reserve(jobs, keys[3], platform.node(), os.getpid())        # alive here, renewed below
    assert Reservation(jobs, keys[3]).renew()

    assert release_dead_reservations(trained, orphan_timeout=None) == 1  # liveness alone: only the dead local one
    assert sorted(int(k["seed"]) for k in jobs.pending.keys()) == [0]
    assert release_dead_reservations(trained, orphan_timeout=60) == 2  # the silent remote one and the reused pid
    assert sorted(int(k["seed"]) for k in jobs.pending.keys()) == [0, 1, 2]
    time.sleep(1.2)
    assert Reservation(jobs, keys[3]).renew()
    assert release_dead_reservations(trained, orphan_timeout=1) == 0  # a live, beating job is never taken
    assert [int(k["seed"]) for k in jobs.reserved.keys()] == [3]
    assert not Reservation(jobs, keys[0]).renew()  # released: not this process's any more


def test_populate_with_reserve_jobs_takes_over_a_dead_workers_job(pipeline):
    import platform

    add_jobs(pipeline, n_seeds=1)
    trained = pipeline.TrainedModel()
    trained.jobs.refresh()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _reserve(trained.jobs, trained.jobs.keys()[0], platform.node(), dead.pid)
    assert trained.populate(reserve_jobs=True) == {"success_count": 1, "error_list": []}
    assert len(trained) == 1 and len(trained.jobs) == 0
