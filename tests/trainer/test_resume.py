"""Checkpoints through cb: the state survives torch.save/torch.load(weights_only=True), and a run resumed from a
mid-training state ends with exactly the weights of an uninterrupted run."""

import io
from collections import Counter

import numpy as np
import pytest
import torch

from neural_cotraining.trainer import STATE_FORMAT, cotrainer
from neural_cotraining.trainer.state import to_plain

from .tiny_setup import TinyMultiTaskModel, flagship_dataloaders, state_dicts_equal

CONFIG = dict(
    max_epochs=6,
    patience=None,
    checkpoint_every=2,
    loss_weighting="likelihood",
    loss_functions={"neural": "negative_binomial"},
    ratio={0: 1, 3: 2},
    lr=0.02,
    lr_scheduler="plateau",
    lr_scheduler_options={"patience": 1},
    clip_grad_norm=5.0,
    verbose=False,
)


def round_trip(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


class Interrupted(Exception):
    pass


class RecordingCallback:
    """Keeps every checkpoint (round-tripped through torch.save/load); optionally resumes or crashes."""

    def __init__(self, resume_from=None, crash_after=None):
        self.states = {}
        self.epochs = []
        self.resume_from = resume_from
        self.crash_after = crash_after

    def __call__(self, epoch, metrics, state=None):
        self.epochs.append(epoch)
        if state is not None:
            self.states[epoch] = round_trip(state)
        if epoch == self.crash_after:
            raise Interrupted(f"simulated crash after epoch {epoch}")

    def resume_state(self):
        return self.resume_from


def train(callback, model_seed=0, **overrides):
    config = {**CONFIG, **overrides}
    return cotrainer(TinyMultiTaskModel(seed=model_seed), flagship_dataloaders(seed=0), seed=7, cb=callback, **config)


def test_resumed_run_ends_with_exactly_the_weights_of_an_uninterrupted_run():
    uninterrupted = RecordingCallback()
    score, output, model_state = train(uninterrupted)
    assert sorted(uninterrupted.states) == [2, 4, 6]

    crashed = RecordingCallback(crash_after=3)
    with pytest.raises(Interrupted):
        train(crashed)
    assert sorted(crashed.states) == [2]

    # a fresh model with different initial weights, continued from the checkpoint after epoch 2
    resumed = RecordingCallback(resume_from=crashed.states[2])
    resumed_score, resumed_output, resumed_model_state = train(resumed, model_seed=123)
    assert resumed.epochs == [3, 4, 5, 6]

    assert state_dicts_equal(resumed.states[6]["model"], uninterrupted.states[6]["model"])  # last weights
    assert state_dicts_equal(resumed_model_state, model_state)  # returned best weights
    log_variances = resumed.states[6]["weighting"]["log_variances"]
    assert torch.equal(log_variances, uninterrupted.states[6]["weighting"]["log_variances"])
    for key, value in uninterrupted.states[6]["optimizer"]["state"].items():
        for name, tensor in value.items():
            assert torch.equal(resumed.states[6]["optimizer"]["state"][key][name], tensor)
    assert resumed.states[6]["scheduler"] == uninterrupted.states[6]["scheduler"]
    assert resumed_output["history"] == output["history"]
    assert resumed_score == score
    assert resumed_output["final"] == output["final"]


@pytest.mark.parametrize("cycling", [{}, {"cycler": "proportional", "ratio": None, "round_size": 3}])
def test_resume_is_exact_without_the_stored_rng_states_because_epochs_reseed(cycling):
    uninterrupted = RecordingCallback()
    train(uninterrupted, **cycling)
    state = dict(uninterrupted.states[4])
    del state["rng"]
    resumed = RecordingCallback(resume_from=state)
    train(resumed, model_seed=9, **cycling)
    assert state_dicts_equal(resumed.states[6]["model"], uninterrupted.states[6]["model"])


def test_state_holds_the_whole_training_state_in_plain_types():
    callback = RecordingCallback()
    train(callback)
    state = callback.states[2]
    assert state["format"] == STATE_FORMAT and state["epoch"] == 2 and state["seed"] == 7
    assert set(state) >= {"model", "optimizer", "scheduler", "weighting", "losses", "early_stopping",
                          "best_weights", "history", "rng"}
    assert set(state["rng"]) >= {"torch", "cycler", "loaders"}
    assert "train/neural/s1" in state["rng"]["loaders"]
    assert [entry["epoch"] for entry in state["history"]] == [1, 2]
    # MultiStepLR keeps a Counter: stored as a plain dict, restored as a Counter
    multistep = RecordingCallback()
    cotrainer(TinyMultiTaskModel(), flagship_dataloaders(), seed=7, cb=multistep, max_epochs=2, checkpoint_every=1,
              lr_scheduler="multistep", lr_scheduler_options={"milestones": [1]}, verbose=False)
    assert type(multistep.states[1]["scheduler"]["milestones"]) is dict


def test_resuming_from_a_finished_state_only_computes_the_final_metrics():
    first = RecordingCallback()
    score, output, model_state = train(first)
    again = RecordingCallback(resume_from=first.states[6])
    score_again, output_again, model_state_again = train(again, model_seed=5)
    assert again.epochs == []
    assert score_again == score and state_dicts_equal(model_state_again, model_state)


def test_a_state_from_another_seed_or_format_is_refused():
    callback = RecordingCallback()
    train(callback)
    state = callback.states[2]
    with pytest.raises(ValueError, match="seed"):
        cotrainer(TinyMultiTaskModel(), flagship_dataloaders(), seed=8, cb=RecordingCallback(resume_from=state),
                  **CONFIG)
    with pytest.raises(ValueError, match="format"):
        cotrainer(TinyMultiTaskModel(), flagship_dataloaders(), seed=7,
                  cb=RecordingCallback(resume_from={"epoch": 2}), **CONFIG)


def test_to_plain_copies_into_weights_only_types_and_names_what_it_cannot_store():
    tensor = torch.ones(2)
    plain = to_plain({"a": Counter({3: 1}), "b": (np.float32(1.5), np.arange(2)), "t": tensor})
    assert type(plain["a"]) is dict and plain["a"] == {3: 1}
    assert plain["b"][0] == 1.5 and type(plain["b"][0]) is float and torch.equal(plain["b"][1], torch.arange(2))
    tensor += 1
    assert torch.equal(plain["t"], torch.ones(2))  # a copy, unaffected by further training
    with pytest.raises(TypeError, match=r"state\['x'\]\[0\] holds a object"):
        to_plain({"x": [object()]})


def test_to_plain_makes_numpy_subclasses_of_float_and_str_plain_so_weights_only_loads_them():
    plain = to_plain({"loss": np.float64(0.25), "task": np.str_("neural"), np.int64(3): [np.int64(4)]})
    assert [type(value) for value in (plain["loss"], plain["task"], list(plain)[2], plain[3][0])] == [
        float, str, int, int]
    buffer = io.BytesIO()
    torch.save(plain, buffer)
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True) == {"loss": 0.25, "task": "neural", 3: [4]}
