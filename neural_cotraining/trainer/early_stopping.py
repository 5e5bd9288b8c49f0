"""Early stopping on a set of monitored validation metrics.

``monitor`` maps ``"validation/<task>/<metric>"`` to ``"max"`` or ``"min"``. Each metric keeps its own best value.
An epoch *improves* if (``combine="any"``) at least one monitored metric beats its own best by more than
``min_delta``, or (``combine="all"``) every monitored metric does. The last improving epoch is the best epoch (its
weights are kept); after ``patience`` epochs in a row without improvement training stops (``patience=None``: never).
A NaN never improves. Only validation metrics may be monitored: the epoch is never chosen on test data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ..common.value_checks import check_int, check_number

__all__ = ["EarlyStopping", "COMBINE_MODES"]

COMBINE_MODES = ("any", "all")
MODES = ("max", "min")


class EarlyStopping:
    def __init__(
        self, monitor: Mapping[str, str], patience: int | None = 10, combine: str = "any", min_delta: float = 0.0
    ):
        if not monitor:
            raise ValueError("monitor must name at least one validation metric")
        for key, mode in monitor.items():
            if not isinstance(key, str) or not key.startswith("validation/") or key.count("/") < 2:
                raise ValueError(
                    f"monitored metric {key!r} must look like 'validation/<task>/<metric>': the best epoch is "
                    "chosen on validation data only"
                )
            if mode not in MODES:
                raise ValueError(f"monitor[{key!r}] must be 'max' or 'min', got {mode!r}")
        if combine not in COMBINE_MODES:
            raise ValueError(f"monitor_combine must be one of {COMBINE_MODES}, got {combine!r}")
        self.monitor = dict(monitor)
        self.patience = check_int("patience", patience, minimum=1, allow_none=True)
        self.combine = combine
        self.min_delta = check_number("min_delta", min_delta, minimum=0.0)
        self.best_values: dict[str, float | None] = {key: None for key in self.monitor}
        self.best_epoch: int | None = None
        self.epochs_without_improvement = 0

    def _beats(self, key: str, value: float) -> bool:
        if value is None or not math.isfinite(value):
            return False
        best = self.best_values[key]
        if best is None:
            return True
        if self.monitor[key] == "max":
            return value > best + self.min_delta
        return value < best - self.min_delta

    def update(self, epoch: int, flat_metrics: Mapping[str, float]) -> bool:
        """Record one epoch's metrics (``{"validation/<task>/<metric>": value}``); True if it is the new best."""
        missing = [key for key in self.monitor if key not in flat_metrics]
        if missing:
            available = sorted(key for key in flat_metrics if key.startswith("validation/"))
            raise ValueError(f"monitored metric(s) {missing} were not computed; available: {available}")
        beats = {key: self._beats(key, flat_metrics[key]) for key in self.monitor}
        improved = any(beats.values()) if self.combine == "any" else all(beats.values())
        if improved:
            for key, better in beats.items():
                if better:
                    self.best_values[key] = float(flat_metrics[key])
            self.best_epoch = int(epoch)
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
        return improved

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.epochs_without_improvement >= self.patience

    def state_dict(self) -> dict:
        return {
            "best_values": dict(self.best_values),
            "best_epoch": self.best_epoch,
            "epochs_without_improvement": self.epochs_without_improvement,
        }

    def load_state_dict(self, state: Mapping) -> None:
        if set(state["best_values"]) != set(self.monitor):
            raise ValueError(
                f"the saved early-stopping state monitors {sorted(state['best_values'])}, "
                f"this run {sorted(self.monitor)}"
            )
        self.best_values = dict(state["best_values"])
        self.best_epoch = state["best_epoch"]
        self.epochs_without_improvement = int(state["epochs_without_improvement"])


def flatten_metrics(metrics: Mapping[str, Mapping[str, Mapping[str, float]]]) -> dict[str, float]:
    """``{split: {task: {metric: v}}}`` -> ``{"split/task/metric": v}``."""
    return {
        f"{split}/{task}/{name}": value
        for split, tasks in metrics.items()
        for task, values in tasks.items()
        for name, value in values.items()
    }
