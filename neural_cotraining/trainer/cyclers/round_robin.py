"""Round-robin over all loaders: one batch from each loader per round.

``max_size_cycle`` runs until the longest loader is exhausted (shorter ones restart with a fresh, reshuffled
iterator); ``min_size`` stops when the shortest is exhausted. (The names follow PyTorch Lightning's CombinedLoader.)
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import Cycler, Slot
from .registry import register_cycler

__all__ = ["RoundRobinCycler"]

MODES = ("max_size_cycle", "min_size")


class RoundRobinCycler(Cycler):
    """Rounds of one batch per ``(task, data_key)`` loader, as many rounds as the longest or shortest loader."""

    def __init__(self, loaders: Mapping, seed: int = 0, mode: str = "max_size_cycle"):
        if mode not in MODES:
            raise ValueError(f"round-robin mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        super().__init__(loaders, seed)

    def _n_rounds(self) -> int:
        lengths = [self.loader_length(task, data_key) for task, data_key in self.slots()]
        return max(lengths) if self.mode == "max_size_cycle" else min(lengths)

    def plan(self) -> list[list[Slot]]:
        slots = self.slots()
        return [list(slots) for _ in range(self._n_rounds())]

    def __len__(self) -> int:
        return len(self.slots()) * self._n_rounds()


@register_cycler("max_size_cycle")
def max_size_cycle(loaders: Mapping, seed: int, main_task: str, ratio=None) -> RoundRobinCycler:
    """Round-robin until the longest loader is exhausted (``main_task`` and ``ratio`` do not apply)."""
    return RoundRobinCycler(loaders, seed, mode="max_size_cycle")


@register_cycler("min_size")
def min_size(loaders: Mapping, seed: int, main_task: str, ratio=None) -> RoundRobinCycler:
    """Round-robin until the shortest loader is exhausted (``main_task`` and ``ratio`` do not apply)."""
    return RoundRobinCycler(loaders, seed, mode="min_size")
