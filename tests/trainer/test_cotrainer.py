"""The co-trainer end to end: output contract, early stopping with restore of the best epoch, cb forms, config
checks, non-finite losses, plain models, regularisers, and validation-only model selection."""

import inspect
import json
import logging

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from neural_cotraining.trainer import NonFiniteLossError, cotrainer
from neural_cotraining.trainer.early_stopping import EarlyStopping
from neural_cotraining.trainer.model_calls import ModelCaller

from .tiny_setup import TinyMultiTaskModel, classification_data, flagship_dataloaders, make_loader, state_dicts_equal


def test_output_follows_the_contract_and_is_json_serialisable():
    model = TinyMultiTaskModel()
    score, output, model_state = cotrainer(model, flagship_dataloaders(), seed=1, max_epochs=3, lr=0.02,
                                           loss_weighting="likelihood", verbose=False)
    json.dumps(output)
    assert set(output) == {
        "best_epoch", "epochs_run", "stopped_early", "score_metric", "final", "history", "loss_weights",
        "per_neuron"}
    assert output["score_metric"] == "validation/img_classification/accuracy"
    assert output["epochs_run"] == 3 and output["stopped_early"] is False
    assert [entry["epoch"] for entry in output["history"]] == [1, 2, 3]
    best = output["history"][output["best_epoch"] - 1]["metrics"]
    assert score == best["validation"]["img_classification"]["accuracy"]
    assert set(best["train"]["neural"]) == {"loss", "loss_weight", "log_variance"}
    assert set(best["validation"]["neural"]) == {"correlation", "loss"}
    tasks = ("img_classification", "neural")
    assert output["loss_weights"] == {task: best["train"][task]["loss_weight"] for task in tasks}
    final = output["final"]
    assert set(final) == {"train", "validation", "test", "robustness"}
    assert set(final["test"]["neural"]) == {
        "correlation", "loss", "correlation/s1", "loss/s1", "correlation/s2", "loss/s2"}
    classification_metrics = ("accuracy", "precision", "recall", "f1", "loss")
    assert set(final["robustness"]["img_classification"]) == {
        f"{name}{suffix}" for name in classification_metrics for suffix in ("", "/gaussian_noise_0.5", "/clean")}
    # final metrics are computed with the restored best weights
    assert final["validation"]["img_classification"]["accuracy"] == score
    assert all(tensor.device.type == "cpu" for tensor in model_state.values())
    assert state_dicts_equal(model_state, {key: value.cpu() for key, value in model.state_dict().items()})


def test_output_holds_the_test_figures_of_every_neuron_keyed_by_unit_id():
    loaders = flagship_dataloaders()
    loaders["test"]["neural"]["s1"].dataset.unit_ids = [70, 71, 99]  # the data's own ids; s2 has none
    loaders["test"]["neural"]["s1"].dataset.oracle = [0.5, 0.0, 0.8]
    _, output, _ = cotrainer(TinyMultiTaskModel(), loaders, seed=1, max_epochs=1, verbose=False)
    per_neuron = output["per_neuron"]
    assert set(per_neuron) == {"neural"} and set(per_neuron["neural"]) == {"s1", "s2"}
    s1, s2 = per_neuron["neural"]["s1"], per_neuron["neural"]["s2"]
    assert s1["unit_ids"] == [70, 71, 99] and s2["unit_ids"] == [0, 1] and "oracle" not in s2
    for data_key, entry in (("s1", s1), ("s2", s2)):
        mean = sum(entry["correlation"]) / len(entry["correlation"])
        assert mean == pytest.approx(output["final"]["test"]["neural"][f"correlation/{data_key}"])
    fraction = s1["fraction_oracle"]
    assert fraction[0] == pytest.approx(s1["correlation"][0] / 0.5) and fraction[2] == pytest.approx(
        s1["correlation"][2] / 0.8)
    assert fraction[1] != fraction[1]  # NaN: no fraction of a zero oracle


def regression_dataloaders():
    """Training pulls the weight from 0 to 2; validation is best at weight 1, so it improves and then worsens."""
    generator = torch.Generator().manual_seed(0)
    x_train, x_val = torch.randn(64, 1, generator=generator), torch.randn(64, 1, generator=generator)
    return {
        "train": {"reg": make_loader(x_train, 2 * x_train.squeeze(1), batch_size=64, shuffle=False)},
        "validation": {"reg": make_loader(x_val, x_val.squeeze(1), batch_size=64, shuffle=False)},
    }


def scalar_model():
    model = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(model.weight)
    return nn.Sequential(model, nn.Flatten(0))


def test_early_stopping_restores_the_best_validation_epoch():
    states = {}

    def cb(epoch, metrics, state=None):
        states[epoch] = state

    score, output, model_state = cotrainer(
        scalar_model(), regression_dataloaders(), seed=0, cb=cb, checkpoint_every=1, loss_functions={"reg": "mse"},
        optimizer="sgd", lr=0.05, patience=3, max_epochs=50, verbose=False,
    )
    validation_losses = [entry["metrics"]["validation"]["reg"]["loss"] for entry in output["history"]]
    best_epoch = 1 + min(range(len(validation_losses)), key=validation_losses.__getitem__)
    assert output["score_metric"] == "validation/reg/loss"  # regression default: minimise the loss
    assert 3 < best_epoch < len(validation_losses)  # validation got worse after the best epoch
    assert output["best_epoch"] == best_epoch
    assert output["stopped_early"] is True and output["epochs_run"] == best_epoch + 3
    assert score == validation_losses[best_epoch - 1]
    assert state_dicts_equal(model_state, states[best_epoch]["model"])
    assert not state_dicts_equal(model_state, states[output["epochs_run"]]["model"])
    assert output["final"]["validation"]["reg"]["loss"] == pytest.approx(score, rel=1e-9)


def test_restore_best_false_keeps_the_last_epochs_weights():
    states = {}

    def cb(epoch, metrics, state=None):
        states[epoch] = state

    score, output, model_state = cotrainer(
        scalar_model(), regression_dataloaders(), seed=0, cb=cb, checkpoint_every=1, loss_functions={"reg": "mse"},
        optimizer="sgd", lr=0.05, patience=None, max_epochs=12, restore_best=False, verbose=False,
    )
    validation_losses = [entry["metrics"]["validation"]["reg"]["loss"] for entry in output["history"]]
    assert output["epochs_run"] == output["best_epoch"] == 12
    assert score == validation_losses[-1] > min(validation_losses)  # the best epoch (6) was not restored
    assert state_dicts_equal(model_state, states[12]["model"])
    assert output["final"]["validation"]["reg"]["loss"] == pytest.approx(score, rel=1e-9)
    with pytest.raises(ValueError, match="restore_best"):
        cotrainer(scalar_model(), regression_dataloaders(), seed=0, restore_best="no", verbose=False)


def test_early_stopping_combines_several_monitored_metrics():
    monitor = {"validation/a/accuracy": "max", "validation/b/loss": "min"}
    epochs = [{"validation/a/accuracy": 0.5, "validation/b/loss": 2.0},
              {"validation/a/accuracy": 0.6, "validation/b/loss": 2.5},  # only a improves
              {"validation/a/accuracy": 0.7, "validation/b/loss": 1.0}]  # both improve
    any_improves = EarlyStopping(monitor, patience=2, combine="any")
    all_improve = EarlyStopping(monitor, patience=2, combine="all")
    assert [any_improves.update(e, m) for e, m in enumerate(epochs, 1)] == [True, True, True]
    assert [all_improve.update(e, m) for e, m in enumerate(epochs, 1)] == [True, False, True]
    assert all_improve.best_values == {"validation/a/accuracy": 0.7, "validation/b/loss": 1.0}
    all_improve.update(4, {"validation/a/accuracy": float("nan"), "validation/b/loss": 0.1})
    assert not all_improve.should_stop
    all_improve.update(5, {"validation/a/accuracy": 0.1, "validation/b/loss": 9.0})
    assert all_improve.should_stop and all_improve.best_epoch == 3
    with pytest.raises(ValueError, match="validation data only"):
        EarlyStopping({"test/a/accuracy": "max"})


def test_plain_heartbeat_cb_is_called_once_per_epoch_without_arguments():
    beats = []
    cotrainer(scalar_model(), regression_dataloaders(), seed=0, cb=lambda: beats.append(1),
              loss_functions={"reg": "mse"}, max_epochs=4, patience=None, verbose=False)
    assert len(beats) == 4


def test_rich_cb_with_kwargs_gets_metrics_every_epoch_and_state_at_the_interval():
    calls = []

    def cb(**kwargs):
        calls.append(kwargs)

    cotrainer(scalar_model(), regression_dataloaders(), seed=0, cb=cb, checkpoint_every=2,
              loss_functions={"reg": "mse"}, max_epochs=5, patience=None, verbose=False)
    epoch_calls = [call for call in calls if call]
    heartbeats = len(calls) - len(epoch_calls)
    assert [call["epoch"] for call in epoch_calls] == [1, 2, 3, 4, 5]
    assert [("state" in call) for call in epoch_calls] == [False, True, False, True, False]
    assert set(epoch_calls[0]["metrics"]) == {"train", "validation"}
    assert set(epoch_calls[0]["metrics"]["validation"]["reg"]) == {"mae", "rmse", "mse", "loss"}
    # a cb callable without arguments also gets cb() after every optimiser step (the reservation heartbeat)
    steps_per_epoch = len(regression_dataloaders()["train"]["reg"])
    assert heartbeats == 5 * steps_per_epoch


def test_unknown_config_key_is_refused_naming_the_accepted_keys():
    with pytest.raises(TypeError, match=r"\['max_epoch'\].*accepted keys.*max_epochs"):
        cotrainer(scalar_model(), regression_dataloaders(), seed=0, max_epoch=3)
    accepted = inspect.signature(cotrainer).parameters
    assert {"max_epochs", "patience", "monitor", "loss_weighting", "checkpoint_every"} <= set(accepted)


@pytest.mark.parametrize(
    "config, message",
    [
        ({"monitor": {"test/reg/loss": "min"}}, "validation"),
        ({"monitor": {"validation/reg/accuracy": "max"}}, "reports"),
        ({"score_metric": "validation/reg/mae"}, "score_metric"),
        ({"loss_functions": {"reg": "hinge"}}, "unknown loss"),
        ({"loss_functions": {"other": "mse"}}, "no split holds"),
        ({"main_task": "other"}, "main_task"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"optimizer": "lbfgs"}, "unknown optimizer"),
        ({"optimizer_options": {"momentom": 0.9}, "optimizer": "sgd"}, "accepted"),
        ({"lr_scheduler": "multistep"}, "milestones"),
        ({"lr_scheduler": "cyclic"}, "unknown lr_scheduler"),
        ({"cycler": "zip"}, "unknown cycler"),
        ({"device": "cuda:99"}, "CUDA"),
    ],
)
def test_bad_config_values_are_refused(config, message):
    config = {"loss_functions": {"reg": "mse"}, "verbose": False, **config}
    with pytest.raises(ValueError, match=message):
        cotrainer(scalar_model(), regression_dataloaders(), seed=0, **config)


def test_missing_validation_split_is_refused():
    loaders = regression_dataloaders()
    del loaders["validation"]
    with pytest.raises(ValueError, match="validation"):
        cotrainer(scalar_model(), loaders, seed=0, loss_functions={"reg": "mse"})


def test_nan_loss_raises_naming_task_and_epoch():
    x = torch.randn(16, 1)
    y = x.squeeze(1).clone()
    y[5] = float("nan")
    loaders = regression_dataloaders()
    loaders["train"] = {"reg": make_loader(x, y, batch_size=4, shuffle=False)}
    with pytest.raises(NonFiniteLossError, match=r"task 'reg' \(data_key None\) in epoch 1"):
        cotrainer(scalar_model(), loaders, seed=0, loss_functions={"reg": "mse"}, verbose=False)


class RegularisedModel(nn.Module):
    def __init__(self, with_regularizer):
        super().__init__()
        self.linear = nn.Linear(1, 1)
        self.with_regularizer = with_regularizer

    def forward(self, x, task=None, data_key=None):
        return self.linear(x).squeeze(1)

    def regularizer(self, task=None, data_key=None):
        return self.linear.weight.square().sum() if self.with_regularizer else torch.zeros(())


@pytest.mark.parametrize("with_regularizer", [True, False])
def test_regularizer_is_added_outside_the_loss_weighting(with_regularizer):
    model = RegularisedModel(with_regularizer)
    start = model.linear.weight.detach().clone()
    _, output, state = cotrainer(model, regression_dataloaders(), seed=0, loss_functions={"reg": "mse"},
                                 loss_weighting_options={"weights": {"reg": 0.0}}, max_epochs=5, patience=None,
                                 optimizer="sgd", lr=0.2, verbose=False)
    # with the task weighted 0 only the regulariser moves the weights
    if with_regularizer:
        assert state["linear.weight"].abs().item() < 0.5 * start.abs().item()
        assert output["history"][0]["metrics"]["train"]["reg"]["regularizer"] > 0
    else:
        assert torch.equal(state["linear.weight"], start)


class CountingLoader(DataLoader):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passes = 0

    def __iter__(self):
        self.passes += 1
        return super().__iter__()


def test_plain_model_single_task_and_test_data_only_used_once_at_the_end():
    x, y = classification_data(32, seed=0)
    test_loader = CountingLoader(make_loader(x, y, n_classes=3).dataset, batch_size=8)
    validation_loader = CountingLoader(make_loader(x, y, n_classes=3).dataset, batch_size=8)
    loaders = {"train": {"digits": make_loader(x, y, n_classes=3)}, "validation": {"digits": validation_loader},
               "test": {"digits": test_loader}}
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))  # forward(x) only
    score, output, _ = cotrainer(model, loaders, seed=0, max_epochs=3, patience=None, lr=0.05, verbose=False)
    assert output["score_metric"] == "validation/digits/accuracy"
    assert validation_loader.passes == 3 + 1 and test_loader.passes == 1
    assert 0.0 <= output["final"]["test"]["digits"]["accuracy"] <= 1.0


def test_model_caller_passes_only_the_keywords_the_model_accepts():
    class SessionModel(nn.Module):  # neuralpredictors style: data_key only, regulariser by data_key
        def forward(self, x, data_key=None):
            return x * {"a": 1.0, "b": 2.0}[data_key]

        def regularizer(self, data_key):
            return {"a": 0.5, "b": 1.5}[data_key]

    caller = ModelCaller(SessionModel())
    assert caller.forward_keywords == ("data_key",)
    assert caller.forward(torch.ones(1), task="neural", data_key="b").item() == 2.0
    assert caller.regularizer("neural", "b", torch.device("cpu")).item() == 1.5
    assert ModelCaller(nn.Linear(1, 1)).forward_keywords == ()


def test_mixed_precision_is_ignored_with_a_warning_on_cpu(caplog):
    with caplog.at_level(logging.WARNING, logger="neural_cotraining.trainer"):
        score, _, _ = cotrainer(scalar_model(), regression_dataloaders(), seed=0, loss_functions={"reg": "mse"},
                                max_epochs=1, mixed_precision=True, device="cpu", verbose=False)
    assert "mixed_precision needs a CUDA device" in caplog.text
    assert score == score  # finite, trained in float32
