"""nnfabrik's checkpoint template, Experiments table, ModelStorage file paths, populate(order=) and schema.jobs on
PostgreSQL (DJ_BACKEND=postgresql). Runs in a subprocess: a process holds one DataJoint connection, and the other
tests use MariaDB."""

import pytest

from tests.pipeline.postgres_script import run_on_postgresql

pytestmark = pytest.mark.db

SCRIPT = """
import json, sys, tempfile
import torch
from neural_cotraining.pipeline import activate
from neural_cotraining.pipeline.templates.checkpoint import my_checkpoint
from neural_cotraining.pipeline.templates.experiments import experiments_table
from tests.pipeline.test_templates_checkpoint import add_entries, chkpt_table, weights
torch.set_num_threads(1)
tables = activate(sys.argv[1], trained_model=False)
try:
    trainer_key = add_entries(tables, dict(epochs=3))
    Checkpoint = my_checkpoint(tables)
    straight, _ = chkpt_table(tables, "TrainedModelStraight", Checkpoint)
    straight.populate(order="reverse")
    interrupted, calls = chkpt_table(tables, "TrainedModelChkpt", Checkpoint, interrupt_after_epoch=0)
    try:
        interrupted.populate(reserve_jobs=True)
    except KeyboardInterrupt:
        pass
    left_after_interrupt = Checkpoint().to_arrays("epoch").tolist()
    (tables.schema.jobs & "status='error'").delete()
    calls.clear()
    interrupted.populate(reserve_jobs=True)
    resumed, uninterrupted = weights(interrupted), weights(straight)
    Experiments = experiments_table(tables)
    restriction = {**tables.Dataset().keys()[0], **tables.Model().keys()[0], **trainer_key}
    Experiments().add_entry("sweep", "ada", "a comment", restrictions=[restriction])
    with tempfile.TemporaryDirectory() as folder:
        path = (interrupted.ModelStorage & interrupted.keys()[0]).fetch1("model_state", download_path=folder)
        from_file = torch.load(path, weights_only=True)
    print(json.dumps({
        "backend": tables.schema.connection.adapter.__class__.__name__,
        "left_after_interrupt": left_after_interrupt,
        "resumed_calls": [list(call) for call in calls],
        "same_weights": all(torch.equal(resumed[k], v) for k, v in uninterrupted.items()),
        "checkpoints_left": len(Checkpoint()),
        "errors_left": len(interrupted.jobs.errors),
        "experiment_rows": len(Experiments.Restrictions() & {"experiment_name": "sweep"}),
        "file_weights_match": all(torch.equal(from_file[k], v) for k, v in resumed.items()),
    }))
finally:
    tables.schema.drop(prompt=False)
"""


def test_nnfabrik_templates_run_on_postgresql():
    report = run_on_postgresql(SCRIPT)
    assert report == {
        "backend": "PostgreSQLAdapter",
        "left_after_interrupt": [0],
        "resumed_calls": [["last", -1, 0], ["save", 1, None], ["save", 2, None]],
        "same_weights": True,
        "checkpoints_left": 0,
        "errors_left": 0,
        "experiment_rows": 1,
        "file_weights_match": True,
    }
