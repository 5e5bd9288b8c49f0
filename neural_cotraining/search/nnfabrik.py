"""nnfabrik's hyperparameter searches (``nnfabrik.utility.hypersearch``) under their names: ``Bayesian``, ``Random``.

The constructors take nnfabrik's arguments in nnfabrik's order (the builders' names, their fixed configs, their
``*_config_auto`` parameter specs, ``architect``, ``trained_model_table``, ``total_trials``, ...) plus a few keywords
of ours; ``run()`` returns what nnfabrik's ``Bayesian.run()`` returns, ``(best_parameters, values, experiment,
model)``, for both. What differs, and why (docs/search.md says more):

- every trial is recorded in the database (``pipeline.search_trials``) and trained by ``populate`` as an ordinary
  job, so ``run()`` again resumes the search instead of starting a new one: ``total_trials`` is the search's total;
- ``experiment`` is the list of trials (``Trial``: id, parameter values, job key, state, score) and ``model`` the
  Optuna study rebuilt from them, where nnfabrik hands back Ax's experiment and model;
- ``values`` holds the best trial's observed score (``({"val_corr": score}, {"val_corr": {"val_corr": nan}})``,
  nnfabrik's objective name, whatever the score measures) where Ax gives its model's estimate;
- a trial trains one seed: ``seed_config_auto`` (``Random``'s argument, a keyword of ``Bayesian`` here) chooses it,
  seed 1 by default. nnfabrik's ``Bayesian`` trained every seed in the ``Seed`` table and scored one of them.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

from ..registry import builder_name
from ..hashing import make_hash
from ..pipeline.search_trials import SearchTrials, Trial
from .driver import SearchSettings, run_trials
from .optimizer import study_of
from .space import SearchSpace

__all__ = ["Bayesian", "Random", "resolve_trained_model_table"]

OBJECTIVE = "val_corr"  # nnfabrik's objective name for the score


def resolve_trained_model_table(table: Any) -> type:
    """The trained-model table class: given as a class, an instance, or nnfabrik's importable dotted name (code
    the caller names, as in nnfabrik; never a name read from the database)."""
    if isinstance(table, str):
        module_name, _, class_name = table.rpartition(".")
        if not module_name:
            raise ValueError(f"trained_model_table {table!r} must be a dotted name, module.Class")
        return getattr(importlib.import_module(module_name), class_name)
    return table if isinstance(table, type) else type(table)


def _sections(dataset_fn, dataset_config, dataset_config_auto, model_fn, model_config, model_config_auto,
              trainer_fn, trainer_config, trainer_config_auto, seed_config_auto) -> tuple[dict, dict, dict]:
    """nnfabrik's nine arguments (and the seed spec) grouped: (builders, fixed configs, parameter specs)."""
    return (dict(dataset=dataset_fn, model=model_fn, trainer=trainer_fn),
            dict(dataset=dataset_config, model=model_config, trainer=trainer_config),
            dict(dataset=dataset_config_auto, model=model_config_auto, trainer=trainer_config_auto,
                 seed=seed_config_auto))


class _Search:
    method = ""

    def __init__(self, fns: dict, fixed: dict, auto: dict, architect: str | None, trained_model_table: Any,
                 total_trials: int, comment: str, minimize: bool, seed: int | None, parallel_trials: int,
                 poll_interval: float):
        self.fns = {kind: fn if isinstance(fn, str) else builder_name(fn) for kind, fn in fns.items()}
        self.fixed_params = fixed
        self.space = SearchSpace(fixed, auto)
        self.auto_params = [{"name": parameter.name, **parameter.spec} for parameter in self.space.parameters]
        self.architect = architect
        self.trained_model_table = resolve_trained_model_table(trained_model_table)
        self.total_trials = total_trials
        self.comment = comment
        self.settings = SearchSettings(method=self.method, total_trials=total_trials, minimize=minimize, seed=seed,
                                       parallel_trials=parallel_trials, poll_interval=poll_interval,
                                       fabrikant=architect, comment=comment)
        self.settings.check()

    @staticmethod
    def get_fixed_params(dataset_config: dict, model_config: dict, trainer_config: dict) -> dict:
        """nnfabrik's: the fixed configs by builder."""
        return dict(dataset=dataset_config, model=model_config, trainer=trainer_config)

    @staticmethod
    def _split_config(params: dict) -> dict:
        """nnfabrik's: ``{"model.width": 8, ...}`` as ``{"dataset": {...}, "model": {"width": 8}, ...}``."""
        config = dict(dataset={}, model={}, trainer={}, seed={}, others={})
        for name, value in params.items():
            section, key = name.split(".", 1)
            config[section if section in config else "others"][key] = value
        return config

    def definition(self) -> dict:
        """What defines the search (its hash finds it again in the database); not the trial count or comment."""
        return {
            "method": self.method, "fns": self.fns, "fixed": self.fixed_params,
            "auto": {parameter.name: parameter.spec for parameter in self.space.parameters},
            "minimize": self.settings.minimize, "seed": self.settings.seed,
            "trained_model_table": self.trained_model_table().full_table_name,
        }

    def trials(self) -> list[Trial]:
        """The search's trials as the database holds them (none before the first ``run()``)."""
        return self._store().trials()

    def _store(self) -> SearchTrials:
        definition = self.definition()
        return SearchTrials(self.trained_model_table, make_hash(definition), definition, self.comment)

    def run(self) -> tuple:
        """Run (or resume) the search until it has ``total_trials`` trials; returns ``(best_parameters, values,
        experiment, model)`` as nnfabrik's ``Bayesian.run`` (see the module docstring)."""
        trials = run_trials(self._store(), self.space, self.fns, self.settings)
        scored = [trial for trial in trials if trial.state == "complete"]
        if not scored:
            raise RuntimeError(f"none of the search's {len(trials)} trials was trained successfully; the jobs "
                               "table holds their errors")
        choose = min if self.settings.minimize else max
        best = choose(scored, key=lambda trial: trial.score)
        values = ({OBJECTIVE: best.score}, {OBJECTIVE: {OBJECTIVE: math.nan}})
        return self._split_config(best.params), values, trials, study_of(trials, self.space, self.settings.minimize)


class Bayesian(_Search):
    """nnfabrik's ``Bayesian``: Bayesian optimisation of the ``*_config_auto`` parameters (Optuna's Gaussian-process
    sampler; Snoek, Larochelle & Adams 2012), each trial an entry trained by ``populate``. ``arms_per_trial`` must
    be 1 (a trial is one job; run more workers, or ``parallel_trials``, to train several at once)."""

    method = "bayesian"

    def __init__(self, dataset_fn, dataset_config, dataset_config_auto, model_fn, model_config, model_config_auto,
                 trainer_fn, trainer_config, trainer_config_auto, architect, trained_model_table, total_trials=5,
                 arms_per_trial=1, comment="Bayesian optimization of Hyper params.", *, seed_config_auto=None,
                 minimize=False, seed=None, parallel_trials=1, poll_interval=5.0):
        if arms_per_trial != 1:
            raise ValueError(f"arms_per_trial must be 1, not {arms_per_trial!r}: a trial is one job here; use "
                             "parallel_trials and more workers to train several at once")
        self.arms_per_trial = arms_per_trial
        super().__init__(*_sections(dataset_fn, dataset_config, dataset_config_auto, model_fn, model_config,
                                    model_config_auto, trainer_fn, trainer_config, trainer_config_auto,
                                    seed_config_auto),
                         architect, trained_model_table, total_trials, comment, minimize, seed, parallel_trials,
                         poll_interval)


class Random(_Search):
    """nnfabrik's ``Random``: each trial's ``*_config_auto`` parameters drawn at random (uniform, or log-uniform
    with ``log_scale``), each trial an entry trained by ``populate``."""

    method = "random"

    def __init__(self, dataset_fn, dataset_config, dataset_config_auto, model_fn, model_config, model_config_auto,
                 trainer_fn, trainer_config, trainer_config_auto, seed_config_auto, architect, trained_model_table,
                 total_trials=5, comment="Random search for hyper params.", *, minimize=False, seed=None,
                 parallel_trials=1, poll_interval=5.0):
        super().__init__(*_sections(dataset_fn, dataset_config, dataset_config_auto, model_fn, model_config,
                                    model_config_auto, trainer_fn, trainer_config, trainer_config_auto,
                                    seed_config_auto),
                         architect, trained_model_table, total_trials, comment, minimize, seed, parallel_trials,
                         poll_interval)
