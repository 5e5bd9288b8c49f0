"""Bayesian vs. random search on the same budget: the digits builder's learning rate and width.

The workload of ``tests/search/test_digits_search.py``: digits at 8x8 (batch 32), ``multitask_model`` with one
convolutional block whose width (``block_channels``) is searched among [2], [4], [8], [16], the co-trainer for 2
epochs with its learning rate searched log-uniformly in [1e-3, 1]; seed 1 for every training. For each optimiser
seed a ``Random`` and a ``Bayesian`` search (``neural_cotraining.search``) of ``--trials`` trials each run in one
throwaway schema; with the same optimiser seed both draw the same start-up trials (the Bayesian search's first
``startup_trials`` are random), so the difference comes from what the Gaussian process proposes afterwards.

Reported per optimiser seed: each search's best score (validation accuracy) and its trials; over the seeds: the
Bayesian best minus the random best (median, min, max), how often it is higher / equal / lower, and the time the
optimiser takes to propose a trial (median; the rest of a trial is training, as for any job).

``python -m benchmarks.search [--quick] [--seeds N] [--trials N]``
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import LoadMonitor, parse_args, throwaway_schema, write_result

NAME = "search"
DIGITS = ("neural_cotraining.dataset.builders.digits_loaders",
          {"image_size": 8, "noise_levels": [], "corruptions": [], "batch_size": 32}, {})
NETWORK = ("neural_cotraining.models.builders.multitask_model", {"convs_per_block": 1, "readout_layer": None},
           {"block_channels": {"type": "choice", "values": [[2], [4], [8], [16]], "is_ordered": True}})
TRAINING = ("neural_cotraining.trainer.builders.cotrainer", {"max_epochs": 2, "patience": None},
            {"lr": {"type": "range", "bounds": [1e-3, 1.0], "log_scale": True}})
SEED = {"seed": {"type": "fixed", "value": 1}}


def _timed_proposals():
    """Wrap the optimiser so that the time of each proposal is recorded, per method."""
    from neural_cotraining.search import driver

    timings = {"bayesian": [], "random": []}
    propose = driver.next_params

    def timed(method, *args, **kwargs):
        start = time.perf_counter()
        try:
            return propose(method, *args, **kwargs)
        finally:
            timings[method].append(time.perf_counter() - start)

    driver.next_params = timed
    return timings


def _trials(trials) -> list[dict]:
    return [{"trial": t.trial_id, "score": t.score, "block_channels": t.params["model.block_channels"],
             "lr": t.params["trainer.lr"]} for t in trials]


def main(argv=None) -> int:
    arguments = parse_args(__doc__.splitlines()[0], argv, extra=lambda parser: (
        parser.add_argument("--seeds", type=int, default=5, help="optimiser seeds (0, 1, ...)"),
        parser.add_argument("--trials", type=int, default=6, help="trials per search")))
    seeds, trials = (1, 3) if arguments.quick else (arguments.seeds, arguments.trials)
    import torch

    from neural_cotraining.search import Bayesian, Random

    torch.set_num_threads(1)
    timings = _timed_proposals()
    load = LoadMonitor()
    runs = []
    for seed in range(seeds):
        with throwaway_schema(NAME) as tables:
            common = dict(architect="benchmark", trained_model_table=tables.TrainedModel, total_trials=trials,
                          seed=seed)
            _, random_values, random_trials, _ = Random(*DIGITS, *NETWORK, *TRAINING, SEED, **common).run()
            _, bayes_values, bayes_trials, _ = Bayesian(*DIGITS, *NETWORK, *TRAINING, seed_config_auto=SEED,
                                                        **common).run()
        runs.append({"optimizer_seed": seed, "random_best": random_values[0]["val_corr"],
                     "bayesian_best": bayes_values[0]["val_corr"], "random_trials": _trials(random_trials),
                     "bayesian_trials": _trials(bayes_trials)})
    differences = [run["bayesian_best"] - run["random_best"] for run in runs]
    result = {
        "trials_per_search": trials,
        "optimizer_seeds": seeds,
        "bayesian_minus_random_best": {"median": statistics.median(differences), "min": min(differences),
                                       "max": max(differences)},
        "bayesian_higher_equal_lower": [sum(d > 0 for d in differences), sum(d == 0 for d in differences),
                                        sum(d < 0 for d in differences)],
        "proposal_seconds_median": {method: statistics.median(values) if values else None
                                    for method, values in timings.items()},
        "runs": runs,
    }
    write_result(NAME, result, arguments.output, arguments.quick, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
