"""Each rank's share of the training batches: the rank's contiguous slice of every batch the loader would give.

Slicing the single-process batches (rather than giving each rank its own sampler over the dataset) keeps the global
batch and its composition exactly as with one process: the mean of the ranks' mean gradients over equal slices is
the gradient of the batch mean. The loader's own sampler and generator are reused, so the trainer's per-epoch
reseeding (``trainer.seeding``) shuffles identically on every rank, and the cyclers see the same number of batches.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from torch.utils.data import DataLoader, Sampler

__all__ = ["ShardedBatchSampler", "shard_loader", "shard_split"]


class ShardedBatchSampler(Sampler):
    """Yields rank ``rank``'s slice (of ``world_size`` near-equal contiguous slices) of each batch of
    ``batch_sampler``."""

    def __init__(self, batch_sampler, rank: int, world_size: int):
        self.batch_sampler = batch_sampler
        self.rank = rank
        self.world_size = world_size

    def __iter__(self):
        for batch in self.batch_sampler:
            yield np.array_split(np.asarray(batch), self.world_size)[self.rank].tolist()

    def __len__(self) -> int:
        return len(self.batch_sampler)


def shard_loader(loader, rank: int, world_size: int, where: str) -> DataLoader:
    """A DataLoader over the same data yielding this rank's slice of each batch; ``where`` names it in errors."""
    if not isinstance(loader, DataLoader) or loader.batch_sampler is None or loader.batch_size is None:
        raise ValueError(f"{where}: world_size > 1 needs a torch DataLoader with a batch_size, whose batches are "
                         f"split over the processes; got {type(loader).__name__}")
    batch_size = loader.batch_size
    remainder = 0 if loader.drop_last else len(loader.dataset) % batch_size
    smallest = min(batch_size, remainder) if remainder else batch_size
    if smallest < world_size:
        raise ValueError(f"{where}: a batch of {smallest} samples cannot be split over world_size {world_size} "
                         "processes; use a larger batch_size (or drop_last)")
    options = {}
    if loader.num_workers > 0:
        options = {"prefetch_factor": loader.prefetch_factor, "persistent_workers": loader.persistent_workers}
    return DataLoader(
        loader.dataset,
        batch_sampler=ShardedBatchSampler(loader.batch_sampler, rank, world_size),
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context,
        generator=loader.generator,  # the sampler's own: reseeding the loader reseeds the shuffle
        **options,
    )


def shard_split(split: Mapping, rank: int, world_size: int, split_name: str = "train") -> dict:
    """A normalised split ``{task: {data_key: loader}}`` with every loader sharded for ``rank``."""
    return {
        task: {
            data_key: shard_loader(loader, rank, world_size, f"dataloaders[{split_name!r}][{task!r}]"
                                   + (f"[{data_key!r}]" if data_key is not None else ""))
            for data_key, loader in loaders.items()
        }
        for task, loaders in split.items()
    }
