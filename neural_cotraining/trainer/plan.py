"""The trainer config checked into a frozen plan, before any model, data or device is touched.

:meth:`TrainerPlan.from_config` is the one check of a ``cotrainer`` config: it runs when an entry is added
(``registry.checks_config``) and again when a job starts, and raises one line naming the bad key or value. What
depends on the data (which tasks exist, which metrics they report) or on the machine (devices, backends) is checked
when the trainer is assembled (:mod:`.assembly`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..common.config_keys import check_config_keys
from ..common.value_checks import check_int, check_number
from .cyclers import CYCLERS
from .early_stopping import COMBINE_MODES
from .losses import LOSSES
from .optimization import OPTIMIZERS, SCHEDULERS
from .weighting import check_weighting_options
from .weighting.likelihood import check_likelihood_options

__all__ = ["TrainerPlan"]


@dataclass(frozen=True)
class TrainerPlan:
    """Every ``cotrainer`` config key, checked (the keys' meaning: the ``neural_cotraining.trainer`` docstring)."""

    max_epochs: int
    patience: int | None
    monitor: dict | None
    monitor_combine: str
    min_delta: float
    score_metric: str | None
    main_task: str | None
    cycler: str
    ratio: Any
    round_size: int | None
    loss_functions: dict | None
    loss_weighting: str | None
    loss_weighting_options: dict | None
    optimizer: str
    lr: float
    weight_decay: float
    optimizer_options: dict | None
    lr_scheduler: str | None
    lr_scheduler_options: dict | None
    clip_grad_norm: float | None
    device: str | None
    mixed_precision: bool
    checkpoint_every: int
    restore_best: bool
    verbose: bool
    world_size: int
    backend: str | None

    @classmethod
    def from_config(cls, config: Mapping) -> TrainerPlan:
        """The plan of a complete config (every key; the builder fills in its defaults); ValueError or TypeError
        naming the first bad key."""
        names = [field.name for field in fields(cls)]
        check_config_keys("cotrainer", config, names)
        missing = sorted(set(names) - set(config))
        if missing:
            raise ValueError(f"the trainer plan needs every config key; missing {missing}")
        values = dict(config)
        values["max_epochs"] = check_int("max_epochs", values["max_epochs"], minimum=1)
        values["patience"] = check_int("patience", values["patience"], minimum=1, allow_none=True)
        values["checkpoint_every"] = check_int("checkpoint_every", values["checkpoint_every"], minimum=0)
        values["round_size"] = check_int("round_size", values["round_size"], minimum=1, allow_none=True)
        values["lr"] = check_number("lr", values["lr"], minimum=0.0, strict=True)
        values["weight_decay"] = check_number("weight_decay", values["weight_decay"], minimum=0.0)
        values["clip_grad_norm"] = check_number(
            "clip_grad_norm", values["clip_grad_norm"], minimum=0.0, allow_none=True, strict=True
        )
        for name in ("mixed_precision", "verbose", "restore_best"):
            if not isinstance(values[name], bool):
                raise ValueError(f"{name} must be true or false, got {values[name]!r}")
        CYCLERS.lookup(values["cycler"])
        _check_choice("optimizer", values["optimizer"], OPTIMIZERS)
        _check_choice("lr_scheduler", values["lr_scheduler"], SCHEDULERS, allow_none=True)
        _check_choice("monitor_combine", values["monitor_combine"], COMBINE_MODES)
        values["loss_functions"] = _checked_loss_names(values["loss_functions"])
        values["loss_weighting_options"] = _checked_weighting(values["loss_weighting"],
                                                              values["loss_weighting_options"])
        values["monitor"] = _checked_monitor_keys(values["monitor"])
        return cls(**values)


def _check_choice(name: str, value: Any, choices, allow_none: bool = False) -> None:
    if not ((value is None and allow_none) or (isinstance(value, str) and value in choices)):
        raise ValueError(f"unknown {name} {value!r}; choose one of {sorted(choices)}{' or None' if allow_none else ''}")


def _checked_loss_names(loss_functions: Any) -> dict | None:
    if loss_functions is None:
        return None
    if not isinstance(loss_functions, Mapping):
        raise ValueError(f"loss_functions must be a dict {{task: loss name}}, got {loss_functions!r}")
    for task, name in loss_functions.items():
        try:
            LOSSES.lookup(name)
        except ValueError as error:
            raise ValueError(f"loss_functions[{task!r}]: {error}") from None
    return dict(loss_functions)


def _checked_weighting(loss_weighting: Any, options: Any) -> dict | None:
    """The weighting's options as a dict (None stays None: the model may declare its own weights)."""
    if options is not None and not isinstance(options, Mapping):
        raise ValueError(f"loss_weighting_options must be a dict or None, got {options!r}")
    if loss_weighting is None:
        return None if options is None else dict(options)
    checked = check_weighting_options(loss_weighting, options)
    if loss_weighting == "likelihood":
        known = inspect.signature(check_likelihood_options).parameters
        check_likelihood_options(**{key: value for key, value in checked.items() if key in known})
    return None if options is None else checked


def _checked_monitor_keys(monitor: Any) -> dict | None:
    """The monitored metrics' names are ``validation/<task>/<metric>``: the best epoch is never chosen on test
    data. (Whether the task and metric exist is checked against the dataloaders.)"""
    if monitor is None:
        return None
    if isinstance(monitor, str) or not isinstance(monitor, Mapping):
        raise ValueError(f"monitor must be a dict {{'validation/<task>/<metric>': 'max'|'min'}}, got {monitor!r}")
    for key in monitor:
        parts = key.split("/", 2) if isinstance(key, str) else []
        if len(parts) != 3 or parts[0] != "validation":
            raise ValueError(
                f"monitored metric {key!r} must be 'validation/<task>/<metric>' (the best epoch is chosen on "
                "validation data only, never on test data)"
            )
    return dict(monitor)
