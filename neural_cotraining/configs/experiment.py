"""Experiment files: which dataset, model and trainer entries and seeds to train, in YAML.

```yaml
schema: my_experiment            # database schema (the CLI's --schema overrides it)
name: sweep                      # the experiment's name in the schema, where `add` records its jobs (optional;
                                 # default: the file's stem)
hash: typed                      # config hash of a new schema: typed (default) or nnfabrik (optional)
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

A dataset config may name a model trained by this experiment by its labels, ``{trained_model: {dataset: label,
model: label, trainer: label, seed: n}}`` (MTL-Oracle's predictor, a teacher population): the file's reader turns it
into that model's ``TrainedModel`` key (builder names and config hashes), which is what the database stores, so the
entry's hash records the trained model it used. Such an entry can only be added once that model is trained.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import yaml

from ..hashing import HASH_SCHEMES
from ..registry import stored_names
from .bounded_yaml import YamlBoundsError, load_bounded

__all__ = [
    "Entry", "Experiment", "ExperimentFileError", "load_experiment", "experiment_from_dict", "file_settings",
    "trained_model_labels", "names_trained_model",
]

_KINDS = ("datasets", "models", "trainers")
_TOP_LEVEL = {"schema", "name", "hash", "builder_modules", "seeds", "combinations", *_KINDS}
_ENTRY_KEYS = {"fn", "config", "comment"}
TRAINED_MODEL = "trained_model"
_LABEL_KEYS = {"dataset", "model", "trainer", "seed"}


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
    hash: str | None = None  # the schema's hash scheme; None: whatever the schema records ("typed" when new)
    name: str = "experiment"  # the name `add` records it under: the file's `name:`, else the file's stem
    name_given: bool = False  # whether the file says `name:` (else the name is the file's stem)
    source: str = ""  # the file it was read from

    def dataset_labels_on_trained_models(self) -> list[str]:
        """Labels of the datasets whose configs name a trained model (they can be added only once it is trained)."""
        return [label for label, entry in self.datasets.items() if names_trained_model(entry.config)]

    def without_trained_model_inputs(self) -> "Experiment":
        """This experiment less the datasets that name trained models (and their combinations): what can be added
        and trained first."""
        waiting = set(self.dataset_labels_on_trained_models())
        combinations = [c for c in self.label_combinations() if c["dataset"] not in waiting]
        datasets = {label: entry for label, entry in self.datasets.items() if label not in waiting}
        return replace(self, datasets=datasets, combinations=combinations)

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


def file_settings(raw: Any, source: str, allowed: set) -> tuple[str, str | None, list]:
    """``(schema, hash, builder_modules)`` of a parsed experiment file (or search file) whose top-level keys must be
    among ``allowed``; refuses a bad value in one line naming the file and the key."""
    if not isinstance(raw, dict):
        raise ExperimentFileError(f"{source}: the file must hold a mapping at the top level")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ExperimentFileError(f"{source}: unknown keys {unknown}; allowed: {sorted(allowed)}")
    schema = raw.get("schema", "")
    if not isinstance(schema, str):
        raise ExperimentFileError(f"{source}: 'schema' must be a string")
    hash_scheme = raw.get("hash")
    if hash_scheme is not None and hash_scheme not in HASH_SCHEMES:
        raise ExperimentFileError(f"{source}: 'hash' must be one of {sorted(HASH_SCHEMES)}, not {hash_scheme!r}")
    modules = raw.get("builder_modules") or []
    if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
        raise ExperimentFileError(f"{source}: 'builder_modules' must be a list of module names")
    return schema, hash_scheme, modules


def experiment_from_dict(raw: Any, source: str = "experiment") -> Experiment:
    schema, hash_scheme, modules = file_settings(raw, source, _TOP_LEVEL)
    seeds = raw.get("seeds", [1])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ExperimentFileError(f"{source}: 'seeds' must be a non-empty list of integers")
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
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ExperimentFileError(f"{source}: 'name' must be a non-empty string")
    # trained-model references by label become keys under the file's hash scheme; a file that names none gets the
    # typed hash (the scheme of a new schema), which a schema recording another scheme will not find: such an entry
    # is refused when it is added
    kinds["datasets"] = _resolve_trained_model_labels(source, kinds, HASH_SCHEMES[hash_scheme or "typed"])
    return Experiment(schema=schema, seeds=seeds, builder_modules=modules, combinations=combinations,
                      hash=hash_scheme, name=name or Path(source).stem, name_given=name is not None, source=source,
                      **kinds)


def names_trained_model(config: Any) -> bool:
    """Whether ``config`` holds a ``trained_model`` reference anywhere."""
    if isinstance(config, dict):
        return TRAINED_MODEL in config or any(names_trained_model(value) for value in config.values())
    if isinstance(config, list):
        return any(names_trained_model(value) for value in config)
    return False


def trained_model_labels(config: Any) -> list[dict]:
    """The ``{dataset, model, trainer, seed}`` label references to trained models inside ``config``."""
    found = []
    if isinstance(config, dict):
        for name, value in config.items():
            if name == TRAINED_MODEL and isinstance(value, dict) and set(value) == _LABEL_KEYS:
                found.append(value)
            else:
                found.extend(trained_model_labels(value))
    elif isinstance(config, list):
        for value in config:
            found.extend(trained_model_labels(value))
    return found


def _resolve_trained_model_labels(source: str, kinds: dict, config_hash: Callable[[Any], str]) -> dict:
    """The datasets with every label reference replaced by the TrainedModel key it names (module docstring), its
    entries' hashes made by ``config_hash``."""
    resolved: dict[str, Entry] = {}

    def key_of(reference: dict, where: str, chain: tuple) -> dict:
        seed = reference["seed"]
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ExperimentFileError(f"{where}.{TRAINED_MODEL}.seed must be an integer, got {seed!r}")
        key = {}
        for kind in ("dataset", "model", "trainer"):
            label = reference[kind]
            if label not in kinds[kind + "s"]:
                raise ExperimentFileError(f"{where}.{TRAINED_MODEL} names {kind} {label!r}, which is not among "
                                          f"{sorted(kinds[kind + 's'])}")
            entry = dataset(label, chain) if kind == "dataset" else kinds[kind + "s"][label]
            # the name new entries are stored under (a shipped builder's canonical name, whatever the file wrote)
            key.update({f"{kind}_fn": stored_names(entry.fn)[0], f"{kind}_hash": config_hash(entry.config)})
        return {**key, "seed": seed}

    def replace(value: Any, where: str, chain: tuple) -> Any:
        if isinstance(value, dict):
            return {
                name: key_of(item, where, chain)
                if name == TRAINED_MODEL and isinstance(item, dict) and set(item) == _LABEL_KEYS
                else replace(item, where, chain)
                for name, item in value.items()
            }
        if isinstance(value, list):
            return [replace(item, where, chain) for item in value]
        return value

    def dataset(label: str, chain: tuple = ()) -> Entry:
        if label in chain:
            raise ExperimentFileError(f"{source}: datasets.{label} names a model trained on itself "
                                      f"({' -> '.join((*chain, label))})")
        if label not in resolved:
            entry = kinds["datasets"][label]
            config = replace(entry.config, f"{source}: datasets.{label}.config", (*chain, label))
            resolved[label] = Entry(fn=entry.fn, config=config, comment=entry.comment)
        return resolved[label]

    return {label: dataset(label) for label in kinds["datasets"]}


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
