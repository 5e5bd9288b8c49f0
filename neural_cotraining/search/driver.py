"""The search loop: ask for a trial, record it as entries, train it, until the search has its trials.

The loop keeps no state of its own: each turn reads the search's trials from the database (``SearchTrials``) and
does the one thing they call for, so a driver that crashed, or several drivers at once, carry on from what is
there:

1. a trial recorded but not being trained (new, or handed back by an interrupted worker) is trained here;
2. else, while the search has fewer trials than ``total_trials`` and fewer than ``parallel_trials`` unfinished,
   the optimiser proposes the next one and it is recorded (its entries added, nothing trained yet);
3. else, while other workers are training trials, the driver waits for their scores (``poll_interval``);
4. else the search is done.

With ``parallel_trials=1`` (the default) this is nnfabrik's loop: one trial proposed, trained, scored, the next.
With more, workers elsewhere (``neural-cotraining worker --schema ...``) train the recorded trials alongside.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from .optimizer import next_params
from .space import SearchSpace

__all__ = ["SearchSettings", "SearchInterrupted", "run_trials"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchSettings:
    method: str                 # "bayesian" or "random"
    total_trials: int
    minimize: bool = False
    seed: int | None = None     # the optimiser's seed (None: a fresh one per trial)
    parallel_trials: int = 1
    poll_interval: float = 5.0
    fabrikant: str | None = None
    comment: str = ""

    def check(self) -> None:
        if not _positive_int(self.total_trials):
            raise ValueError(f"total_trials must be a positive integer, not {self.total_trials!r}")
        if not _positive_int(self.parallel_trials):
            raise ValueError(f"parallel_trials must be a positive integer, not {self.parallel_trials!r}")
        if self.seed is not None and not (isinstance(self.seed, int) and not isinstance(self.seed, bool)
                                          and self.seed >= 0):
            raise ValueError(f"the optimiser's seed must be None or an integer >= 0, not {self.seed!r}")
        if not self.poll_interval > 0:
            raise ValueError(f"poll_interval must be more than 0 seconds, not {self.poll_interval!r}")


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _unfinished(trials: list) -> list:
    return [trial for trial in trials if trial.state in ("pending", "running")]


class SearchInterrupted(KeyboardInterrupt):
    """SIGINT/SIGTERM stopped the search while it trained a trial; the trial went back to the queue, and running
    the search again resumes it (from its checkpoint)."""


def _train(store, trial) -> None:
    if not store.train([trial.key]):
        raise SearchInterrupted(f"stopped by a signal while training trial {trial.trial_id}: it went back to the "
                                "queue; run the search again to resume")
    after = next(found for found in store.trials() if found.trial_id == trial.trial_id)
    if after.state == "pending":  # neither trained nor failed nor taken by another worker: it would loop for ever
        raise RuntimeError(f"trial {trial.trial_id} ({trial.key}) is still untrained after training it; see the log")


def run_trials(store, space: SearchSpace, fns: dict, settings: SearchSettings) -> list:
    """Run the search whose trials ``store`` (``pipeline.search_trials.SearchTrials``) holds; returns its trials."""
    settings.check()
    store.open()
    while True:
        trials = store.trials()
        pending = [trial for trial in trials if trial.state == "pending"]
        if pending:
            _train(store, pending[0])
            continue
        if len(trials) < settings.total_trials and len(_unfinished(trials)) < settings.parallel_trials:
            trial_id = len(trials)
            params = next_params(settings.method, space, trials, trial_id, settings.minimize, settings.seed)
            configs, seed = space.configs(params)
            store.add(trial_id, params, fns, configs, seed, settings.fabrikant, settings.comment)
            continue
        if _unfinished(trials):
            logger.info("waiting for %d trial(s) that other workers train", len(_unfinished(trials)))
            time.sleep(settings.poll_interval)
            continue
        return trials
