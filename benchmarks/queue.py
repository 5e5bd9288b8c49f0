"""Queue scale: 1,000 trivial jobs served by 8 worker processes on one database.

A fresh throwaway schema gets one trivial dataset / model / trainer entry (``benchmarks.trivial_builders``: no real
data, a 1x1 model, a trainer that reports one epoch and returns) and 1,000 seeds. 8 long-lived worker processes
(``neural_cotraining.pipeline.jobs.long_lived_worker.LongLivedWorker`` with ``idle_exit=0``, what ``neural-cotraining
worker`` runs) connect, wait for "go", then work the queue off. Checked: every job trained exactly once (the
trainers' seeds), every result stored, 0 errors, the queue empty.

Measured: the pipeline's own time between one job and the same worker's next, i.e. from one trainer call's return
to the next trainer call's start in the same process (storing the result and the weights in one transaction,
completing the job, picking and reserving the next, fetching its configs, building data and model, preparing the
callback), median and p95 over all workers' gaps; also the time inside the job's one ``cb`` call (the live
progress write) and the throughput. ``--profile`` stores the top functions (cProfile, cumulative) of worker 0.

``--mode populate`` runs DataJoint's ``populate(reserve_jobs=True)`` in each worker instead, for comparison.

``python -m benchmarks.queue [--quick] [--jobs N] [--workers N] [--profile] [--mode worker|populate]``  (``--worker SCHEMA`` is a worker)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import LoadMonitor, parse_args, run_workers_in_step, throwaway_schema, write_result

NAME = "queue"
TARGET_P95_MS = 50.0
BUILDERS = "benchmarks.trivial_builders"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _ms(values: list[float]) -> dict:
    return {"median": round(1000 * statistics.median(values), 2), "p95": round(1000 * percentile(values, 0.95), 2)}


def worker(schema: str, profile: bool, mode: str) -> int:
    """A worker process: connect, say "ready", wait for "go", work the queue off, print one JSON line."""
    import torch

    torch.set_num_threads(1)
    from benchmarks import trivial_builders
    from neural_cotraining.registry import allow_builder_modules
    from neural_cotraining.pipeline import activate
    from neural_cotraining.pipeline.jobs.long_lived_worker import LongLivedWorker

    allow_builder_modules("benchmarks")
    tables = activate(schema)
    queue_worker = LongLivedWorker(tables.TrainedModel(), idle_exit=0)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 1
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    if mode == "populate":  # DataJoint's one-shot populate, for comparison
        result = tables.TrainedModel().populate(reserve_jobs=True, suppress_errors=True)
        trained, errors, missed = result["success_count"], [m for _, m in result["error_list"]], None
    else:
        summary = queue_worker.run()
        trained, errors, missed = summary.trained, [m for _, m in summary.failed], summary.missed
    end = time.perf_counter()
    report = {"seconds": end - start, "trained": trained, "errors": errors, "missed": missed,
              "calls": trivial_builders.CALLS}
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(45)
        report["profile"] = text.getvalue()
    print(json.dumps(report), flush=True)
    return 0


def run_queue(n_jobs: int, n_workers: int, profile: bool, mode: str) -> dict:
    with throwaway_schema("queue") as tables:
        from neural_cotraining.registry import allow_builder_modules

        allow_builder_modules("benchmarks")
        tables.Dataset().add_entry(f"{BUILDERS}.trivial_data", {}, comment="trivial")
        tables.Model().add_entry(f"{BUILDERS}.trivial_model", {}, comment="trivial")
        tables.Trainer().add_entry(f"{BUILDERS}.trivial_trainer", {}, comment="trivial")
        tables.Seed().insert([{"seed": seed} for seed in range(1, n_jobs + 1)])
        tables.TrainedModel().jobs.refresh()  # the queue exists before any worker looks at it
        commands = [
            [sys.executable, "-m", "benchmarks.queue", "--worker", tables.schema.database, "--mode", mode]
            + (["--profile"] if profile and index == 0 else [])
            for index in range(n_workers)
        ]
        run = run_workers_in_step(commands, timeout=3600)
        reports, wall = run.reports, time.time() - run.go
        trained = tables.TrainedModel()
        stored = sorted(trained.to_arrays("seed").tolist())
        jobs_left = len(trained.jobs)
    seeds = sorted(seed for report in reports for seed, *_ in report["calls"])
    errors = [error for report in reports for error in report["errors"]]
    gaps, gap_cpu, gap_wait, callbacks = [], [], [], []
    for report in reports:
        calls = report["calls"]
        callbacks += [call[2] - call[1] for call in calls]
        for previous, following in zip(calls, calls[1:]):
            gaps.append(following[1] - previous[3])
            gap_cpu.append(following[4] - previous[5])
            gap_wait.append(following[6] - previous[7])
    # a gap is this worker's CPU time + time waiting for a CPU + time blocked (database round trips, commits)
    off_cpu_queue = [gap - wait for gap, wait in zip(gaps, gap_wait)]
    every_job_once = seeds == list(range(1, n_jobs + 1)) and stored == seeds
    result = {
        "workload": {"jobs": n_jobs, "workers": n_workers, "builders": BUILDERS, "threads_per_worker": 1,
                     "mode": mode},
        "every_job_once": every_job_once,
        "jobs_trained": len(seeds),
        "results_stored": len(stored),
        "errors": len(errors),
        "error_examples": errors[:3],
        "jobs_left_in_queue": jobs_left,
        "jobs_per_worker": [report["trained"] for report in reports],
        # reservations lost to a faster worker (the job was taken between fetching the list and reserving it)
        "reservations_missed": None if mode == "populate" else sum(report["missed"] for report in reports),
        "wall_seconds": round(wall, 2),
        "jobs_per_second": round(n_jobs / wall, 1),
        "between_jobs_ms": {"median": round(1000 * statistics.median(gaps), 2),
                            "p95": round(1000 * percentile(gaps, 0.95), 2),
                            "max": round(1000 * max(gaps), 2), "n": len(gaps)},
        "between_jobs_breakdown_ms": {
            "worker_cpu": _ms(gap_cpu),
            "waiting_for_a_cpu": _ms(gap_wait),
            # a projection, not a measurement: the gap had the worker never waited for a CPU
            "gap_without_cpu_wait": _ms(off_cpu_queue),
        },
        "cb_live_progress_ms": _ms(callbacks),
    }
    if profile:
        result["profile_worker_0"] = reports[0].get("profile", "")
    return result


def main(argv=None) -> int:
    def extra(parser):
        parser.add_argument("--worker", metavar="SCHEMA", help=argparse.SUPPRESS)
        parser.add_argument("--jobs", type=int, default=None, help="jobs in the queue (default 1000; quick: 40)")
        parser.add_argument("--workers", type=int, default=8, help="worker processes (default 8)")
        parser.add_argument("--profile", action="store_true", help="store worker 0's cProfile")
        parser.add_argument("--mode", choices=("worker", "populate"), default="worker",
                            help="worker: long-lived workers (default); populate: DataJoint's populate(reserve_jobs="
                                 "True) per process, for comparison")

    arguments = parse_args(__doc__.splitlines()[0], argv, extra)
    if arguments.worker:
        return worker(arguments.worker, arguments.profile, arguments.mode)
    n_jobs = arguments.jobs or (40 if arguments.quick else 1000)
    load = LoadMonitor()
    result = run_queue(n_jobs, arguments.workers, arguments.profile, arguments.mode)
    p95 = result["between_jobs_ms"]["p95"]
    result["target"] = {"between_jobs_ms_p95": f"< {TARGET_P95_MS}"}
    result["target_met"] = bool(result["every_job_once"] and result["errors"] == 0 and p95 < TARGET_P95_MS)
    write_result(NAME, result, arguments.output, arguments.quick, load)
    return 0 if result["every_job_once"] and result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
