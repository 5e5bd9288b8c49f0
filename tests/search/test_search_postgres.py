"""The nnfabrik hash scheme and a search on PostgreSQL (DJ_BACKEND=postgresql), in a subprocess: a process holds one
DataJoint connection and the other tests use MariaDB."""

import pytest

from tests.pipeline.postgres_script import run_on_postgresql

BUILDERS = "tests.pipeline.tiny_builders"
SCRIPT = f"""
import json, sys
from neural_cotraining.pipeline import activate
from neural_cotraining.search import Bayesian
tables = activate(sys.argv[1], hash="nnfabrik")
try:
    key = tables.Dataset().add_entry("{BUILDERS}.random_regression", {{"batch_size": 64}})
    scheme = activate(sys.argv[1]).Dataset.hash_scheme  # read back from the schema
    search = Bayesian("{BUILDERS}.random_regression", {{"n_samples": 32}}, {{}},
                      "{BUILDERS}.linear_model", {{}}, {{"hidden": {{"type": "choice", "values": [2, 4]}}}},
                      "{BUILDERS}.sgd_trainer", {{"epochs": 2}},
                      {{"lr": {{"type": "range", "bounds": [0.001, 0.3], "log_scale": True}}}},
                      architect="pg", trained_model_table=tables.TrainedModel, total_trials=4, seed=2)
    _, values, trials, _ = search.run()
    resumed = search.trials()
    print(json.dumps({{"hash": key["dataset_hash"], "scheme": scheme, "states": [t.state for t in trials],
                      "trained": len(tables.TrainedModel()), "best": values[0]["val_corr"],
                      "scores": [t.score for t in trials], "resumed": [t.score for t in resumed],
                      "backend": tables.schema.connection.adapter.__class__.__name__}}))
finally:
    tables.schema.drop(prompt=False)
"""


@pytest.mark.db
def test_nnfabrik_hash_and_a_search_on_postgresql():
    report = run_on_postgresql(SCRIPT)
    assert report["backend"] == "PostgreSQLAdapter"
    assert report["hash"] == "9aee736870714f8b7c3cc084087ce886" and report["scheme"] == "nnfabrik"
    assert report["states"] == ["complete"] * 4 and report["trained"] == len(set(report["scores"]))
    assert report["resumed"] == report["scores"] and report["best"] == max(report["scores"])
