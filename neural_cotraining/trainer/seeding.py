"""Per-epoch randomness as a pure function of (seed, epoch).

At the start of every epoch the trainer reseeds torch's, numpy's and Python's global generators and every loader's
own ``torch.Generator`` from a seed derived from the run seed and the epoch number. An interrupted run therefore
resumes exactly at an epoch boundary without having to capture every generator's hidden state (they are still
stored in checkpoints, for completeness).
"""

from __future__ import annotations

import random

import numpy as np
import torch

from ..common.seeds import derive_training_seed

__all__ = ["seed_globals", "reseed_loader_generators"]


def seed_globals(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy and Python's global generators."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def reseed_loader_generators(named_loaders, seed: int, epoch) -> None:
    """Reseed each loader's ``generator`` (skipped where a loader has none) from (seed, loader name, epoch)."""
    for name, loader in named_loaders:
        generator = getattr(loader, "generator", None)
        if isinstance(generator, torch.Generator):
            generator.manual_seed(derive_training_seed(seed, "loader", name, epoch))
