"""Size-proportional random interleaving: every loader's batches exactly once per pass, in random order.

The order is a uniformly random arrangement of the multiset of loader labels (each loader appears len(loader)
times), i.e. at every step each loader is drawn with probability proportional to its remaining batches. Each batch
is its own round (one optimiser step per batch) unless the trainer regroups with ``round_size``.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from .base import Cycler, Slot
from .registry import register_cycler

__all__ = ["ProportionalCycler"]


class ProportionalCycler(Cycler):
    """All batches of all loaders once per pass, interleaved at random (drawn from the cycler's generator)."""

    def plan(self) -> list[list[Slot]]:
        slots = self.slots()
        lengths = [self.loader_length(task, data_key) for task, data_key in slots]
        labels = [index for index, length in enumerate(lengths) for _ in range(length)]
        order = torch.randperm(len(labels), generator=self.generator).tolist()
        return [[slots[labels[position]]] for position in order]

    def __len__(self) -> int:
        return sum(self.loader_length(task, data_key) for task, data_key in self.slots())


@register_cycler("proportional")
def proportional_cycler(loaders: Mapping, seed: int, main_task: str, ratio=None) -> ProportionalCycler:
    """Every batch once, interleaved in proportion to the loaders' sizes (``main_task`` and ``ratio`` do not apply)."""
    return ProportionalCycler(loaders, seed)
