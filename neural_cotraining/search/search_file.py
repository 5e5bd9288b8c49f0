"""A search in an experiment file: ``neural-cotraining search FILE`` reads its ``search:`` section.

```yaml
schema: digits_search              # database schema (the CLI's --schema overrides it)
hash: typed                        # optional, as in any experiment file
builder_modules: [my_lab]          # optional, as in any experiment file
search:
  method: bayesian                 # bayesian (Optuna's Gaussian process) or random
  trials: 12                       # the search's total number of trials
  optimizer_seed: 0                # optional: the optimiser's seed (reproducible proposals)
  minimize: false                  # optional: the TrainedModel score is maximised by default
  parallel_trials: 1               # optional: trials proposed ahead for other workers to train
  comment: lr and width            # optional: the entries' comment
  dataset:
    fn: neural_cotraining.dataset.builders.digits_loaders
    config: {image_size: 8}        # fixed
  model:
    fn: neural_cotraining.models.builders.multitask_model
    config: {readout_layer: null}
    config_auto:                   # searched: nnfabrik's model_config_auto (Ax's parameter specs)
      block_channels: {type: choice, values: [[4], [8], [16]]}
  trainer:
    fn: neural_cotraining.trainer.builders.cotrainer
    config: {max_epochs: 5}
    config_auto:
      lr: {type: range, bounds: [0.0001, 0.1], log_scale: true}
  seed_config_auto:                # optional: nnfabrik's; the training seed of each trial (default: 1)
    seed: {type: fixed, value: 1}
```

Everything is checked before the database is touched: the keys, the parameter specs, and that every builder takes
its fixed and searched keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..registry import allow_builder_modules, check_config, resolve_builder
from ..configs.experiment import ExperimentFileError, file_settings, read_yaml_file
from .optimizer import METHODS
from .space import SearchSpace, SearchSpaceError

__all__ = ["SearchFile", "load_search_file", "search_from_dict", "make_search"]

_TOP_LEVEL = {"schema", "hash", "builder_modules", "search"}
_SEARCH_KEYS = {"method", "trials", "optimizer_seed", "minimize", "parallel_trials", "comment", "dataset", "model",
                "trainer", "seed_config_auto"}
_BUILDER_KEYS = {"fn", "config", "config_auto"}
_KINDS = ("dataset", "model", "trainer")


@dataclass(frozen=True)
class SearchFile:
    schema: str
    method: str
    trials: int
    fns: dict
    fixed: dict
    auto: dict
    hash: str | None = None
    builder_modules: list = field(default_factory=list)
    optimizer_seed: int | None = None
    minimize: bool = False
    parallel_trials: int = 1
    comment: str = ""


def _mapping(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ExperimentFileError(f"{where} must be a mapping")
    return value


def _positive_int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ExperimentFileError(f"{where} must be a positive integer, not {value!r}")
    return value


def _builder(source: str, kind: str, raw: Any) -> tuple[str, dict, dict]:
    where = f"{source}: search.{kind}"
    raw = _mapping(raw, where)
    unknown = sorted(set(raw) - _BUILDER_KEYS)
    if unknown:
        raise ExperimentFileError(f"{where} has unknown keys {unknown}; allowed: {sorted(_BUILDER_KEYS)}")
    if not isinstance(raw.get("fn"), str):
        raise ExperimentFileError(f"{where} needs 'fn', the builder's dotted name")
    return raw["fn"], _mapping(raw.get("config"), f"{where}.config"), _mapping(raw.get("config_auto"),
                                                                                f"{where}.config_auto")


def _example_value(spec: dict) -> Any:
    """A value the parameter can take, to check that the builder accepts the key."""
    if spec["type"] == "range":
        return spec["bounds"][0]
    if spec["type"] == "choice":
        return spec["values"][0]
    return spec.get("value", 1)


def _check_builders(source: str, fns: dict, space: SearchSpace) -> None:
    for kind in _KINDS:
        config = dict(space.fixed[kind])
        config.update({p.key: _example_value(p.spec) for p in space.parameters if p.section == kind})
        try:
            check_config(resolve_builder(fns[kind]), config, kind)
        except (ValueError, TypeError) as error:
            raise ExperimentFileError(f"{source}: search.{kind}: {error}") from error


def search_from_dict(raw: Any, source: str = "experiment") -> SearchFile:
    schema, hash_scheme, modules = file_settings(raw, source, _TOP_LEVEL)
    search = raw.get("search")
    if not isinstance(search, dict):
        raise ExperimentFileError(f"{source}: 'search' must be a mapping (method, trials, dataset, model, trainer)")
    unknown = sorted(set(search) - _SEARCH_KEYS)
    if unknown:
        raise ExperimentFileError(f"{source}: search has unknown keys {unknown}; allowed: {sorted(_SEARCH_KEYS)}")
    if search.get("method") not in METHODS:
        raise ExperimentFileError(f"{source}: search.method must be one of {list(METHODS)}, not "
                                  f"{search.get('method')!r}")
    allow_builder_modules(*modules)
    builders = {kind: _builder(source, kind, search.get(kind)) for kind in _KINDS}
    fns = {kind: builder[0] for kind, builder in builders.items()}
    fixed = {kind: builder[1] for kind, builder in builders.items()}
    auto = {kind: builder[2] for kind, builder in builders.items()}
    auto["seed"] = _mapping(search.get("seed_config_auto"), f"{source}: search.seed_config_auto")
    try:
        space = SearchSpace(fixed, auto)
    except SearchSpaceError as error:
        raise ExperimentFileError(f"{source}: search: {error}") from error
    _check_builders(source, fns, space)
    seed = search.get("optimizer_seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise ExperimentFileError(f"{source}: search.optimizer_seed must be an integer >= 0, not {seed!r}")
    if not isinstance(search.get("minimize", False), bool):
        raise ExperimentFileError(f"{source}: search.minimize must be true or false")
    return SearchFile(
        schema=schema, method=search["method"], trials=_positive_int(search.get("trials"), f"{source}: search.trials"),
        fns=fns, fixed=fixed, auto=auto, hash=hash_scheme, builder_modules=modules, optimizer_seed=seed,
        minimize=search.get("minimize", False),
        parallel_trials=_positive_int(search.get("parallel_trials", 1), f"{source}: search.parallel_trials"),
        comment=str(search.get("comment", f"{search['method']} search")),
    )


def load_search_file(path: str | Path) -> SearchFile:
    return search_from_dict(read_yaml_file(path, "search file"), source=str(path))


def make_search(search: SearchFile, trained_model_table: Any, total_trials: int | None = None):
    """The ``Bayesian`` or ``Random`` search the file describes, over ``trained_model_table``."""
    from .nnfabrik import Bayesian, Random

    arguments = dict(
        dataset_fn=search.fns["dataset"], dataset_config=search.fixed["dataset"],
        dataset_config_auto=search.auto["dataset"], model_fn=search.fns["model"], model_config=search.fixed["model"],
        model_config_auto=search.auto["model"], trainer_fn=search.fns["trainer"],
        trainer_config=search.fixed["trainer"], trainer_config_auto=search.auto["trainer"],
        seed_config_auto=search.auto["seed"], architect=None, trained_model_table=trained_model_table,
        total_trials=total_trials or search.trials, comment=search.comment, minimize=search.minimize,
        seed=search.optimizer_seed, parallel_trials=search.parallel_trials,
    )
    return (Bayesian if search.method == "bayesian" else Random)(**arguments)
