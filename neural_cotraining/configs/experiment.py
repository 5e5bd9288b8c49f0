"""Experiment files: which dataset, model and trainer entries and seeds to train, in YAML.

```yaml
schema: my_experiment            # database schema (the CLI's --schema overrides it)
builder_modules: [my_lab]        # extra module prefixes allowed to hold builders (optional)
seeds: [1, 2, 3]
datasets:
  cotrain:                       # a label, used in `combinations` and in the results table
    fn: neural_cotraining.dataset.builders.cotraining_loaders
    config: {batch_size: 64}
    comment: digits + simulated neurons
models: {...}                    # same form
trainers: {...}                  # same form
combinations:                    # optional; default: every dataset x model x trainer
  - {dataset: cotrain, model: multitask, trainer: cotrainer}
```
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .bounded_yaml import YamlBoundsError, load_bounded
__all__ = ["Entry", "Experiment", "ExperimentFileError", "load_experiment", "experiment_from_dict"]

_KINDS = ("datasets", "models", "trainers")
_TOP_LEVEL = {"schema", "builder_modules", "seeds", "combinations", *_KINDS}
_ENTRY_KEYS = {"fn", "config", "comment"}


class ExperimentFileError(ValueError):
    """An experiment file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Entry:
    fn: str
    config: dict = field(default_factory=dict)
    comment: str = ""


@dataclass(frozen=True)
class Experiment:
    schema: str
    seeds: list
    datasets: dict
    models: dict
    trainers: dict
    builder_modules: list = field(default_factory=list)
    combinations: list | None = None

    def label_combinations(self) -> list[dict]:
        """[{"dataset": label, "model": label, "trainer": label}, ...] to train."""
        if self.combinations is not None:
            return list(self.combinations)
        return [
            {"dataset": d, "model": m, "trainer": t}
            for d, m, t in itertools.product(self.datasets, self.models, self.trainers)
        ]


def _entries(source: str, kind: str, raw: Any) -> dict:
    if not isinstance(raw, dict) or not raw:
        raise ExperimentFileError(f"{source}: '{kind}' must map labels to entries ({{fn: ..., config: ...}})")
    entries = {}
    for label, item in raw.items():
        where = f"{source}: {kind}.{label}"
        if not isinstance(item, dict):
            raise ExperimentFileError(f"{where} must be a mapping with 'fn' and 'config'")
        unknown = sorted(set(item) - _ENTRY_KEYS)
        if unknown:
            raise ExperimentFileError(f"{where} has unknown keys {unknown}; allowed: {sorted(_ENTRY_KEYS)}")
        if not isinstance(item.get("fn"), str):
            raise ExperimentFileError(f"{where} needs 'fn', the builder's dotted name")
        config = item.get("config") or {}
        if not isinstance(config, dict):
            raise ExperimentFileError(f"{where}.config must be a mapping")
        entries[str(label)] = Entry(fn=item["fn"], config=config, comment=str(item.get("comment", "")))
    return entries


def experiment_from_dict(raw: Any, source: str = "experiment") -> Experiment:
    if not isinstance(raw, dict):
        raise ExperimentFileError(f"{source}: the file must hold a mapping at the top level")
    unknown = sorted(set(raw) - _TOP_LEVEL)
    if unknown:
        raise ExperimentFileError(f"{source}: unknown keys {unknown}; allowed: {sorted(_TOP_LEVEL)}")
    seeds = raw.get("seeds", [1])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ExperimentFileError(f"{source}: 'seeds' must be a non-empty list of integers")
    modules = raw.get("builder_modules") or []
    if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
        raise ExperimentFileError(f"{source}: 'builder_modules' must be a list of module names")
    kinds = {kind: _entries(source, kind, raw.get(kind)) for kind in _KINDS}
    combinations = raw.get("combinations")
    if combinations is not None:
        if not isinstance(combinations, list) or not combinations:
            raise ExperimentFileError(f"{source}: 'combinations' must be a non-empty list")
        for index, combination in enumerate(combinations):
            if not isinstance(combination, dict) or set(combination) != {"dataset", "model", "trainer"}:
                raise ExperimentFileError(
                    f"{source}: combinations[{index}] must have exactly the keys dataset, model, trainer"
                )
            for kind, label in combination.items():
                if label not in kinds[kind + "s"]:
                    raise ExperimentFileError(
                        f"{source}: combinations[{index}] names {kind} {label!r}, which is not among "
                        f"{sorted(kinds[kind + 's'])}"
                    )
    schema = raw.get("schema", "")
    if not isinstance(schema, str):
        raise ExperimentFileError(f"{source}: 'schema' must be a string")
    return Experiment(schema=schema, seeds=seeds, builder_modules=modules, combinations=combinations, **kinds)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's error in one line, with the place in the file ("line 3, column 6") instead of "<unicode string>"."""
    mark = getattr(error, "problem_mark", None)
    place = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context = getattr(error, "context", None)
    return f"{place}: not valid YAML: {problem}" + (f" ({context})" if context else "")


def read_yaml_file(path: str | Path, what: str = "experiment file") -> Any:
    """The parsed YAML file; a missing file, one that is not UTF-8, a syntax error, or one nested too deeply or
    expanding too far (:mod:`.bounded_yaml`) is an ``ExperimentFileError`` of one line naming the file (and the
    line and column, or the key)."""
    path = Path(path)
    if not path.is_file():
        raise ExperimentFileError(f"{path}: no such {what}")
    try:
        return load_bounded(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ExperimentFileError(f"{path}: not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset "
                                  f"{error.start})") from None
    except YamlBoundsError as error:
        raise ExperimentFileError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        raise ExperimentFileError(f"{path}{_yaml_problem(error)}") from None


def load_experiment(path: str | Path) -> Experiment:
    return experiment_from_dict(read_yaml_file(path), source=str(path))
