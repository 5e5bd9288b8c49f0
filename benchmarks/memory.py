"""Peak memory: the maximum resident set size (``ru_maxrss`` from ``os.wait4``) of child processes that run

- ``baseline``: Python with torch, the package and DataJoint imported and connected to a schema, nothing trained;
- ``one_job``: ``TrainedModel().populate()`` of one job, the demo's co-training entry (digits + two simulated sessions,
  30 epochs with early stopping, robustness sets); ``--quick``: a reduced job (tiny data, 1 epoch);
- ``demo``: ``neural-cotraining demo --schema <throwaway> --output <tmp>``, the whole demo (25 jobs in 2 worker
  processes, ~2 min); skipped with ``--quick``.

Every child uses one torch thread (``OMP_NUM_THREADS=1``). Throwaway schemas are dropped afterwards.

``python -m benchmarks.memory [--quick]``  (``--job SCHEMA`` / ``--baseline SCHEMA`` are the children themselves)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (
    DEMO_COTRAIN_TRAINER,
    DEMO_MODEL,
    DEMO_NEURAL,
    REPO_ROOT,
    LoadMonitor,
    add_entries,
    child_env,
    drop_schema,
    parse_args,
    throwaway_schema,
    throwaway_schema_name,
    write_result,
)

NAME = "memory"


def job_workload(quick: bool) -> tuple[dict, dict, dict]:
    dataset = {"image": {"image_size": 16}, "neural": dict(DEMO_NEURAL)}
    trainer = dict(DEMO_COTRAIN_TRAINER)
    if quick:
        dataset = {"image": {"image_size": 16, "noise_levels": [], "corruptions": []},
                   "neural": {**DEMO_NEURAL, "n_neurons": 8, "n_train_images": 120}}
        trainer["max_epochs"] = 1
    return dataset, dict(DEMO_MODEL), {**trainer, "verbose": False}


def child(schema: str, populate: bool) -> int:
    import torch

    torch.set_num_threads(1)
    from neural_cotraining.pipeline import activate

    tables = activate(schema)
    if populate:
        result = tables.TrainedModel().populate(suppress_errors=True)
        if result["success_count"] != 1:
            print(f"populate trained {result['success_count']} models: {result['error_list']}", file=sys.stderr)
            return 1
    return 0


def peak_rss(command: list[str], timeout: float, output_tail: int = 0) -> dict:
    """Run ``command`` to its end; its peak RSS in MiB (``ru_maxrss`` of this child alone) and wall time, and the
    last ``output_tail`` characters of its output."""
    with tempfile.TemporaryFile(mode="w+") as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=child_env(threads=1), stdout=log,
                                   stderr=subprocess.STDOUT, text=True)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.2)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        log.seek(0)
        tail = log.read()[-2000:]
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... exited with {process.returncode}: {tail}")
    result = {"peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "wall_seconds": round(wall, 1)}
    if output_tail:
        result["output_tail"] = tail[-output_tail:].splitlines()
    return result


def main(argv=None) -> int:
    def extra(parser):
        parser.add_argument("--job", metavar="SCHEMA", help=argparse.SUPPRESS)
        parser.add_argument("--baseline", metavar="SCHEMA", help=argparse.SUPPRESS)

    arguments = parse_args(__doc__.splitlines()[0], argv, extra)
    if arguments.job or arguments.baseline:
        return child(arguments.job or arguments.baseline, populate=bool(arguments.job))
    load = LoadMonitor()
    import torch

    torch.set_num_threads(1)  # as in the children, so the machine info below says what they ran with
    me = [sys.executable, "-m", "benchmarks.memory"]
    dataset, model, trainer = job_workload(arguments.quick)
    result = {"workload": {"one_job": {"dataset": dataset, "model": model, "trainer": trainer, "seed": 1}}}
    with throwaway_schema("memory") as tables:
        add_entries(tables, dataset, model, trainer, seeds=[1])
        schema = tables.schema.database
        result["baseline"] = peak_rss([*me, "--baseline", schema], timeout=300)
        result["one_job"] = peak_rss([*me, "--job", schema], timeout=1800)
    if arguments.quick:
        result["demo"] = {"skipped": "--quick"}
    else:
        schema = throwaway_schema_name("demo")
        with tempfile.TemporaryDirectory() as output:
            try:
                result["demo"] = peak_rss([sys.executable, "-m", "neural_cotraining.cli", "demo", "--schema", schema,
                                           "--output", output], timeout=3600, output_tail=1200)
                from neural_cotraining.pipeline import activate

                result["demo"]["trained_models"] = len(activate(schema).TrainedModel())
            finally:
                drop_schema(schema)
    write_result(NAME, result, arguments.output, arguments.quick, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
