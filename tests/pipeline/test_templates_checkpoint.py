"""nnfabrik's checkpoint template (TrainedModelChkptBase + my_checkpoint) with nnfabrik's mnist checkpoint trainer
(ported in tests/pipeline/nnfabrik_mnist) on MariaDB: an interrupted job resumes where it stopped."""

import os
import signal

import pytest
import torch

from neural_cotraining.pipeline.templates.checkpoint import (
    CheckpointRestoreError,
    TrainedModelChkptBase,
    my_checkpoint,
)
from neural_cotraining.pipeline.trained_model import deserialize_state

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_torch_thread")]

DATASET_FN = "tests.pipeline.nnfabrik_mnist.dataset.mnist_dataset_fn"
MODEL_FN = "tests.pipeline.nnfabrik_mnist.model.mnist_model_fn"
CHKPT_TRAINER_FN = "tests.pipeline.nnfabrik_mnist.checkpoint_trainer.chkpt_trainer_fn"


def add_entries(tables, trainer_config):
    tables.Seed().insert1({"seed": 7})
    tables.Dataset().add_entry(dataset_fn=DATASET_FN, dataset_config=dict(batch_size=64))
    tables.Model().add_entry(model_fn=MODEL_FN, model_config=dict(h_dim=5))
    return tables.Trainer().add_entry(trainer_fn=CHKPT_TRAINER_FN, trainer_config=trainer_config)


def chkpt_table(tables, name, checkpoint, interrupt_after_epoch=None):
    """A TrainedModelChkpt table named ``name`` recording what its trainer asks; with ``interrupt_after_epoch``,
    the process receives SIGINT (Ctrl-C) right after that epoch's checkpoint is saved."""
    calls = []

    def call_back(self, uid=None, epoch=None, model=None, state=None):
        action = state.get("action") if state else None
        TrainedModelChkptBase.call_back(self, uid=uid, epoch=epoch, model=model, state=state)
        calls.append((action, epoch, state.get("epoch") if state else None))
        if action == "save" and epoch == interrupt_after_epoch:
            os.kill(os.getpid(), signal.SIGINT)

    table = type(name, (TrainedModelChkptBase,), {
        "table_comment": "My Trained models with checkpointing", "nnfabrik": tables,
        "checkpoint_table": checkpoint, "call_back": call_back, "__module__": __name__,
    })
    return tables.schema(table), calls


def called_directly(tables, name):
    """A TrainedModelChkpt table, its checkpoint table and a job's uid, for calling call_back as a trainer does."""
    trainer_key = add_entries(tables, dict(epochs=1, keep_checkpoints=True))
    Checkpoint = my_checkpoint(tables)
    table, _ = chkpt_table(tables, name, Checkpoint)
    uid = {**tables.Dataset().keys()[0], **tables.Model().keys()[0], **trainer_key, "seed": 7}
    return table, Checkpoint, uid


def weights(table):
    return deserialize_state((table.ModelStorage & table.keys()[0]).to_dicts()[0]["model_state"])


def test_an_interrupted_job_resumes_at_the_next_epoch_and_ends_with_the_uninterrupted_weights(pipeline):
    add_entries(pipeline, dict(epochs=3))
    Checkpoint = my_checkpoint(pipeline)
    straight, straight_calls = chkpt_table(pipeline, "TrainedModelStraight", Checkpoint)
    straight.populate()
    assert [c[:2] for c in straight_calls] == [("last", -1), ("save", 0), ("save", 1), ("save", 2)]
    assert len(Checkpoint()) == 0  # deleted once the model is stored

    interrupted, calls = chkpt_table(pipeline, "TrainedModelChkpt", Checkpoint, interrupt_after_epoch=0)
    with pytest.raises(KeyboardInterrupt):
        interrupted.populate()
    assert len(interrupted()) == 0
    assert Checkpoint().to_arrays("epoch").tolist() == [0]  # nnfabrik: one row after the first epoch

    calls.clear()
    interrupted.populate()
    # the restore hands back epoch 0, so training goes on at epoch 1
    assert calls == [("last", -1, 0), ("save", 1, None), ("save", 2, None)]
    assert len(Checkpoint()) == 0
    resumed, uninterrupted = weights(interrupted), weights(straight)
    assert resumed.keys() == uninterrupted.keys()
    for name in resumed:
        assert torch.equal(resumed[name], uninterrupted[name]), name
    assert (interrupted().to_dicts()[0]["score"]) == straight().to_dicts()[0]["score"]


def test_save_keeps_the_last_n_the_best_n_and_the_selected_epochs(pipeline):
    table, Checkpoint, uid = called_directly(pipeline, "TrainedModelKeep")
    model = torch.nn.Linear(2, 1)
    scores = [0.5, 0.9, 0.1, 0.3, 0.2, 0.4]
    for epoch, score in enumerate(scores):
        state = {"action": "save", "score": score, "maximize_score": True, "keep_last_n": 2, "keep_best_n": 1,
                 "keep_selection": (2,)}
        table().call_back(uid=uid, epoch=epoch, model=model, state=state)
    assert sorted(Checkpoint().to_arrays("epoch").tolist()) == [1, 2, 4, 5]  # best 1, selected 2, last 4 and 5

    state = {"action": "best", "maximize_score": True}
    table().call_back(uid=uid, epoch=-1, model=model, state=state)
    assert (state["epoch"], state["score"]) == (1, 0.9)
    state = {"action": "best", "maximize_score": False}
    table().call_back(uid=uid, epoch=-1, model=model, state=state)
    assert (state["epoch"], state["score"]) == (2, 0.1)


def test_save_every_n_skips_epochs_and_keep_checkpoints_keeps_them_after_training(pipeline):
    add_entries(pipeline, dict(epochs=3, keep_checkpoints=True,
                               chkpt_options=dict(save_every_n=2, keep_last_n=5)))
    Checkpoint = my_checkpoint(pipeline)
    table, _ = chkpt_table(pipeline, "TrainedModelEvery", Checkpoint)
    table.populate()
    assert len(table()) == 1
    assert sorted(Checkpoint().to_arrays("epoch").tolist()) == [0, 2]


def test_restore_loads_optimizer_state_and_refills_lists_in_place(pipeline):
    table, _, uid = called_directly(pipeline, "TrainedModelRestore")
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.ones(4, 3)).sum().backward()
    optimizer.step()
    table().call_back(uid=uid, epoch=0, model=model,
                      state={"action": "save", "score": 1.0, "optimizer": optimizer, "tracker": [1.0, 2.0]})

    fresh_model = torch.nn.Linear(3, 1)
    fresh_optimizer = torch.optim.Adam(fresh_model.parameters(), lr=0.5)
    tracker = []
    state = {"action": "last", "optimizer": fresh_optimizer, "tracker": tracker}
    table().call_back(uid=uid, epoch=-1, model=fresh_model, state=state)
    assert tracker == [1.0, 2.0] and state["epoch"] == 0
    assert torch.equal(fresh_model.weight, model.weight)
    assert fresh_optimizer.param_groups[0]["lr"] == 0.01
    assert torch.equal(fresh_optimizer.state[fresh_optimizer.param_groups[0]["params"][0]]["exp_avg"],
                       optimizer.state[optimizer.param_groups[0]["params"][0]]["exp_avg"])


class Unsafe:
    """A type outside torch's weights_only allow-list."""

    def __init__(self, value=3):
        self.value = value


def test_a_checkpoint_holding_other_types_is_refused_unless_allowed(pipeline):
    table, _, uid = called_directly(pipeline, "TrainedModelUnsafe")
    model = torch.nn.Linear(2, 1)
    table().call_back(uid=uid, epoch=0, model=model, state={"action": "save", "score": 1.0, "extra": Unsafe()})
    with pytest.raises(CheckpointRestoreError, match="epoch 0 .*checkpoint_safe_globals"):
        table().call_back(uid=uid, epoch=-1, model=model, state={"action": "last"})
    table.checkpoint_safe_globals = (Unsafe,)
    state = {"action": "last"}
    table().call_back(uid=uid, epoch=-1, model=model, state=state)
    assert isinstance(state["extra"], Unsafe) and state["extra"].value == 3


def test_an_unknown_action_is_refused(pipeline):
    table, _, uid = called_directly(pipeline, "TrainedModelAction")
    with pytest.raises(ValueError, match="'save', 'last' or 'best', not 'load'"):
        table().call_back(uid=uid, epoch=0, model=torch.nn.Linear(1, 1), state={"action": "load"})
