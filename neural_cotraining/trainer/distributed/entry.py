"""The distributed entry: a plan with ``world_size > 1`` is trained here, each rank assembling its own trainer.

:func:`train_distributed` starts the ranks (:func:`~.launch.launch`); every rank, this process as rank 0 included,
runs :func:`train_on_rank` with its :class:`~.launch.RankContext`: its shard of every training batch, its own GPU,
the loss weighting wrapped in :class:`~.training.GradientAveraging`, and a :class:`~.training.DistributedCoTrainer`
that evaluates on the full splits.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ..assembly import resolve_device, trainer_arguments
from ..plan import TrainerPlan
from ..splits import normalise_dataloaders
from .launch import RankContext, launch
from .sharding import shard_split
from .training import DistributedCoTrainer, GradientAveraging

__all__ = ["train_distributed", "train_on_rank"]


def train_on_rank(rank: RankContext, plan: TrainerPlan, model: torch.nn.Module, dataloaders: Mapping, seed: int,
                  uid, cb):
    """Train ``plan`` as ``rank``; rank 0 returns the job's ``(score, output, model_state)``."""
    full_splits = normalise_dataloaders(dataloaders)
    splits = {**full_splits, "train": shard_split(full_splits["train"], rank.rank, rank.world_size)}
    device = resolve_device(plan.device)
    if device.type == "cuda":
        device = torch.device("cuda", rank.rank)  # one GPU per process
    arguments = trainer_arguments(plan, model, splits, seed, uid, cb, device)
    arguments["weighting"] = GradientAveraging(arguments["weighting"], arguments["optimizer"], rank.world_size,
                                               rank.group)
    trainer = DistributedCoTrainer(**arguments, rank=rank.rank, world_size=rank.world_size, group=rank.group,
                                   evaluation_splits=full_splits)
    return trainer.train()


def train_distributed(plan: TrainerPlan, model: torch.nn.Module, dataloaders: Mapping, seed: int, uid=None, cb=None):
    """Train ``plan`` on ``plan.world_size`` processes of this machine (this one is rank 0)."""
    return launch(train_on_rank, plan, model, dataloaders, seed, uid, cb, plan.world_size, plan.backend)
