"""Starting the ranks of one job: the calling process is rank 0, ranks 1..N-1 are spawned processes on this machine.

Each rank runs ``train(model, dataloaders, seed, uid, cb, **config)`` inside :func:`rank_context` (which the trainer
builder reads to shard its loaders and to build a :class:`~.training.DistributedCoTrainer`). The other ranks get
copies of the model and the dataloaders (pickled by the spawn), ``cb`` replaced by a stand-in that only hands over
the state the job resumes from. A rank that raises sends its error to rank 0 and exits; rank 0 then raises
:class:`RankFailedError` with that error, stops the remaining ranks and tears the process group down, so a worker
process can run the next job.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import logging
import multiprocessing
import os
import pickle
import queue
import signal
import socket
import traceback
from dataclasses import dataclass

import torch.distributed as dist

__all__ = ["RankFailedError", "RankContext", "current_rank", "launch", "rank_context"]

logger = logging.getLogger(__name__)

#: how long the ranks wait for each other to start (a rank that dies while starting fails the job after this)
START_TIMEOUT = datetime.timedelta(minutes=5)
#: how long a rank waits in a collective (e.g. while rank 0 evaluates) before giving up
COLLECTIVE_TIMEOUT = datetime.timedelta(hours=6)
_CURRENT: contextvars.ContextVar = contextvars.ContextVar("neural_cotraining_rank", default=None)


class RankFailedError(RuntimeError):
    """Another rank of a distributed job failed; the message carries that rank's error."""


@dataclass(frozen=True)
class RankContext:
    rank: int
    world_size: int
    backend: str
    group: object  # the process group of the training collectives (long timeout)


def current_rank() -> RankContext | None:
    """The rank this code runs as inside :func:`launch`, else None."""
    return _CURRENT.get()


@contextlib.contextmanager
def rank_context(rank: int, world_size: int, backend: str, init_method: str):
    """Join the process group as ``rank`` for the block; leave it afterwards (also on errors)."""
    dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=world_size,
                            timeout=START_TIMEOUT)
    group = dist.new_group(list(range(world_size)), timeout=COLLECTIVE_TIMEOUT)
    token = _CURRENT.set(RankContext(rank, world_size, backend, group))
    try:
        yield
    finally:
        _CURRENT.reset(token)
        dist.destroy_process_group()


class _ResumeOnly:
    """The ``cb`` of ranks 1..N-1: no reports (rank 0 reports), only the state the job resumes from."""

    def __init__(self, state):
        self._state = state

    def __call__(self):
        pass

    def resume_state(self):
        return self._state


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rank_main(rank, world_size, backend, init_method, train, payload, errors) -> None:
    """Entry point of ranks 1..N-1."""
    # rank 0 decides when the job stops (a scheduler's SIGTERM or a Ctrl-C reaches the whole process group): it
    # checkpoints at the end of the epoch, then ends these processes itself
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    model, dataloaders, seed, uid, resume, config = pickle.loads(payload)
    try:
        with rank_context(rank, world_size, backend, init_method):
            train(model, dataloaders, seed, uid=uid, cb=_ResumeOnly(resume), **config)
    except BaseException as error:  # noqa: BLE001 -- every failure must reach rank 0
        errors.put((rank, f"{type(error).__name__}: {error}", traceback.format_exc()))
        raise SystemExit(1) from None


def _failure_of_others(processes, errors, wait: float) -> str | None:
    """The first error another rank reported (waiting up to ``wait`` s for one), or how a rank died, or None."""
    try:
        rank, message, _ = errors.get(timeout=wait)
        return f"rank {rank} failed: {message}"
    except queue.Empty:
        pass
    for rank, process in enumerate(processes, start=1):
        if process.exitcode not in (None, 0):
            return f"rank {rank} died (exit code {process.exitcode})"
    return None


def launch(train, model, dataloaders, seed, uid, cb, world_size: int, backend: str, config: dict):
    """Run ``train`` on ``world_size`` processes (this one is rank 0); returns rank 0's result."""
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    init_method = f"tcp://127.0.0.1:{_free_port()}"
    resume_state = getattr(cb, "resume_state", None)
    resume = resume_state() if callable(resume_state) else None
    # plain pickle (tensors by value): multiprocessing's own pickler would share tensors through file descriptors
    payload = pickle.dumps((model, dataloaders, seed, uid, resume, config))
    processes = [
        context.Process(target=_rank_main, args=(rank, world_size, backend, init_method, train, payload, errors),
                        name=f"rank-{rank}")  # not a daemon: its DataLoaders may start worker processes
        for rank in range(1, world_size)
    ]
    logger.info("training on %d processes (%s), rank 0 is process %d", world_size, backend, os.getpid())
    for process in processes:
        process.start()
    try:
        with rank_context(0, world_size, backend, init_method):
            result = train(model, dataloaders, seed, uid=uid, cb=cb, **config)
    except BaseException as error:
        # a failed collective means another rank went away: report that rank's error; else rank 0's own counts
        other = _failure_of_others(processes, errors, wait=5.0 if isinstance(error, dist.DistError) else 0.0)
        _stop(processes)
        if other is not None:
            raise RankFailedError(f"{other} (rank 0 then stopped with {type(error).__name__})") from error
        raise
    for process in processes:
        process.join(timeout=60)  # they return right after rank 0's last collective
    _stop(processes)
    other = _failure_of_others(processes, errors, wait=0.0)
    if other is not None:
        raise RankFailedError(other)
    return result


def _stop(processes) -> None:
    for process in processes:
        if process.is_alive():
            process.kill()
        process.join()
