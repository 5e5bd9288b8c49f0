"""One job on 2 processes vs 1: training samples per second of the co-trainer with ``world_size`` 2 and 1 (CPU, gloo).

Two workloads on the demo's co-training data (digits upsampled to 16x16; two sessions of simulated neurons), batch
size 64, ratio cycler (one neural batch per image batch), fixed loss weights, Adam, one torch thread per process:
``demo``, the demo's model (``multitask_model``, 2-block core of 16 and 32 channels, as ``trainer_overhead``), whose
rounds are so short that the per-round gradient exchange weighs; and ``wide``, the same with 64 and 128 channels,
where computation dominates as in real jobs. Each run trains ``EPOCHS`` epochs; the rate is taken from
the times at which rank 0 reports epochs 1 and ``EPOCHS`` (so process start, data copying to the other rank and
the first epoch's warm-up are left out; each epoch's validation on rank 0 is in), in main-task (image) training
samples per second. The world sizes alternate (1 2, 2 1, ...); the figure is the median over the repeats. The
start-up cost of the second process (spawn, imports, copying model and data) is reported separately.

``python -m benchmarks.distributed [--quick]``
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks.common import DEMO_MODEL, LoadMonitor, interleaved_orders, parse_args, summary, write_result
from benchmarks.plain_loop import IMAGE_TASK, NEURAL_TASK
from benchmarks.trainer_overhead import build_data, build_model

NAME = "distributed"
TRAINER = {"patience": None, "lr": 1e-3, "loss_weighting": "fixed", "device": "cpu", "verbose": False,
           "loss_weighting_options": {"weights": {IMAGE_TASK: 1.0, NEURAL_TASK: 0.5}}}


class EpochClock:
    """The ``cb``: when each epoch was reported (rank 0 reports)."""

    def __init__(self):
        self.times = {}

    def __call__(self, epoch, metrics):
        self.times[epoch] = time.perf_counter()


WORKLOADS = {"demo": {}, "wide": {"block_channels": [64, 128]}}


def one_run(world_size: int, epochs: int, quick: bool, workload: str) -> dict:
    from neural_cotraining.models.builders import multitask_model
    from neural_cotraining.trainer import cotrainer

    dataloaders = build_data(quick)
    model = build_model(dataloaders) if not WORKLOADS[workload] else multitask_model(
        dataloaders, seed=1, **{**DEMO_MODEL, **WORKLOADS[workload]})
    clock = EpochClock()
    start = time.perf_counter()
    cotrainer(model, dataloaders, seed=1, cb=clock, world_size=world_size, max_epochs=epochs, **TRAINER)
    samples = len(dataloaders["train"][IMAGE_TASK].dataset)
    steady = clock.times[epochs] - clock.times[1]
    return {"world_size": world_size, "samples_per_second": samples * (epochs - 1) / steady,
            "first_epoch_seconds": clock.times[1] - start, "epoch_seconds": steady / (epochs - 1)}


def main(argv=None) -> int:
    arguments = parse_args(__doc__.splitlines()[0], argv)
    load = LoadMonitor()
    torch.set_num_threads(1)
    epochs, repeats = (2, 1) if arguments.quick else (4, 3)
    result = {"repeats": repeats, "workloads": {}}
    for workload in WORKLOADS:
        runs = {1: [], 2: []}
        for _, order in interleaved_orders([1, 2], repeats):
            for world_size in order:
                runs[world_size].append(one_run(world_size, epochs, arguments.quick, workload))
        rates = {n: [run["samples_per_second"] for run in values] for n, values in runs.items()}
        first = {n: statistics.median(run["first_epoch_seconds"] for run in values) for n, values in runs.items()}
        result["workloads"][workload] = {
            "model": {**DEMO_MODEL, **WORKLOADS[workload]},
            "samples_per_second": {f"world_size_{n}": summary(values, 1) for n, values in rates.items()},
            "speedup_2_over_1": round(statistics.median(rates[2]) / statistics.median(rates[1]), 3),
            "speedup_per_pair": summary([two / one for one, two in zip(rates[1], rates[2])], 3),
            # the first epoch includes starting the second process, copying model and data to it, and warm-up
            "first_epoch_seconds": {f"world_size_{n}": round(value, 2) for n, value in first.items()},
            "runs": {f"world_size_{n}": values for n, values in runs.items()},
        }
    result["setup"] = {"data": "demo co-training (digits 16x16 + 2 simulated sessions)", "batch_size": 64,
                       "epochs_per_run": epochs, "threads_per_process": 1, "backend": "gloo",
                       "rate_unit": "main-task (image) training samples per second, one neural batch per image "
                                    "batch; 2 processes need 2 free cores (see load_during_benchmark)"}
    write_result(NAME, result, arguments.output, arguments.quick, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
