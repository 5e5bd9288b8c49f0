"""Common machinery of all cyclers: a per-epoch schedule of rounds, and a pool that hands out fresh batches.

A cycler plans one epoch as a list of *rounds*, each a list of ``(task, data_key)`` slots; iterating fills the slots
with batches. The trainer takes one optimiser step per round (unless it regroups them with ``round_size``), so a
gradient-based loss weighting sees each task's gradient at the same parameters.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping

import torch

from ...common.seeds import derive_training_seed
from ...common.value_checks import check_int
from ..splits import normalise_split

__all__ = ["Cycler", "LoaderPool", "Slot"]

Slot = tuple[str, "str | None"]


class LoaderPool:
    """Hands out the next batch of each ``(task, data_key)`` loader.

    A loader that runs out gets a fresh iterator (``iter(loader)``, which reshuffles a shuffling loader). Batches are
    never cached: ``itertools.cycle`` would replay the first pass's batches in the same order forever.
    """

    def __init__(self, loaders: Mapping[str, Mapping]):
        self._loaders = loaders
        self._iterators: dict[Slot, Iterator] = {}
        #: how many iterators each loader has been given (1 + number of restarts); for logging and tests
        self.passes: dict[Slot, int] = {}

    def next_batch(self, task: str, data_key) -> object:
        slot = (task, data_key)
        iterator = self._iterators.get(slot)
        if iterator is not None:
            try:
                return next(iterator)
            except StopIteration:
                pass
        iterator = iter(self._loaders[task][data_key])
        self._iterators[slot] = iterator
        self.passes[slot] = self.passes.get(slot, 0) + 1
        try:
            return next(iterator)
        except StopIteration:
            raise ValueError(f"the loader of task {task!r}, data_key {data_key!r} yielded no batch") from None


class Cycler(ABC):
    """Base of all cyclers over ``{task: loader}`` / ``{task: {data_key: loader}}``.

    Iterating yields ``(task, data_key, batch)`` (``data_key`` is None for tasks without sessions); ``rounds()``
    yields the same items grouped into rounds. Every pass starts fresh iterators for all loaders. ``len()`` is the
    number of batches one pass yields in the current epoch. Any randomness of the plan comes from the cycler's own
    ``torch.Generator``, reseeded from (seed, epoch) by ``set_epoch``, so a pass is deterministic for a given seed.
    """

    def __init__(self, loaders: Mapping, seed: int = 0):
        self.loaders = normalise_split(loaders, "train")
        self.seed = int(seed)
        self.generator = torch.Generator()
        self.epoch = 0
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch (for epoch-dependent plans) and reseed the cycler's generator from (seed, epoch)."""
        self.epoch = int(epoch)
        self.generator.manual_seed(derive_training_seed(self.seed, "cycler", self.epoch))

    def slots(self) -> list[Slot]:
        """All ``(task, data_key)`` pairs in a fixed order (tasks in dict order, then their data_keys)."""
        return [(task, data_key) for task, loaders in self.loaders.items() for data_key in loaders]

    def loader_length(self, task: str, data_key) -> int:
        return len(self.loaders[task][data_key])

    @abstractmethod
    def plan(self) -> list[list[Slot]]:
        """The rounds of one pass in the current epoch (may draw from ``self.generator``)."""

    @abstractmethod
    def __len__(self) -> int:
        """Number of batches one pass yields in the current epoch."""

    def rounds(self, round_size: int | None = None) -> Iterator[list[tuple[str, object, object]]]:
        """Yield lists of ``(task, data_key, batch)``: the cycler's own rounds, or groups of ``round_size`` batches."""
        plan = self.plan()
        round_size = check_int("round_size", round_size, minimum=1, allow_none=True)
        if round_size is not None:
            flat = [slot for planned_round in plan for slot in planned_round]
            plan = [flat[start : start + round_size] for start in range(0, len(flat), round_size)]
        pool = LoaderPool(self.loaders)
        for planned_round in plan:
            yield [(task, data_key, pool.next_batch(task, data_key)) for task, data_key in planned_round]

    def __iter__(self) -> Iterator[tuple[str, object, object]]:
        for one_round in self.rounds():
            yield from one_round
