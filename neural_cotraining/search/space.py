"""A search space in nnfabrik's form: the ``*_config_auto`` parameter specs (Ax's parameter dictionaries).

Each builder's specs map a config key to one of::

    {"type": "range", "bounds": [low, high], "log_scale": False, "value_type": "float" | "int"}
    {"type": "choice", "values": [...], "is_ordered": True}   # any JSON values, lists included (block_channels)
    {"type": "fixed", "value": ...}
    {"type": "int"}                                # nnfabrik's random-seed type: a random int32, not optimised

As in nnfabrik the parameters are named ``"dataset.<key>"``, ``"model.<key>"``, ``"trainer.<key>"`` and
``"seed.seed"``; a range is of integers when ``value_type`` says so or both bounds are integers (Ax's rule). A
choice is ordered (the optimiser sees the values' positions as an integer range, so it can tell that [16] lies
beyond [8]) when ``is_ordered`` says so, or, without it, when all its values are numbers; otherwise its values are
unordered categories. Ax keys that steer only Ax's own modelling (``sort_values``, ``is_task``, ``is_fidelity``,
``target_value``) are accepted and have no effect here; ``digits`` rounds a float range. Any other key is refused
by name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

__all__ = ["SearchSpaceError", "Parameter", "SearchSpace", "parse_parameters"]

SECTIONS = ("dataset", "model", "trainer", "seed")
_COMMON_KEYS = {"type", "name"}
_KEYS = {
    "range": {"bounds", "log_scale", "value_type", "digits", "is_fidelity", "target_value"},
    "choice": {"values", "value_type", "is_ordered", "sort_values", "is_task", "is_fidelity", "target_value"},
    "fixed": {"value", "value_type", "is_fidelity", "target_value"},
    "int": set(),
}
_SCALARS = (type(None), bool, int, float, str)
_INT32_MAX = int(np.iinfo(np.int32).max)


class SearchSpaceError(ValueError):
    """A parameter spec that cannot be searched; the message names the parameter and the key."""


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, (float, np.floating))) and math.isfinite(float(value))


@dataclass(frozen=True)
class Parameter:
    """One searched parameter: ``name`` is ``"<section>.<key>"``; ``spec`` is the checked spec."""

    name: str
    spec: dict

    @property
    def section(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def key(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def kind(self) -> str:
        return self.spec["type"]

    @property
    def optimised(self) -> bool:
        """Chosen by the optimiser (a range or a choice); fixed values and random seeds are not."""
        return self.kind in ("range", "choice")

    def distribution(self) -> BaseDistribution:
        spec = self.spec
        if self.kind == "range":
            low, high = spec["bounds"]
            log = bool(spec.get("log_scale", False))
            if self._integer_range():
                return IntDistribution(int(low), int(high), log=log)
            return FloatDistribution(float(low), float(high), log=log)
        values = spec["values"]
        if self._ordered_choice():
            return IntDistribution(0, len(values) - 1)
        # Optuna's choices must be scalars: other values (lists, mappings) are chosen by their position
        return CategoricalDistribution(values if self._scalar_choices() else list(range(len(values))))

    def _ordered_choice(self) -> bool:
        ordered = self.spec.get("is_ordered")
        if ordered is None:
            return all(_is_number(value) for value in self.spec["values"])
        return bool(ordered)

    def _integer_range(self) -> bool:
        value_type = self.spec.get("value_type")
        return value_type == "int" or (value_type is None and all(_is_int(b) for b in self.spec["bounds"]))

    def _scalar_choices(self) -> bool:
        return all(isinstance(value, _SCALARS) for value in self.spec["values"])

    def decode(self, optuna_value: Any) -> Any:
        """The config value for the optimiser's ``optuna_value``."""
        if self.kind == "choice" and (self._ordered_choice() or not self._scalar_choices()):
            return self.spec["values"][int(optuna_value)]
        if self.kind == "range" and not self._integer_range():
            low, high = self.spec["bounds"]
            value = min(max(float(optuna_value), float(low)), float(high))  # the optimiser may round past a bound
            return round(value, int(self.spec["digits"])) if "digits" in self.spec else value
        return int(optuna_value) if self.kind == "range" else optuna_value

    def encode(self, value: Any) -> Any:
        """The optimiser's value for the config value ``value`` (as stored: lists for tuples)."""
        if self.kind == "choice" and (self._ordered_choice() or not self._scalar_choices()):
            return [_as_stored(choice) for choice in self.spec["values"]].index(_as_stored(value))
        return value


def _as_stored(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_as_stored(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_stored(item) for key, item in value.items()}
    return value


def _check_spec(name: str, spec: Any) -> dict:
    if not isinstance(spec, dict):
        raise SearchSpaceError(f"parameter {name}: the spec must be a mapping with 'type', not {spec!r}")
    kind = spec.get("type")
    if kind not in _KEYS:
        raise SearchSpaceError(f"parameter {name}: 'type' must be one of {sorted(_KEYS)}, not {kind!r}")
    unknown = sorted(set(spec) - _COMMON_KEYS - _KEYS[kind])
    if unknown:
        raise SearchSpaceError(f"parameter {name}: unknown keys {unknown} for type {kind}; allowed: "
                               f"{sorted(_KEYS[kind])}")
    if kind == "range":
        bounds = spec.get("bounds")
        if not (isinstance(bounds, (list, tuple)) and len(bounds) == 2 and all(_is_number(b) for b in bounds)):
            raise SearchSpaceError(f"parameter {name}: 'bounds' must be [low, high] (two finite numbers), not "
                                   f"{bounds!r}")
        if not bounds[0] < bounds[1]:
            raise SearchSpaceError(f"parameter {name}: 'bounds' {list(bounds)} must have low < high")
        if spec.get("log_scale") and bounds[0] <= 0:
            raise SearchSpaceError(f"parameter {name}: a log_scale range needs bounds above 0, not {list(bounds)}")
        if spec.get("value_type") not in (None, "int", "float"):
            raise SearchSpaceError(f"parameter {name}: 'value_type' of a range must be int or float")
    elif kind == "choice":
        values = spec.get("values")
        if not isinstance(values, (list, tuple)) or len(values) < 2:
            raise SearchSpaceError(f"parameter {name}: 'values' must list at least two choices, not {values!r}")
    elif kind == "fixed" and "value" not in spec:
        raise SearchSpaceError(f"parameter {name}: a fixed parameter needs 'value'")
    return {key: value for key, value in spec.items() if key != "name"}


def parse_parameters(auto: dict) -> list[Parameter]:
    """The parameters of ``{"dataset": dataset_config_auto, "model": ..., "trainer": ..., "seed": ...}``, checked,
    in nnfabrik's order."""
    parameters = []
    for section in SECTIONS:
        specs = auto.get(section) or {}
        if not isinstance(specs, dict):
            raise SearchSpaceError(f"{section}_config_auto must map config keys to parameter specs, not {specs!r}")
        for key, spec in specs.items():
            if not isinstance(key, str) or not key:
                raise SearchSpaceError(f"{section}_config_auto: keys must be config key names, not {key!r}")
            parameters.append(Parameter(f"{section}.{key}", _check_spec(f"{section}.{key}", spec)))
    return parameters


class SearchSpace:
    """The checked parameters with the fixed configs: what the optimiser sees, and the configs a trial trains."""

    def __init__(self, fixed: dict, auto: dict):
        self.fixed = {section: dict(fixed.get(section) or {}) for section in SECTIONS[:3]}
        self.parameters = parse_parameters(auto)
        for parameter in self.parameters:
            if parameter.section != "seed" and parameter.key in self.fixed[parameter.section]:
                raise SearchSpaceError(f"parameter {parameter.name} is both fixed ({parameter.section}_config) and "
                                       f"searched ({parameter.section}_config_auto)")
        seeds = [p for p in self.parameters if p.section == "seed"]
        if [p.key for p in seeds] not in ([], ["seed"]):
            raise SearchSpaceError("seed_config_auto takes one key, 'seed'")
        if seeds and seeds[0].kind not in ("fixed", "int", "choice"):
            raise SearchSpaceError("seed.seed must be of type fixed, int or choice")

    @property
    def optimised(self) -> list[Parameter]:
        return [parameter for parameter in self.parameters if parameter.optimised]

    def distributions(self) -> dict[str, BaseDistribution]:
        return {parameter.name: parameter.distribution() for parameter in self.optimised}

    def unoptimised_values(self, rng: np.random.Generator) -> dict:
        """The values of the parameters the optimiser does not choose: fixed ones, and random seeds."""
        values = {}
        for parameter in self.parameters:
            if parameter.kind == "fixed":
                values[parameter.name] = parameter.spec["value"]
            elif parameter.kind == "int":
                values[parameter.name] = int(rng.integers(0, _INT32_MAX))
        return values

    def configs(self, params: dict) -> tuple[dict, int]:
        """({"dataset": config, "model": ..., "trainer": ...}, seed) of a trial whose parameter values are
        ``params``; the seed is 1 unless a ``seed.seed`` parameter sets it."""
        configs = {section: dict(config) for section, config in self.fixed.items()}
        seed = 1
        for name, value in params.items():
            section, key = name.split(".", 1)
            if section == "seed":
                seed = int(value)
            else:
                configs[section][key] = value
        return configs, seed
