import pytest
import torch

from neural_cotraining.pipeline.jobs.checkpoints import CheckpointStore
from tests.pipeline import tiny_builders


@pytest.fixture
def job_key(pipeline):
    keys = [
        pipeline.Dataset().add_entry(tiny_builders.random_regression, {}),
        pipeline.Model().add_entry(tiny_builders.linear_model, {}),
        pipeline.Trainer().add_entry(tiny_builders.sgd_trainer, {}),
    ]
    pipeline.Seed().insert1({"seed": 4})
    return {**keys[0], **keys[1], **keys[2], "seed": 4}


def test_only_the_newest_checkpoints_are_kept_and_read_back_exactly(pipeline, job_key):
    store = CheckpointStore(pipeline.Checkpoint, job_key, keep=2)
    assert store.latest() is None
    states = {epoch: {"epoch": epoch, "weights": torch.randn(3, 2), "history": [{"epoch": epoch}]} for epoch in (1, 2, 3)}
    for epoch, state in states.items():
        store.save(epoch, state)
    assert sorted(pipeline.Checkpoint().to_arrays("epoch").tolist()) == [2, 3]
    latest = store.latest()
    assert latest["epoch"] == 3 and latest["history"] == [{"epoch": 3}]
    assert torch.equal(latest["weights"], states[3]["weights"])
    store.save(3, {**states[3], "epoch": 3, "weights": torch.zeros(3, 2)})  # the same epoch again replaces it
    assert torch.equal(store.latest()["weights"], torch.zeros(3, 2))
    store.clear()
    assert len(pipeline.Checkpoint()) == 0


def test_a_checkpoint_cannot_run_code(pipeline, job_key):
    class Exploit:
        def __reduce__(self):
            return (exec, ("raise SystemExit('ran')",))

    store = CheckpointStore(pipeline.Checkpoint, job_key)
    store.save(1, {"bad": Exploit()})
    with pytest.raises(Exception, match="Weights only load failed"):
        store.latest()


def test_keep_must_be_positive(pipeline, job_key):
    with pytest.raises(ValueError, match="keep must be at least 1"):
        CheckpointStore(pipeline.Checkpoint, job_key, keep=0)


@pytest.mark.db
@pytest.mark.parametrize("checkpoint_every, expect_checkpoints", [(None, True), (0, False)])
def test_checkpoints_are_on_by_default_and_checkpoint_every_0_turns_them_off(pipeline, checkpoint_every,
                                                                             expect_checkpoints):
    from neural_cotraining.trainer import cotrainer
    from tests.pipeline import tiny_builders

    config = {"max_epochs": 4, "patience": None, "loss_functions": {"regression": "mse"}, "verbose": False}
    if checkpoint_every is not None:
        config["checkpoint_every"] = checkpoint_every
    pipeline.Dataset().add_entry(tiny_builders.slow_regression, {"n_samples": 16, "delay": 0.02, "batch_size": 8})
    pipeline.Model().add_entry(tiny_builders.linear_model, {"hidden": 4})
    pipeline.Trainer().add_entry(cotrainer, config)
    pipeline.Seed().insert1({"seed": 1})
    trained = pipeline.TrainedModel()
    trained.checkpoint_seconds = 0.2  # an epoch takes ~0.4 s: every epoch's end is past the interval
    seen = []
    trained.call_back = lambda **reported: seen.append(pipeline.Checkpoint().to_arrays("epoch").tolist())
    trained.populate()
    assert len(trained) == 1 and len(pipeline.Checkpoint()) == 0  # stored, and the checkpoints went with it
    written = sorted({epoch for epochs in seen for epoch in epochs})
    # call_back sees each epoch before its checkpoint is saved: epochs 1-3 by the time of the last one
    assert (written == [1, 2, 3]) if expect_checkpoints else (written == []), written
