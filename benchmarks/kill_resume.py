"""Kill and resume: a demo-size co-training job SIGKILLed at a random epoch, then run again, against an uninterrupted run.

Job: the demo's co-training entry (digits + two simulated sessions, 2-block VGG, learned likelihood weights) with a
fixed number of epochs (``patience=None``) and the pipeline's default time-based checkpoints, the interval shortened
to ``--interval`` seconds (the default is 60 s; here a few epochs, so a short job sees several checkpoints). Steps:

1. ``direct``: the same builders and trainer called directly, once: the reference weights and score;
2. a worker process (``neural-cotraining``'s own worker, ``idle_exit=0``) trains the job; once its live progress
   shows a random epoch (drawn from 2 .. epochs-1, ``--seed``), it gets SIGKILL;
3. a second worker releases the dead reservation (same host, process gone), resumes from the newest checkpoint and
   stores the job.

Figures: whether the stored weights, score and per-epoch history are bit-identical to the direct run; the epoch the
worker was killed in, the checkpoint epoch it resumed from, the epochs trained again, and the time lost (the killed
run's time after its last checkpoint was saved), against the checkpoint interval.

``python -m benchmarks.kill_resume [--quick] [--interval S] [--seed N]`` (``--worker SCHEMA`` is a worker); the
throwaway schema is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (
    DEMO_COTRAIN_TRAINER,
    DEMO_MODEL,
    DEMO_NEURAL,
    LoadMonitor,
    add_entries,
    parse_args,
    start_child,
    throwaway_schema,
    train_directly,
    write_result,
)

NAME = "kill_resume"
SEED = 1


def workload(quick: bool) -> tuple[dict, dict, dict]:
    dataset = {"image": {"image_size": 16, "noise_levels": [], "corruptions": []}, "neural": dict(DEMO_NEURAL)}
    trainer = {**DEMO_COTRAIN_TRAINER, "max_epochs": 8 if quick else 20, "patience": None, "verbose": False}
    trainer.pop("checkpoint_every", None)  # the pipeline's default: time-based checkpoints
    return dataset, dict(DEMO_MODEL), trainer


def worker_main(schema: str, interval: float) -> None:
    """The worker process: the pipeline's long-lived worker with the checkpoint interval set."""
    import logging

    import torch

    from neural_cotraining.pipeline import activate
    from neural_cotraining.pipeline.jobs.long_lived_worker import LongLivedWorker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(1)
    trained = activate(schema).TrainedModel()
    trained.checkpoint_seconds = interval
    trained.live_write_interval = 0  # every epoch in LiveJob at once: the killer watches it for the drawn epoch
    saved = []  # wall-clock times of the checkpoints, printed as they happen (the killer reads them)
    original = trained.checkpoints

    def checkpoints(key, *arguments):
        store = original(key, *arguments)
        save = store.save

        def timed_save(epoch, state):
            save(epoch, state)
            saved.append(epoch)
            print(json.dumps({"checkpoint_epoch": int(epoch), "time": time.time()}), flush=True)

        store.save = timed_save
        return store

    trained.checkpoints = checkpoints
    summary = LongLivedWorker(trained, idle_exit=0).run()
    print(json.dumps({"trained": summary.trained, "failed": len(summary.failed)}), flush=True)


def start_worker(schema: str, interval: float) -> subprocess.Popen:
    return start_child("benchmarks.kill_resume", "--worker", schema, "--interval", str(interval))


def direct_run(dataset_config: dict, model_config: dict, trainer_config: dict) -> tuple[float, dict, dict, float]:
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    score, output, state = train_directly(dataset_config, model_config, trainer_config, SEED)
    return score, output, state, time.perf_counter() - start


def main(argv=None) -> int:
    def extra(parser):
        parser.add_argument("--worker", metavar="SCHEMA", help=argparse.SUPPRESS)
        parser.add_argument("--interval", type=float, default=5.0, help="checkpoint interval in seconds")
        parser.add_argument("--seed", type=int, default=None, help="seed of the random kill epoch")

    arguments = parse_args(__doc__.splitlines()[0], argv, extra)
    if arguments.worker:
        worker_main(arguments.worker, arguments.interval)
        return 0
    load = LoadMonitor()
    dataset_config, model_config, trainer_config = workload(arguments.quick)
    epochs = trainer_config["max_epochs"]
    kill_epoch = random.Random(arguments.seed).randint(2, epochs - 1)
    score, output, state, direct_seconds = direct_run(dataset_config, model_config, trainer_config)
    import torch

    with throwaway_schema("kill_resume") as tables:
        key = {**add_entries(tables, dataset_config, model_config, trainer_config, [SEED]), "seed": SEED}
        tables.TrainedModel().jobs.refresh()
        first = start_worker(tables.schema.database, arguments.interval)
        started = time.time()
        while not len(tables.LiveJob() & f"epoch >= {kill_epoch}"):
            if first.poll() is not None:
                raise RuntimeError(f"the worker ended before epoch {kill_epoch}: {first.stderr.read()[-2000:]}")
            time.sleep(0.02)
        killed_at = time.time()
        os.kill(first.pid, signal.SIGKILL)
        stdout, _ = first.communicate()
        checkpoints = [json.loads(line) for line in stdout.splitlines() if line.startswith('{"checkpoint_epoch"')]
        last = checkpoints[-1] if checkpoints else {"checkpoint_epoch": 0, "time": started}
        second = start_worker(tables.schema.database, arguments.interval)
        stdout, stderr = second.communicate(timeout=3600)
        report = json.loads(stdout.strip().splitlines()[-1])
        if report != {"trained": 1, "failed": 0}:
            raise RuntimeError(f"the second worker did not store the job: {report} {stderr[-2000:]}")
        stored_row = (tables.TrainedModel() & key).to_dicts()[0]
        _, model = tables.TrainedModel().load_model(key, include_dataloader=True)
        stored = model.state_dict()
        identical_weights = all(torch.equal(stored[name], tensor) for name, tensor in state.items())
        database = tables.schema.database

    seconds_per_epoch = direct_seconds / epochs
    lost = killed_at - last["time"]
    result = {
        "workload": {"dataset": dataset_config, "model": model_config, "trainer": trainer_config,
                     "schema (dropped)": database},
        "checkpoint_interval_seconds": arguments.interval,
        "epochs": epochs,
        "direct_seconds": round(direct_seconds, 2),
        "seconds_per_epoch_direct": round(seconds_per_epoch, 3),
        "killed_in_epoch": kill_epoch + 1,  # killed once epoch kill_epoch was reported: during the next one
        "resumed_from_checkpoint_epoch": last["checkpoint_epoch"],
        "checkpoints_before_the_kill": [c["checkpoint_epoch"] for c in checkpoints],
        "epochs_trained_again": kill_epoch - last["checkpoint_epoch"],
        "time_lost_seconds": round(lost, 2),
        "time_lost_within_interval": lost <= arguments.interval,
        "bit_identical": {"weights": identical_weights, "score": stored_row["score"] == score,
                          "history": stored_row["output"]["history"] == output["history"]},
    }
    write_result(NAME, result, arguments.output, arguments.quick, load)
    return 0 if all(result["bit_identical"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
