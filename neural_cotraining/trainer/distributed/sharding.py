"""Each rank's share of the training batches: the rank's contiguous slice of every batch the loader would give.

Slicing the single-process batches (rather than giving each rank its own sampler over the dataset) keeps the global
batch and its composition exactly as with one process: the mean of the ranks' mean gradients over equal slices is
the gradient of the batch mean. A batch whose size is not a multiple of the world size (typically an epoch's last)
is padded with its own first samples, as torch's ``DistributedSampler`` pads, so that every rank gets an equal,
non-empty slice; only such batches weigh a few samples twice. The loader's own sampler and generator are reused, so the trainer's per-epoch
reseeding (``trainer.seeding``) shuffles identically on every rank, and the cyclers see the same number of batches.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch.utils.data import DataLoader, Sampler

__all__ = ["ShardedBatchSampler", "shard_loader", "shard_split"]


class ShardedBatchSampler(Sampler):
    """Yields rank ``rank``'s slice (of ``world_size`` equal contiguous slices) of each batch of ``batch_sampler``,
    the batch padded with its first samples to a multiple of ``world_size``."""

    def __init__(self, batch_sampler, rank: int, world_size: int):
        self.batch_sampler = batch_sampler
        self.rank = rank
        self.world_size = world_size

    def __iter__(self):
        for batch in self.batch_sampler:
            batch = list(batch)
            short = -len(batch) % self.world_size
            padded = batch + [batch[i % len(batch)] for i in range(short)]
            size = len(padded) // self.world_size
            yield padded[self.rank * size:(self.rank + 1) * size]

    def __len__(self) -> int:
        return len(self.batch_sampler)


def shard_loader(loader, rank: int, world_size: int, where: str) -> DataLoader:
    """A DataLoader over the same data yielding this rank's slice of each batch; ``where`` names it in errors."""
    if not isinstance(loader, DataLoader) or loader.batch_sampler is None or loader.batch_size is None:
        raise ValueError(f"{where}: world_size > 1 needs a torch DataLoader with a batch_size, whose batches are "
                         f"split over the processes; got {type(loader).__name__}")
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
