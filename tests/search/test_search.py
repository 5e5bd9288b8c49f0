"""Searches on MariaDB with the tiny regression builders: trials are entries trained by populate, recorded in the
database, resumed after a crash, shared by several drivers."""

import os
import subprocess
import sys
import textwrap

import pytest

from neural_cotraining.registry import BUILDER_MODULES_ENV
from neural_cotraining.search import Bayesian, Random
from neural_cotraining.search.optimizer import next_params

BUILDERS = "tests.pipeline.tiny_builders"
LR = {"lr": {"type": "range", "bounds": [0.001, 0.3], "log_scale": True}}
HIDDEN = {"hidden": {"type": "choice", "values": [2, 4, 8]}}


def _random(tables, total_trials, **options):
    return Random(f"{BUILDERS}.random_regression", {"n_samples": 32}, {}, f"{BUILDERS}.linear_model", {}, HIDDEN,
                  f"{BUILDERS}.sgd_trainer", {"epochs": 2}, LR, {"seed": {"type": "fixed", "value": 1}},
                  architect="tester", trained_model_table=tables.TrainedModel, total_trials=total_trials,
                  **{"seed": 3, **options})


@pytest.mark.db
def test_each_trial_is_an_entry_trained_by_populate_and_its_score_is_in_the_database(pipeline):
    best, values, trials, study = _random(pipeline, 3).run()
    assert [trial.trial_id for trial in trials] == [0, 1, 2]
    assert all(trial.state == "complete" for trial in trials)
    rows = (pipeline.TrainedModel() * pipeline.Trainer() * pipeline.Model()).to_dicts()
    stored = {(row["model_config"]["hidden"], row["trainer_config"]["lr"]): row["score"] for row in rows}
    assert stored == {(t.params["model.hidden"], t.params["trainer.lr"]): t.score for t in trials}
    assert all(row["trainer_config"]["epochs"] == 2 and row["trainer_fabrikant"] == "tester" for row in rows)
    top = max(trials, key=lambda trial: trial.score)
    assert values[0] == {"val_corr": top.score}
    assert best == {"dataset": {}, "model": {"hidden": top.params["model.hidden"]},
                    "trainer": {"lr": top.params["trainer.lr"]}, "seed": {"seed": 1}, "others": {}}
    assert study.best_value == top.score and len(study.trials) == 3


@pytest.mark.db
def test_a_crashed_search_resumes_from_the_database(pipeline, schema_name):
    search = _random(pipeline, 2)
    search.run()
    # a driver that crashed after recording trial 2 and before training it leaves this behind
    store = search._store()
    crashed = next_params("random", search.space, store.trials(), 2, False, seed=3)
    configs, seed = search.space.configs(crashed)
    store.add(2, crashed, search.fns, configs, seed, "tester", "left by a crash")
    assert [trial.state for trial in store.trials()] == ["complete", "complete", "pending"]
    first_two = (pipeline.TrainedModel()).to_dicts()

    _, _, trials, _ = _random(pipeline, 4).run()
    assert [trial.trial_id for trial in trials] == [0, 1, 2, 3]
    assert all(trial.state == "complete" for trial in trials)
    assert trials[2].params == crashed  # trained, not asked again
    untouched = {row["trainedmodel_ts"] for row in first_two}
    assert untouched <= {row["trainedmodel_ts"] for row in pipeline.TrainedModel().to_dicts()}
    # what an uninterrupted search draws: the same values, trial by trial
    assert [trial.params for trial in trials] == [next_params("random", search.space, [], i, False, seed=3)
                                                  for i in range(4)]


@pytest.mark.db
def test_run_again_finds_the_finished_search(pipeline):
    _random(pipeline, 2).run()
    before = len(pipeline.TrainedModel())
    _, _, trials, _ = _random(pipeline, 2).run()
    assert len(trials) == 2 and len(pipeline.TrainedModel()) == before
    other = _random(pipeline, 1, minimize=True)  # another definition: another search
    assert other.trials() == []


@pytest.mark.db
def test_a_failing_trial_is_recorded_and_the_search_goes_on(pipeline):
    search = Bayesian(f"{BUILDERS}.random_regression", {}, {}, f"{BUILDERS}.linear_model", {}, {},
                      f"{BUILDERS}.sgd_trainer", {"epochs": 2},
                      {"fail_at_epoch": {"type": "choice", "values": [None, 0]}, **LR},
                      architect="tester", trained_model_table=pipeline.TrainedModel, total_trials=4, seed=11)
    _, values, trials, _ = search.run()
    failed = [trial for trial in trials if trial.params["trainer.fail_at_epoch"] == 0]
    assert failed and all(trial.state == "failed" and trial.score is None for trial in failed)
    assert values[0]["val_corr"] == max(t.score for t in trials if t.state == "complete")
    assert len(pipeline.TrainedModel().jobs.errors) == len(failed)


@pytest.mark.db
def test_two_drivers_share_one_search(pipeline, schema_name):
    """Two processes run the same search at once: every trial number is taken once, every trial trained once."""
    script = textwrap.dedent(f"""
        from neural_cotraining.pipeline import activate
        from tests.search.test_search import _random
        _random(activate({schema_name!r}), 4, parallel_trials=2, poll_interval=0.2).run()
    """)
    environment = {**os.environ, BUILDER_MODULES_ENV: "tests", "OMP_NUM_THREADS": "1"}
    drivers = [subprocess.Popen([sys.executable, "-c", script], env=environment, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    errors = [driver.communicate(timeout=300)[1] for driver in drivers]
    assert [driver.returncode for driver in drivers] == [0, 0], [error[-3000:] for error in errors]
    trials = _random(pipeline, 4).trials()
    assert [trial.trial_id for trial in trials] == list(range(4))
    assert all(trial.state == "complete" for trial in trials)
    distinct_jobs = {tuple(sorted(trial.key.items())) for trial in trials}
    assert len(pipeline.TrainedModel()) == len(distinct_jobs)


@pytest.mark.db
def test_bad_arguments_are_refused_before_anything_is_recorded(pipeline):
    tables = pipeline.schema.list_tables()
    with pytest.raises(ValueError, match="arms_per_trial must be 1"):
        Bayesian("a.b", {}, {}, "a.b", {}, {}, "a.b", {}, LR, "me", pipeline.TrainedModel, arms_per_trial=2)
    with pytest.raises(ValueError, match="total_trials must be a positive integer"):
        _random(pipeline, 0)
    assert pipeline.schema.list_tables() == tables


@pytest.mark.db
def test_a_trial_number_taken_by_another_driver_leaves_nothing_half_written(pipeline):
    """Two drivers that propose trial 0 at once: the second one's entries are rolled back with its trial row."""
    search = _random(pipeline, 1)
    store = search._store()
    store.open()
    mine, theirs = (next_params("random", search.space, [], trial_id, False, seed=3) for trial_id in (0, 1))
    assert store.add(0, mine, search.fns, *search.space.configs(mine), "tester", "first") is not None
    assert store.add(0, theirs, search.fns, *search.space.configs(theirs), "tester", "second") is None
    assert [trial.params for trial in store.trials()] == [mine]
    assert len(pipeline.Trainer()) == 1 and len(pipeline.Model()) == 1  # the second proposal's entries are gone


@pytest.mark.db
def test_a_searchs_trials_are_asked_for_so_a_worker_without_a_file_trains_them(pipeline, schema_name, capsys):
    from neural_cotraining.cli import main

    _, _, trials, _ = _random(pipeline, 2).run()
    ((name, modules),) = pipeline.AddedExperiment().recorded_modules().items()
    assert name.startswith("search ") and modules == ["tests.pipeline.tiny_builders"]
    recorded = [job["key"] for job in pipeline.AddedExperiment().recorded_jobs()]
    assert sorted(map(sorted, map(dict.items, recorded))) == sorted(sorted(t.key.items()) for t in trials)
    (pipeline.TrainedModel() & trials[0].key).delete(prompt=False)  # as if a driver had recorded it and died
    capsys.readouterr()
    assert main(["worker", "--schema", schema_name, "--idle-exit", "0"]) == 0
    assert capsys.readouterr().out.strip() == "worker: 1 trained, 0 failed, 0 handed back"
