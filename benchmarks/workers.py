"""Scaling with workers: jobs per minute with 1 and 2 worker processes on one queue of small jobs.

Each run fills a fresh throwaway schema with 8 jobs (one small co-training entry -- digits + two simulated sessions,
no robustness sets, 3 epochs -- times 8 seeds, a few seconds each), starts N real worker processes
(``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)``), waits until every worker has imported and connected, then
tells them all to go: each runs ``TrainedModel().populate(reserve_jobs=True)`` until the queue is empty. The wall
time runs from "go" to the last worker's end, so process start-up (imports, connecting) is left out: it is paid once
per worker, not per job. Runs with 1 and 2 workers alternate; the figure is the median over the repeats.

``python -m benchmarks.workers [--quick]``  (``--worker SCHEMA`` is the worker process itself)
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

from benchmarks.common import (
    LoadMonitor,
    DEMO_MODEL,
    add_entries,
    interleaved_orders,
    parse_args,
    run_workers_in_step,
    summary,
    throwaway_schema,
    write_result,
)

NAME = "workers"
TARGET_SPEEDUP = 1.7


def workload(quick: bool) -> tuple[dict, dict, dict, int]:
    """(dataset config, model config, trainer config, number of jobs)."""
    dataset = {"image": {"image_size": 16, "noise_levels": [], "corruptions": []},
               "neural": {"format": "simulated", "n_sessions": 2, "n_neurons": 16, "n_train_images": 200,
                          "simulation_seed": 7}}
    trainer = {"max_epochs": 3, "patience": None, "lr": 0.005, "verbose": False}
    jobs = 8
    if quick:
        dataset["neural"].update(n_neurons=4, n_train_images=60)
        trainer["max_epochs"] = 1
        jobs = 2
    return dataset, dict(DEMO_MODEL), trainer, jobs


def scheduler_seconds() -> tuple[float, float] | None:
    """(seconds on a CPU, seconds waiting in a run queue for one) of this process's threads so far, from
    /proc/self/task/*/schedstat (Linux); None where unavailable."""
    try:
        running = waiting = 0
        for task in Path("/proc/self/task").iterdir():
            fields = (task / "schedstat").read_text().split()
            running, waiting = running + int(fields[0]), waiting + int(fields[1])
    except (OSError, ValueError, IndexError):
        return None
    return running / 1e9, waiting / 1e9


def worker(schema: str) -> int:
    """The worker process: connect, say "ready", wait for "go" on stdin, populate, print one JSON line."""
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    from neural_cotraining.pipeline import activate

    tables = activate(schema)
    trained = tables.TrainedModel()
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 1
    start, cpu_start, scheduler_start = time.time(), time.process_time(), scheduler_seconds()
    result = trained.populate(reserve_jobs=True, suppress_errors=True)
    end, cpu, scheduler_end = time.time(), time.process_time() - cpu_start, scheduler_seconds()
    report = {"start": start, "end": end, "cpu_seconds": cpu, "trained": result["success_count"],
              "errors": [str(message) for _, message in result["error_list"]]}
    if scheduler_start and scheduler_end:
        report["run_queue_wait_seconds"] = scheduler_end[1] - scheduler_start[1]
    print(json.dumps(report), flush=True)
    return 0


def run_queue(n_workers: int, dataset: dict, model: dict, trainer: dict, n_jobs: int) -> dict:
    """One run: a fresh queue of ``n_jobs`` jobs worked off by ``n_workers`` processes."""
    with throwaway_schema("workers") as tables:
        add_entries(tables, dataset, model, trainer, seeds=range(1, n_jobs + 1))
        tables.TrainedModel().jobs.refresh()  # the queue exists before any worker looks at it
        command = [sys.executable, "-m", "benchmarks.workers", "--worker", tables.schema.database]
        run = run_workers_in_step([command] * n_workers, timeout=1800)
        reports, go, cpu_at_go, cpu_at_end = run.reports, run.go, run.cpu_at_go, run.cpu_at_end
        trained = len(tables.TrainedModel())
    errors = [error for report in reports for error in report["errors"]]
    if errors or trained != n_jobs:
        raise RuntimeError(f"{trained} of {n_jobs} jobs trained; errors: {errors[:3]}")
    wall = max(report["end"] for report in reports) - go
    ours = sum(report["cpu_seconds"] for report in reports)
    others = None
    if cpu_at_go and cpu_at_end:
        # CPU the rest of the machine used meanwhile, in cores (also counts this parent and the database server)
        others = round(max(0.0, (cpu_at_end[0] - cpu_at_go[0]) - ours) / wall, 2)
    run = {"workers": n_workers, "wall_seconds": round(wall, 3), "jobs_per_minute": 60 * n_jobs / wall,
            "jobs_per_worker": [report["trained"] for report in reports],
            # CPU seconds each worker used while populating: near its wall time = it had a core to itself
            "cpu_seconds_per_worker": [round(report["cpu_seconds"], 3) for report in reports],
            "cpu_seconds_per_job": round(ours / n_jobs, 3),
            "other_processes_cores": others}
    if all("run_queue_wait_seconds" in report for report in reports):
        waits = [report["run_queue_wait_seconds"] for report in reports]
        run["run_queue_wait_seconds_per_worker"] = [round(wait, 3) for wait in waits]
        # a worker's time neither on a core nor waiting for one: database round trips, lock waits, I/O
        run["blocked_seconds_per_worker"] = [round(report["end"] - report["start"] - report["cpu_seconds"] - wait, 3)
                                             for report, wait in zip(reports, waits)]
        # the wall time had each worker had a core of its own: its CPU time plus its blocked time
        projected = max(report["end"] - report["start"] - wait for report, wait in zip(reports, waits))
        run["jobs_per_minute_without_run_queue_wait"] = 60 * n_jobs / projected
    return run


def main(argv=None) -> int:
    arguments = parse_args(__doc__.splitlines()[0], argv, lambda parser: parser.add_argument(
        "--worker", metavar="SCHEMA", help=argparse.SUPPRESS))
    if arguments.worker:
        return worker(arguments.worker)
    load = LoadMonitor()
    import torch

    torch.set_num_threads(1)
    dataset, model, trainer, n_jobs = workload(arguments.quick)
    repeats = 1 if arguments.quick else 3
    runs = {1: [], 2: []}
    for _, order in interleaved_orders([1, 2], repeats):
        for n_workers in order:
            runs[n_workers].append(run_queue(n_workers, dataset, model, trainer, n_jobs))
    rates = {n: [run["jobs_per_minute"] for run in values] for n, values in runs.items()}
    speedup = statistics.median(rates[2]) / statistics.median(rates[1])
    result = {
        "workload": {"jobs": n_jobs, "dataset": dataset, "model": model, "trainer": trainer,
                     "threads_per_worker": 1},
        "repeats": repeats,
        "jobs_per_minute": {f"{n}_workers": summary(values, 2) for n, values in rates.items()},
        "seconds_per_job_1_worker": round(60 / statistics.median(rates[1]), 3),
        "speedup_2_over_1": round(speedup, 3),
        "speedup_per_pair": summary([two / one for one, two in zip(rates[1], rates[2])], 3),
        # CPU cost of a job with 1 vs 2 workers (equal: the workers do not slow each other's work down), and the
        # cores other processes took meanwhile (the machine is shared; 2 workers need 2 free cores to reach 2x)
        "cpu_seconds_per_job": {f"{n}_workers": summary([run["cpu_seconds_per_job"] for run in values], 3)
                                for n, values in runs.items()},
        "other_processes_cores": {f"{n}_workers": [run["other_processes_cores"] for run in values]
                                  for n, values in runs.items()},
        "runs": {f"{n}_workers": values for n, values in runs.items()},
        "target": {"speedup_2_over_1": f">= {TARGET_SPEEDUP}"},
        "target_met": speedup >= TARGET_SPEEDUP,
    }
    if all("jobs_per_minute_without_run_queue_wait" in run for values in runs.values() for run in values):
        # a projection, not a measurement: what the runs would give if no worker had waited for a core
        projected = {n: statistics.median(run["jobs_per_minute_without_run_queue_wait"] for run in values)
                     for n, values in runs.items()}
        result["projection_without_run_queue_wait"] = {
            "jobs_per_minute": {f"{n}_workers": round(value, 2) for n, value in projected.items()},
            "speedup_2_over_1": round(projected[2] / projected[1], 3),
        }
    write_result(NAME, result, arguments.output, arguments.quick, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
