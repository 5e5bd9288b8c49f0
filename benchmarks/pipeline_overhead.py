"""Pipeline overhead: ``TrainedModel.populate()`` of one job vs. calling the same builders and trainer directly.

Job: the demo's co-training entry (digits + two simulated sessions, 2-block VGG, learned likelihood weights, the
demo's monitor) for the demo's 30 epochs (``patience=None``, so every run does the same work, about 25 s on an idle
core).
Variants, alternating in rotating order in one process (one connection, opened before timing):

- ``direct``: ``cotraining_loaders(...)``, ``multitask_model(...)``, ``cotrainer(..., cb=None)``;
- ``populate``: ``TrainedModel().populate(key, reserve_jobs=True)`` (the trained row is deleted between repeats,
  untimed), as a user runs it: live progress on, checkpoints by time (the default, every 60 s);
- ``populate_checkpoints``: the same with ``checkpoint_every`` set, so ``cb`` writes training states to the
  ``Checkpoint`` table during training.

Figures: extra wall time in % two ways -- the difference of the median wall times (exposed to load drift), and
accounted inside each populate run (its wall time minus the time spent in the dataset/model builders and in the
trainer, plus the time the trainer spent in ``cb``); the same accounting in CPU time (``time.process_time``: this
process's threads, the reservation keeper's included), which other processes' load disturbs less; database time
per epoch (make_fetch, make_insert with its EpochMetric rows, job reservation, heartbeats) and per checkpoint
(``CheckpointStore.save``, timed in the populate runs and in a separate loop of saves of a real training state, with
its size), and the default checkpoints' share (one save per ``TrainedModel.checkpoint_seconds``).

``python -m benchmarks.pipeline_overhead [--quick]``; the throwaway schema is dropped at the end.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks.common import (
    LoadMonitor,
    DEMO_COTRAIN_TRAINER,
    DEMO_MODEL,
    DEMO_NEURAL,
    DATASET_FN,
    MODEL_FN,
    TRAINER_FN,
    Stopwatch,
    add_entries,
    interleaved_orders,
    parse_args,
    summary,
    throwaway_schema,
    train_directly,
    write_result,
)

NAME = "pipeline_overhead"
TARGET_PERCENT = 1.0
CHECKPOINT_TARGET_PERCENT = 2.0  # the default checkpoints' cost
SEED = 1


def workload(quick: bool) -> tuple[dict, dict, dict, int]:
    """(dataset config, model config, trainer config, checkpoint interval)."""
    dataset = {"image": {"image_size": 16}, "neural": dict(DEMO_NEURAL)}
    trainer = {**DEMO_COTRAIN_TRAINER, "max_epochs": 30, "patience": None, "verbose": False}
    checkpoint_every = 5
    if quick:
        dataset = {"image": {"image_size": 16, "noise_levels": [], "corruptions": []},
                   "neural": {**DEMO_NEURAL, "n_neurons": 8, "n_train_images": 120}}
        trainer.update(max_epochs=2)
        checkpoint_every = 1
    return dataset, dict(DEMO_MODEL), trainer, checkpoint_every


def instrument(tables) -> Stopwatch:
    """Time the pipeline's parts in place (restored by ``watch.restore()``)."""
    from datajoint.jobs import Job

    import neural_cotraining.dataset.builders as dataset_builders
    import neural_cotraining.models.builders as model_builders
    import neural_cotraining.pipeline.jobs.live_progress as live_progress
    import neural_cotraining.pipeline.trained_model as trained_model
    import neural_cotraining.trainer.builders as trainer_builders
    from neural_cotraining.pipeline.jobs.callback import TrainingCallback
    from neural_cotraining.pipeline.jobs.checkpoints import CheckpointStore
    from neural_cotraining.pipeline.jobs.live_progress import LiveProgress
    from neural_cotraining.pipeline.jobs.reservations import Reservation

    from neural_cotraining import registry

    watch = Stopwatch()
    watch.wrap(dataset_builders, "cotraining_loaders", "build_dataset")
    watch.wrap(model_builders, "multitask_model", "build_model")
    watch.wrap(trainer_builders, "cotrainer", "train")
    # the pipeline resolves its builders through the registry, which holds the functions themselves
    for name, label in ((DATASET_FN, "build_dataset"), (MODEL_FN, "build_model"), (TRAINER_FN, "train")):
        watch.wrap_item(registry._registered, name, label)
    watch.wrap(trained_model.TrainedModelMethods, "make_fetch")
    watch.wrap(trained_model.TrainedModelMethods, "make_compute")
    watch.wrap(trained_model.TrainedModelMethods, "make_insert")
    watch.wrap(trained_model, "serialize_state")
    watch.wrap(TrainingCallback, "__call__", "callback")
    watch.wrap(LiveProgress, "flush", "live_write")
    watch.wrap(Reservation, "renew", "heartbeat")  # from the worker's keeper thread: not on the training path
    watch.wrap(CheckpointStore, "save", "checkpoint_save")
    watch.wrap(CheckpointStore, "latest", "checkpoint_latest")
    watch.wrap(CheckpointStore, "clear", "checkpoint_clear")
    watch.wrap(Job, "refresh", "jobs_refresh")
    watch.wrap(Job, "reserve", "jobs_reserve")
    watch.wrap(Reservation, "complete", "jobs_complete")
    watch.wrap(trained_model, "insert_rows", "epoch_metric_insert")  # the stored per-epoch rows
    watch.wrap(live_progress, "insert_rows", "live_epoch_insert")  # live progress's rows, while training
    watch.wrap(tables.TrainedModel.ModelState, "insert1", "model_state_insert")
    return watch


def run_direct(dataset_config: dict, model_config: dict, trainer_config: dict, watch: Stopwatch) -> dict:
    watch.reset()
    start = time.perf_counter()
    _, output, _ = train_directly(dataset_config, model_config, trainer_config, SEED)
    wall = time.perf_counter() - start
    return {"wall": wall, "epochs": output["epochs_run"], "parts": dict(watch.seconds), "calls": dict(watch.calls),
            "train_cpu": watch.cpu_seconds["train"]}


def run_populate(tables, key: dict, watch: Stopwatch) -> dict:
    trained = tables.TrainedModel()
    (trained & key).delete(prompt=False)  # untimed: the previous repeat's result
    watch.reset()
    start, cpu_start = time.perf_counter(), time.process_time()
    result = trained.populate(key, reserve_jobs=True)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if result["success_count"] != 1:
        raise RuntimeError(f"populate trained {result['success_count']} models, not 1: {result}")
    parts, calls = dict(watch.seconds), dict(watch.calls)
    work = parts["build_dataset"] + parts["build_model"] + parts["train"]
    # the trainer's time includes cb (heartbeats, metric rows, checkpoints): that part is the pipeline's
    overhead = wall - work + parts.get("callback", 0.0)
    cpu_parts = dict(watch.cpu_seconds)
    cpu_work = cpu_parts["build_dataset"] + cpu_parts["build_model"] + cpu_parts["train"]
    cpu_overhead = cpu - cpu_work + cpu_parts.get("callback", 0.0)
    database = (parts["make_fetch"] + parts["make_insert"]
                + parts.get("checkpoint_latest", 0.0) + (wall - parts["make_fetch"] - parts["make_compute"]
                                                         - parts["make_insert"]))
    epochs = int((tables.TrainedModel() & key).to_dicts()[0]["output"]["epochs_run"])
    rows = len(tables.TrainedModel.EpochMetric() & key)
    return {"wall": wall, "epochs": epochs, "epoch_metric_rows": rows, "overhead_seconds": overhead,
            "cpu": cpu, "cpu_work": cpu_work, "cpu_overhead_seconds": cpu_overhead, "train_cpu": cpu_parts["train"],
            "database_seconds_without_checkpoints": database, "parts": parts, "calls": calls}


def checkpoint_loop(tables, key: dict, dataset_config: dict, model_config: dict, saves: int) -> dict:
    """Save a real training state (after one epoch) ``saves`` times through ``CheckpointStore``."""
    from neural_cotraining.dataset.builders import cotraining_loaders
    from neural_cotraining.models.builders import multitask_model
    from neural_cotraining.common.torch_bytes import to_torch_bytes
    from neural_cotraining.pipeline.jobs.checkpoints import CheckpointStore
    from neural_cotraining.trainer.builders import cotrainer

    captured = {}

    def callback(epoch=None, metrics=None, state=None):
        if state is not None:
            captured["state"] = state

    dataloaders = cotraining_loaders(seed=SEED, **dataset_config)
    model = multitask_model(dataloaders, seed=SEED, **model_config)
    trainer_config = {**DEMO_COTRAIN_TRAINER, "max_epochs": 1, "checkpoint_every": 1, "verbose": False}
    cotrainer(model=model, dataloaders=dataloaders, seed=SEED, cb=callback, **trainer_config)
    state = captured["state"]
    serialize_seconds, save_seconds = [], []
    for _ in range(saves):
        start = time.perf_counter()
        data = to_torch_bytes(state)
        serialize_seconds.append(time.perf_counter() - start)
    store = CheckpointStore(tables.Checkpoint, {**key, "seed": SEED}, keep=2)
    for epoch in range(1, saves + 1):
        start = time.perf_counter()
        store.save(epoch, state)
        save_seconds.append(time.perf_counter() - start)
    start = time.perf_counter()
    store.latest()
    latest_seconds = time.perf_counter() - start
    store.clear()
    return {"state_bytes": len(data), "state_mib": round(len(data) / 2**20, 3),
            "model_parameters": sum(p.numel() for p in model.parameters()),
            "save_seconds": summary(save_seconds, 4), "serialize_seconds": summary(serialize_seconds, 4),
            "latest_seconds": round(latest_seconds, 4)}


def main(argv=None) -> int:
    arguments = parse_args(__doc__.splitlines()[0], argv)
    load = LoadMonitor()
    torch.set_num_threads(1)
    repeats = 1 if arguments.quick else 3
    dataset_config, model_config, trainer_config, checkpoint_every = workload(arguments.quick)
    checkpoint_config = {**trainer_config, "checkpoint_every": checkpoint_every}
    runs = {"direct": [], "populate": [], "populate_checkpoints": []}
    with throwaway_schema("pipeline") as tables:
        key = {**add_entries(tables, dataset_config, model_config, trainer_config, [SEED]), "seed": SEED}
        checkpoint_key = {**key, **tables.Trainer().add_entry(TRAINER_FN, checkpoint_config, comment="benchmark")}
        checkpoints = checkpoint_loop(tables, key, dataset_config, model_config, 3 if arguments.quick else 10)
        watch = instrument(tables)
        try:
            # warm-up: imports, first-call costs of torch and the connection, untimed
            run_direct(dataset_config, model_config, {**trainer_config, "max_epochs": 1}, watch)
            for _, order in interleaved_orders(list(runs), repeats):
                for variant in order:
                    if variant == "direct":
                        runs[variant].append(run_direct(dataset_config, model_config, trainer_config, watch))
                    else:
                        job = key if variant == "populate" else checkpoint_key
                        runs[variant].append(run_populate(tables, job, watch))
        finally:
            watch.restore()
        database = tables.schema.database

    direct = statistics.median(run["wall"] for run in runs["direct"])
    epochs = runs["populate"][0]["epochs"]
    result = {
        "workload": {"dataset": dataset_config, "model": model_config, "trainer": trainer_config,
                     "checkpoint_every (populate_checkpoints)": checkpoint_every, "schema (dropped)": database},
        "repeats": repeats,
        "epochs": epochs,
        "wall_seconds": {variant: summary([run["wall"] for run in values], 3) for variant, values in runs.items()},
        # the trainer's CPU seconds (cb's included) in each variant: the same work, so a pipeline that slowed the
        # training itself down (threads, locks) would show here, outside the accounted overhead
        "train_cpu_seconds": {variant: summary([run["train_cpu"] for run in values], 3)
                              for variant, values in runs.items()},
    }
    for variant in ("populate", "populate_checkpoints"):
        values = runs[variant]
        populate_wall = statistics.median(run["wall"] for run in values)
        overhead = [100 * run["overhead_seconds"] / direct for run in values]
        db = statistics.median(run["database_seconds_without_checkpoints"] for run in values)
        parts = {label: statistics.median(run["parts"].get(label, 0.0) for run in values)
                 for label in sorted({label for run in values for label in run["parts"]})}
        entry = {
            "extra_wall_percent_median_difference": round(100 * (populate_wall / direct - 1), 2),
            "extra_wall_percent_accounted": summary(overhead, 2),
            "extra_wall_seconds_accounted": round(statistics.median(run["overhead_seconds"] for run in values), 3),
            # CPU time: the pipeline's own CPU seconds over the builders' and trainer's in the same run
            "extra_cpu_percent_accounted": summary(
                [100 * run["cpu_overhead_seconds"] / run["cpu_work"] for run in values], 2),
            "extra_cpu_seconds_accounted": round(statistics.median(run["cpu_overhead_seconds"] for run in values), 3),
            "database_seconds_per_epoch": round(db / epochs, 5),
            "database_seconds_per_job": round(db, 3),
            "epoch_metric_rows": values[0]["epoch_metric_rows"],
            "epoch_metric_insert_seconds_per_epoch": round(parts.get("epoch_metric_insert", 0.0) / epochs, 5),
            "median_seconds_by_part": {label: round(seconds, 4) for label, seconds in parts.items()},
            "calls_by_part": values[0]["calls"],
        }
        if variant == "populate_checkpoints":
            saves = values[0]["calls"].get("checkpoint_save", 0)
            entry["checkpoints_per_job"] = saves
            if saves:
                entry["checkpoint_save_seconds_each"] = round(parts["checkpoint_save"] / saves, 4)
        result[variant] = entry
    result["checkpoint_save_loop"] = checkpoints
    headline = result["populate"]
    result["extra_wall_percent"] = headline["extra_wall_percent_accounted"]["median"]
    result["database_seconds_per_epoch"] = headline["database_seconds_per_epoch"]
    result["checkpoint_save_seconds"] = checkpoints["save_seconds"]["median"]
    result["checkpoint_state_mib"] = checkpoints["state_mib"]
    result["extra_cpu_percent"] = headline["extra_cpu_percent_accounted"]["median"]
    # the default checkpoints: one save per TrainedModel.checkpoint_seconds of training
    from neural_cotraining.pipeline.trained_model import TrainedModelMethods

    result["default_checkpoint_percent"] = round(
        100 * result["checkpoint_save_seconds"] / TrainedModelMethods.checkpoint_seconds, 3)
    result["target"] = {"extra_wall_percent": f"<= {TARGET_PERCENT}",
                        "default_checkpoint_percent": f"<= {CHECKPOINT_TARGET_PERCENT}"}
    result["target_met"] = (result["extra_wall_percent"] <= TARGET_PERCENT
                            and result["default_checkpoint_percent"] <= CHECKPOINT_TARGET_PERCENT)
    write_result(NAME, result, arguments.output, arguments.quick, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
