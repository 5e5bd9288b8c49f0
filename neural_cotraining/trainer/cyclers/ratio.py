"""The ratio cycler of the original co-trainer (Safarani et al. 2021, "Towards robust vision by multi-task learning
on monkey visual cortex", NeurIPS): k auxiliary batches per main-task batch.

The epoch is one pass over the main task's loader(s). Before each main batch come that batch's auxiliary batches:
for every auxiliary task, ``floor(i*k) - floor((i-1)*k)`` batches before main batch i (1-based), so k=2 gives two per
main batch and k=0.5 one before every second main batch. Within an auxiliary task the data_keys (neural sessions)
are taken in turn, continuing where the previous round stopped. One round = the auxiliary batches plus the main
batch that closes it.

k may change with the epoch: ``ratio={0: 1, 10: 2}`` means k=1 from epoch 0 (epochs are numbered from 1 by the
trainer) and k=2 from epoch 10 on. JSON turns the keys into strings; both are accepted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction

from ...common.names import IMAGE_CLASSIFICATION
from ...common.value_checks import check_number
from .base import Cycler, Slot
from .registry import register_cycler

__all__ = ["RatioCycler", "parse_ratio_schedule"]


def _as_fraction(value, where: str) -> Fraction:
    # exact arithmetic, so that e.g. k=0.1 gives exactly one auxiliary batch per 10 main batches
    return Fraction(check_number(where, value, minimum=0.0)).limit_denominator(10_000)


def parse_ratio_schedule(ratio) -> list[tuple[int, Fraction]]:
    """A number k, or ``{epoch: k}`` with int or numeric-string keys -> sorted ``[(epoch, k), ...]``."""
    if ratio is None:
        ratio = 1
    if not isinstance(ratio, Mapping):
        return [(0, _as_fraction(ratio, "ratio"))]
    if not ratio:
        raise ValueError("ratio schedule is empty; give a number or e.g. {0: 1, 10: 2}")
    schedule = []
    for key, value in ratio.items():
        try:
            epoch = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"ratio schedule keys must be epochs (ints or int strings), got {key!r}") from None
        if isinstance(key, float) and key != epoch:
            raise ValueError(f"ratio schedule key {key!r} is not a whole epoch")
        schedule.append((epoch, _as_fraction(value, f"ratio[{key!r}]")))
    schedule.sort()
    if schedule[0][0] > 1:
        raise ValueError(f"ratio schedule must start at epoch 0 or 1, its first key is {schedule[0][0]}")
    if len({epoch for epoch, _ in schedule}) != len(schedule):
        raise ValueError(f"ratio schedule names an epoch twice: {ratio!r}")
    return schedule


class RatioCycler(Cycler):
    """k auxiliary batches (per auxiliary task) per main-task batch; see the module docstring."""

    def __init__(self, loaders: Mapping, seed: int = 0, main_task: str = IMAGE_CLASSIFICATION, ratio=1):
        self.schedule = parse_ratio_schedule(ratio)
        super().__init__(loaders, seed)
        if main_task not in self.loaders:
            raise ValueError(f"main_task {main_task!r} is not among the training tasks {list(self.loaders)}")
        self.main_task = main_task
        self.auxiliary_tasks = [task for task in self.loaders if task != main_task]

    @property
    def ratio(self) -> Fraction:
        """k for the current epoch: the value at the largest schedule key <= epoch."""
        current = self.schedule[0][1]
        for epoch, value in self.schedule:
            if epoch <= self.epoch:
                current = value
        return current

    def _main_slots(self) -> list[Slot]:
        """The main task's loaders taken in turn, each exactly once (most tasks have a single loader)."""
        main_loaders = self.loaders[self.main_task]
        remaining = {data_key: self.loader_length(self.main_task, data_key) for data_key in main_loaders}
        slots = []
        while any(remaining.values()):
            for data_key, left in remaining.items():
                if left:
                    slots.append((self.main_task, data_key))
                    remaining[data_key] = left - 1
        return slots

    def plan(self) -> list[list[Slot]]:
        k = self.ratio
        next_session = {task: 0 for task in self.auxiliary_tasks}
        rounds = []
        for i, main_slot in enumerate(self._main_slots(), start=1):
            n_auxiliary = math.floor(i * k) - math.floor((i - 1) * k)
            planned_round = []
            for task in self.auxiliary_tasks:
                data_keys = list(self.loaders[task])
                for _ in range(n_auxiliary):
                    planned_round.append((task, data_keys[next_session[task] % len(data_keys)]))
                    next_session[task] += 1
            planned_round.append(main_slot)
            rounds.append(planned_round)
        return rounds

    def __len__(self) -> int:
        n_main = sum(self.loader_length(self.main_task, data_key) for data_key in self.loaders[self.main_task])
        return n_main + len(self.auxiliary_tasks) * math.floor(n_main * self.ratio)


@register_cycler("ratio")
def ratio_cycler(loaders: Mapping, seed: int, main_task: str, ratio=None) -> RatioCycler:
    """The ``ratio`` cycler (one auxiliary batch per main-task batch unless ``ratio`` says otherwise)."""
    return RatioCycler(loaders, seed, main_task=main_task, ratio=1 if ratio is None else ratio)
