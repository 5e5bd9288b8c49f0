"""Checking ``world_size`` and ``backend`` before anything is started."""

from __future__ import annotations

import torch

__all__ = ["check_distributed_options", "KNOWN_BACKENDS"]

KNOWN_BACKENDS = ("gloo", "nccl", "mpi", "ucc", "xccl")
GRADIENT_BASED_WEIGHTINGS = ("gradnorm", "pcgrad")


def check_distributed_options(world_size, backend, device, loss_weighting=None) -> tuple[int, str | None]:
    """``(world_size, backend)`` with the backend resolved (None when world_size is 1); one-line ``ValueError``s
    for a world_size below 1, a backend torch does not know or lacks here, a backend that does not fit the device,
    more CUDA processes than visible GPUs, and a gradient-based loss weighting."""
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size must be a whole number of processes, at least 1, not {world_size!r}")
    if backend is not None and (not isinstance(backend, str) or backend.lower() not in KNOWN_BACKENDS):
        raise ValueError(f"backend {backend!r} is unknown to torch.distributed; choose one of {list(KNOWN_BACKENDS)} "
                         "(gloo on CPU, nccl on CUDA)")
    if world_size == 1:
        return 1, None
    cuda = torch.device(device).type == "cuda" if device is not None else torch.cuda.is_available()
    backend = (backend or ("nccl" if cuda else "gloo")).lower()
    if backend == "nccl" and not cuda:
        raise ValueError("backend 'nccl' needs CUDA devices; use 'gloo' on CPU")
    if not torch.distributed.is_available() or not torch.distributed.is_backend_available(backend):
        raise ValueError(f"backend {backend!r} is not available in this torch build")
    if cuda and world_size > torch.cuda.device_count():
        raise ValueError(f"world_size {world_size} needs {world_size} GPUs, but {torch.cuda.device_count()} are "
                         "visible here")
    if loss_weighting in GRADIENT_BASED_WEIGHTINGS:
        raise ValueError(f"loss_weighting {loss_weighting!r} compares per-task gradients and does not run on several "
                         "processes yet; use world_size 1, or likelihood / dwa / fixed / equal weighting")
    return world_size, backend
