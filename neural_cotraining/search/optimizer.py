"""The next trial's parameters, from the trials so far, with Optuna.

Why Optuna and not Ax (nnfabrik's choice): Optuna is five packages (optuna, SQLAlchemy, alembic, Mako,
colorlog) and its samplers run on the CPU in the driver, whatever device trains the models; Ax 1.3 pulls in
BoTorch, GPyTorch, pymoo, plotly and more (19 packages here). Optuna's ``GPSampler`` is the same kind of Bayesian
optimisation as Ax's default (a Gaussian process with an expected-improvement acquisition, taken as its log; Snoek,
Larochelle & Adams 2012, "Practical Bayesian optimization of machine learning algorithms"), and its ask/tell
interface lets the database stay the only record: for every trial the study is rebuilt from the trials the
database holds, so a crashed search resumes from there, and trials other drivers are training are passed to the
sampler as running (it does not propose the same point again).

Each trial's sampler is seeded from the search's seed and the trial number, so a resumed search draws what an
uninterrupted one would have drawn.
"""

from __future__ import annotations

import numpy as np
import optuna
from optuna.trial import TrialState, create_trial

from .space import SearchSpace

__all__ = ["METHODS", "study_of", "next_params", "startup_trials"]

METHODS = ("bayesian", "random")
_STATES = {"complete": TrialState.COMPLETE, "failed": TrialState.FAIL, "running": TrialState.RUNNING,
           "pending": TrialState.RUNNING}


def startup_trials(space: SearchSpace) -> int:
    """Random trials before the Gaussian process takes over: one more than the searched parameters, at least 2
    (Ax starts with max(5, 2 x parameters) quasi-random ones; its budgets are larger than a quick search's)."""
    return max(2, len(space.optimised) + 1)


def _trial_seed(seed: int | None, trial_id: int) -> int | None:
    return None if seed is None else int(np.random.SeedSequence([seed, trial_id]).generate_state(1)[0])


def _sampler(method: str, space: SearchSpace, seed: int | None) -> optuna.samplers.BaseSampler:
    if method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup_trials(space))


def study_of(trials: list, space: SearchSpace, minimize: bool,
             sampler: optuna.samplers.BaseSampler | None = None) -> optuna.Study:
    """An in-memory Optuna study holding ``trials`` (``pipeline.search_trials.Trial``s)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # Optuna logs every trial at INFO
    study = optuna.create_study(direction="minimize" if minimize else "maximize", sampler=sampler)
    distributions = space.distributions()
    for trial in trials:
        state = _STATES[trial.state]
        params = {parameter.name: parameter.encode(trial.params[parameter.name]) for parameter in space.optimised}
        study.add_trial(create_trial(state=state, params=params, distributions=distributions,
                                     value=trial.score if state is TrialState.COMPLETE else None,
                                     user_attrs={"trial_id": trial.trial_id, "key": trial.key}))
    return study


def next_params(method: str, space: SearchSpace, trials: list, trial_id: int, minimize: bool,
                seed: int | None) -> dict:
    """The parameter values of trial ``trial_id`` ({"model.width": 8, ...}), every parameter included."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    trial_seed = _trial_seed(seed, trial_id)
    params = space.unoptimised_values(np.random.default_rng(trial_seed))
    if not space.optimised:
        return params
    study = study_of(trials, space, minimize, _sampler(method, space, trial_seed))
    trial = study.ask(space.distributions())
    params.update({parameter.name: parameter.decode(trial.params[parameter.name]) for parameter in space.optimised})
    return params
