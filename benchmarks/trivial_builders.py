"""Builders of a trivial job for the queue benchmark: almost no data, a 1x1 linear model, a trainer that reports
one epoch and returns at once, recording when it ran so the benchmark sees the pipeline's own time between jobs."""

from __future__ import annotations

import time

import torch

#: per job trained in this process: (seed, trainer entered, cb returned, trainer returned) in perf_counter seconds,
#: then (process CPU seconds, seconds spent waiting for a CPU) at entry and at return
CALLS: list[tuple] = []


def _run_queue_wait() -> float:
    """Seconds this process's main thread has waited in a run queue for a CPU (Linux schedstat; 0 elsewhere)."""
    try:
        with open("/proc/self/schedstat") as handle:
            return int(handle.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def trivial_data(seed):
    data = [(torch.zeros(1, 1), torch.zeros(1, 1))]
    return {"train": {"t": data}, "validation": {"t": data}, "test": {"t": data}}


def trivial_model(dataloaders, seed):
    torch.manual_seed(int(seed))
    return torch.nn.Linear(1, 1)


def trivial_trainer(model, dataloaders, seed, uid=None, cb=None):
    entered, cpu_entered, wait_entered = time.perf_counter(), time.process_time(), _run_queue_wait()
    if cb is not None:
        cb(epoch=1, metrics={"validation": {"t": {"loss": 0.0}}})  # one live progress write, as a real epoch makes
    reported = time.perf_counter()
    state = model.state_dict()
    CALLS.append((int(seed), entered, reported, time.perf_counter(), cpu_entered, time.process_time(), wait_entered,
                  _run_queue_wait()))
    return 0.0, {"epochs": 1}, state
