"""Cyclers: iterate several loaders as one stream of ``(task, data_key, batch)``, grouped into rounds.

=================  ==========================================================================================
``cycler``         behaviour (one pass = one epoch)
=================  ==========================================================================================
``ratio``          k auxiliary batches per main-task batch, k scheduled by epoch (the original co-trainer)
``max_size_cycle`` round-robin, one batch per loader per round, until the longest loader is exhausted
``min_size``       round-robin until the shortest loader is exhausted
``proportional``   every batch once, loaders interleaved at random in proportion to their sizes
=================  ==========================================================================================

No cycler caches batches: a loader that runs out gets a fresh (reshuffled) iterator. A new cycler registers a
factory ``(loaders, seed, main_task, ratio) -> Cycler`` with ``@register_cycler("name")``.
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import Cycler, LoaderPool
from .proportional import ProportionalCycler
from .ratio import RatioCycler, parse_ratio_schedule
from .registry import CYCLERS, register_cycler
from .round_robin import RoundRobinCycler

__all__ = [
    "CYCLERS",
    "Cycler",
    "LoaderPool",
    "ProportionalCycler",
    "RatioCycler",
    "RoundRobinCycler",
    "build_cycler",
    "parse_ratio_schedule",
    "register_cycler",
]


def build_cycler(name: str, loaders: Mapping, seed: int, main_task: str, ratio=None) -> Cycler:
    """The cycler registered as ``name`` (one of ``CYCLERS``); ``ratio`` only applies to ``"ratio"``."""
    factory = CYCLERS.lookup(name)
    if name != "ratio" and ratio is not None:
        raise ValueError(f"ratio={ratio!r} only applies to cycler='ratio', not to cycler={name!r}")
    return factory(loaders, seed, main_task=main_task, ratio=ratio)
