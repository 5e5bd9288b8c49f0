"""A random and a Bayesian search over the digits builder's learning rate and width, 6 trials each, on MariaDB."""

import pytest

from neural_cotraining.search import Bayesian, Random

DIGITS = ("neural_cotraining.dataset.builders.digits_loaders",
          {"image_size": 8, "noise_levels": [], "corruptions": [], "batch_size": 32}, {})
NETWORK = ("neural_cotraining.models.builders.multitask_model", {"convs_per_block": 1, "readout_layer": None},
           {"block_channels": {"type": "choice", "values": [[2], [4], [8], [16]], "is_ordered": True}})  # the width
TRAINING = ("neural_cotraining.trainer.builders.cotrainer", {"max_epochs": 2, "patience": None},
            {"lr": {"type": "range", "bounds": [1e-3, 1.0], "log_scale": True}})
SEED = {"seed": {"type": "fixed", "value": 1}}


@pytest.mark.db
def test_bayesian_finds_at_least_the_random_best_on_the_same_budget(pipeline):
    common = dict(architect="tester", trained_model_table=pipeline.TrainedModel, total_trials=6, seed=0)
    random_best, random_values, random_trials, _ = Random(*DIGITS, *NETWORK, *TRAINING, SEED, **common).run()
    bayes_best, bayes_values, bayes_trials, _ = Bayesian(*DIGITS, *NETWORK, *TRAINING, seed_config_auto=SEED,
                                                         **common).run()
    for trials in (random_trials, bayes_trials):
        assert len(trials) == 6 and all(trial.state == "complete" for trial in trials)
    # every trial's config and score are in the database
    rows = (pipeline.TrainedModel() * pipeline.Model() * pipeline.Trainer()).to_dicts()
    stored = {(tuple(row["model_config"]["block_channels"]), row["trainer_config"]["lr"]): row["score"] for row in rows}
    for trial in random_trials + bayes_trials:
        assert stored[tuple(trial.params["model.block_channels"]), trial.params["trainer.lr"]] == trial.score
    print(f"random best {random_values[0]['val_corr']:.4f} {random_best}")
    print(f"bayesian best {bayes_values[0]['val_corr']:.4f} {bayes_best}")
    assert bayes_values[0]["val_corr"] >= random_values[0]["val_corr"]
