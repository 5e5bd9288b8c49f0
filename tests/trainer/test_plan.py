"""The trainer config checked into a frozen plan: the same check at ``add`` and at training."""

import dataclasses
import inspect
import pickle

import pytest

from neural_cotraining.registry import ConfigKeyError, ConfigValueError, check_config
from neural_cotraining.trainer import cotrainer
from neural_cotraining.trainer.builders import check_trainer_config
from neural_cotraining.trainer.plan import TrainerPlan


def plan_of(**config):
    check_trainer_config(config)  # the add-time check accepts what makes a plan
    defaults = {name: p.default for name, p in inspect.signature(cotrainer).parameters.items()
                if p.kind is p.KEYWORD_ONLY}
    return TrainerPlan.from_config({**defaults, **config})


def test_a_plan_is_frozen_and_travels_to_other_processes():
    plan = plan_of(max_epochs=3.0, loss_functions={"reg": "mse"}, loss_weighting="likelihood",
                   loss_weighting_options={"log_variance_bounds": [-2, 2]})
    assert plan.max_epochs == 3 and isinstance(plan.max_epochs, int)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.max_epochs = 4
    assert pickle.loads(pickle.dumps(plan)) == plan


@pytest.mark.parametrize(
    "config, message",
    [
        ({"max_epochs": 0}, "max_epochs must be >= 1, got 0"),
        ({"cycler": "zip"}, "unknown cycler 'zip'; choose one of"),
        ({"loss_functions": {"reg": "hinge"}}, r"loss_functions\['reg'\]: unknown loss 'hinge'"),
        ({"loss_weighting": "uncertainty"}, "unknown loss_weighting 'uncertainty'"),
        ({"loss_weighting": "gradnorm", "loss_weighting_options": {"beta": 1}}, r"unknown loss_weighting_options"),
        ({"monitor": {"test/reg/loss": "min"}}, "never on test data"),
        ({"verbose": "yes"}, "verbose must be true or false"),
    ],
)
def test_a_bad_value_is_refused_when_the_entry_is_added(config, message):
    with pytest.raises(ConfigValueError, match=message) as error:
        check_config(cotrainer, config, "trainer")
    assert "\n" not in str(error.value) and "cotrainer" in str(error.value)


def test_an_unknown_key_is_refused_by_the_plan_too():
    with pytest.raises(ConfigKeyError, match=r"does not accept config keys \['max_epoch'\]"):
        check_config(cotrainer, {"max_epoch": 3}, "trainer")
    with pytest.raises(TypeError, match=r"cotrainer does not accept config keys \['max_epoch'\]"):
        plan_of(max_epoch=3)


def test_a_registered_optimizer_and_scheduler_are_names_a_config_may_use():
    import torch

    from neural_cotraining.trainer.optimization import (
        OPTIMIZERS, SCHEDULERS, build_optimizer, build_scheduler, register_optimizer, register_scheduler)

    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'; choose one of"):
        plan_of(optimizer="rmsprop")
    register_optimizer("rmsprop", torch.optim.RMSprop)
    register_scheduler("exponential", torch.optim.lr_scheduler.ExponentialLR)
    try:
        plan = plan_of(optimizer="rmsprop", lr_scheduler="exponential", lr_scheduler_options={"gamma": 0.5})
        weights = [torch.nn.Parameter(torch.zeros(2))]
        optimizer = build_optimizer(plan.optimizer, weights, [], lr=plan.lr, weight_decay=0.0)
        scheduler = build_scheduler(plan.lr_scheduler, optimizer, plan.lr_scheduler_options, 3, "max")
        assert type(optimizer) is torch.optim.RMSprop and type(scheduler) is torch.optim.lr_scheduler.ExponentialLR
        with pytest.raises(ValueError, match="optimizer 'rmsprop' is already registered"):
            register_optimizer("rmsprop", torch.optim.Adagrad)
    finally:
        OPTIMIZERS.unregister("rmsprop")
        SCHEDULERS.unregister("exponential")
    assert OPTIMIZERS.names() == ["adam", "adamw", "sgd"]
    assert SCHEDULERS.names() == ["cosine", "multistep", "plateau", "step"]
