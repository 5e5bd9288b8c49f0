"""Starting the ranks of one job: the calling process is rank 0, ranks 1..N-1 are spawned processes on this machine.

Each rank runs ``train(rank, plan, model, dataloaders, seed, uid, cb)`` inside :func:`rank_context`, ``rank`` being
its :class:`RankContext` (``entry.train_on_rank`` shards its loaders and builds a
:class:`~.training.DistributedCoTrainer` from it). The other ranks get copies of the plan, the model and the dataloaders (pickled by the spawn), ``cb`` replaced by a stand-in that only hands over
the state the job resumes from. A rank that raises sends its error to rank 0 and exits; rank 0 then raises
:class:`RankFailedError` with that error, stops the remaining ranks and tears the process group down, so a worker
process can run the next job.
"""

from __future__ import annotations

import contextlib
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

__all__ = ["RankFailedError", "RankContext", "launch", "rank_context"]

logger = logging.getLogger(__name__)

#: how long the ranks wait for each other to start (a rank that dies while starting fails the job after this)
START_TIMEOUT = datetime.timedelta(minutes=5)
#: how long a rank waits in a collective (e.g. while rank 0 evaluates) before giving up
COLLECTIVE_TIMEOUT = datetime.timedelta(hours=6)


class RankFailedError(RuntimeError):
    """Another rank of a distributed job failed; the message carries that rank's error."""


@dataclass(frozen=True)
class RankContext:
    rank: int
    world_size: int
    backend: str
    group: object  # the process group of the training collectives (long timeout)


@contextlib.contextmanager
def rank_context(rank: int, world_size: int, backend: str, init_method: str):
    """Join the process group as ``rank`` for the block, which gets the :class:`RankContext`; leave it afterwards
    (also on errors)."""
    dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=world_size,
                            timeout=START_TIMEOUT)
    group = dist.new_group(list(range(world_size)), timeout=COLLECTIVE_TIMEOUT)
    try:
        yield RankContext(rank, world_size, backend, group)
    finally:
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
    plan, model, dataloaders, seed, uid, resume = pickle.loads(payload)
    try:
        with rank_context(rank, world_size, backend, init_method) as context:
            train(context, plan, model, dataloaders, seed, uid, _ResumeOnly(resume))
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


def launch(train, plan, model, dataloaders, seed, uid, cb, world_size: int, backend: str):
    """Run ``train(rank, plan, model, dataloaders, seed, uid, cb)`` on ``world_size`` processes (this one is rank 0);
    returns rank 0's result."""
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    init_method = f"tcp://127.0.0.1:{_free_port()}"
    resume_state = getattr(cb, "resume_state", None)
    resume = resume_state() if callable(resume_state) else None
    # plain pickle (tensors by value): multiprocessing's own pickler would share tensors through file descriptors
    payload = pickle.dumps((plan, model, dataloaders, seed, uid, resume))
    processes = [
        context.Process(target=_rank_main, args=(rank, world_size, backend, init_method, train, payload, errors),
                        name=f"rank-{rank}")  # not a daemon: its DataLoaders may start worker processes
        for rank in range(1, world_size)
    ]
    logger.info("training on %d processes (%s), rank 0 is process %d", world_size, backend, os.getpid())
    for process in processes:
        process.start()
    try:
        with rank_context(0, world_size, backend, init_method) as context:
            result = train(context, plan, model, dataloaders, seed, uid, cb)
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
