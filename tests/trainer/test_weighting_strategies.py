"""Equal, DWA, GradNorm and PCGrad loss weighting: their formulas on hand-made problems, shared-parameter detection,
and every strategy end to end through ``cotrainer`` with an exact resume."""

import io
import logging
import math

import pytest
import torch
from torch import nn

from neural_cotraining.trainer import (
    WEIGHTINGS,
    DynamicWeightAverage,
    EqualWeighting,
    GradNormWeighting,
    PCGradWeighting,
    build_weighting,
    cotrainer,
)
from neural_cotraining.trainer.cotrainer import shared_parameter_candidates
from neural_cotraining.trainer.losses import build_loss
from neural_cotraining.trainer.weighting import project_conflicting
from neural_cotraining.trainer.weighting.gradients import shared_among_tasks

from .tiny_setup import TinyMultiTaskModel, flagship_dataloaders, state_dicts_equal


def round_trip(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def deep_equal(first, second) -> bool:
    if isinstance(first, torch.Tensor):
        return isinstance(second, torch.Tensor) and torch.equal(first, second)
    if isinstance(first, dict):
        return isinstance(second, dict) and first.keys() == second.keys() and all(
            deep_equal(first[key], second[key]) for key in first)
    if isinstance(first, (list, tuple)):
        return len(first) == len(second) and all(deep_equal(a, b) for a, b in zip(first, second))
    return first == second


# ------------------------------------------------------------------------------------------------------------ equal
def test_equal_weighting_sums_or_averages_over_all_tasks():
    losses = {"a": torch.tensor(2.0), "b": torch.tensor(4.0)}
    assert EqualWeighting(["a", "b"]).combine(losses).item() == pytest.approx(6.0)
    averaged = EqualWeighting(["a", "b", "c"], average=True)
    assert averaged.combine(losses).item() == pytest.approx(2.0)  # 1/T with T = 3 known tasks, not 2 present
    assert averaged.report() == {task: {"loss_weight": pytest.approx(1 / 3)} for task in "abc"}
    with pytest.raises(ValueError, match="average"):
        EqualWeighting(["a"], average="yes")


# -------------------------------------------------------------------------------------------------------------- DWA
def dwa_formula(older, newer, temperature):
    exps = [math.exp(newer[task] / older[task] / temperature) for task in older]
    return [len(older) * value / sum(exps) for value in exps]


@pytest.mark.parametrize("temperature", [2.0, 0.5])
def test_dwa_weights_follow_the_formula_and_sum_to_the_number_of_tasks(temperature):
    tasks = ["a", "b", "c"]
    weighting = DynamicWeightAverage(tasks, temperature=temperature)
    epochs = [{"a": 2.0, "b": 1.0, "c": 0.5}, {"a": 1.0, "b": 0.9, "c": 0.6}, {"a": 0.8, "b": 0.3, "c": 0.6}]
    assert weighting.weights() == {"a": 1.0, "b": 1.0, "c": 1.0}  # epoch 1
    weighting.epoch_end(epochs[0])
    assert weighting.weights() == {"a": 1.0, "b": 1.0, "c": 1.0}  # epoch 2: only one past epoch
    for older, newer in zip(epochs, epochs[1:]):
        weighting.epoch_end(newer)
        expected = dwa_formula(older, newer, temperature)
        assert list(weighting.weights().values()) == pytest.approx(expected, rel=1e-12)
        assert sum(weighting.weights().values()) == pytest.approx(3.0)
    # c's loss rose (ratio 1), a's fell least of the other two: c gets most weight, b (fell most) least
    weights = weighting.weights()
    assert weights["c"] > weights["a"] > weights["b"]
    losses = {"a": torch.tensor(1.0), "c": torch.tensor(2.0)}
    assert weighting.combine(losses).item() == pytest.approx(weights["a"] + 2 * weights["c"], rel=1e-6)


def test_dwa_state_round_trips_and_a_task_without_loss_gets_the_neutral_ratio():
    weighting = DynamicWeightAverage(["a", "b"])
    weighting.epoch_end({"a": 1.0, "b": 2.0})
    weighting.epoch_end({"a": 0.5})  # b had no batches this epoch
    exps = [math.exp(0.5 / 2), math.exp(1.0 / 2)]
    assert list(weighting.weights().values()) == pytest.approx([2 * e / sum(exps) for e in exps])
    restored = DynamicWeightAverage(["a", "b"])
    restored.load_state_dict(round_trip(weighting.state_dict()))
    assert restored.weights() == weighting.weights()
    with pytest.raises(ValueError, match="task 'a' has mean training loss -1"):
        weighting.epoch_end({"a": -1.0, "b": 1.0})
    with pytest.raises(ValueError, match="temperature"):
        DynamicWeightAverage(["a"], temperature=0)


# --------------------------------------------------------------------------------------------------------- GradNorm
def two_task_losses(shared, scale_a=1.0, scale_b=5.0):
    """Both tasks read the same 2x2 matrix; task b's loss (and gradient) is larger."""
    x = torch.tensor([1.0, 2.0])
    features = shared @ x
    return {"a": scale_a * features.square().sum(), "b": scale_b * (features - 1).square().sum()}


def gradient_norm(loss, parameter):
    (gradient,) = torch.autograd.grad(loss, parameter, retain_graph=True)
    return gradient.norm().item()


def test_gradnorm_first_step_follows_the_formula_and_the_larger_gradient_loses_weight():
    shared = nn.Parameter(torch.tensor([[0.5, -0.2], [0.3, 0.4]]))
    weighting = GradNormWeighting(["a", "b"], alpha=1.5)
    losses = two_task_losses(shared)
    norms = {task: gradient_norm(loss, shared) for task, loss in losses.items()}
    assert norms["b"] > norms["a"]
    weighting.backward(losses, [shared])
    # first round: L_i(0) = L_i, so r_i = 1 and the target is the mean gradient norm; d|G_i - target|/dw_i = +-n_i
    mean_norm = (norms["a"] + norms["b"]) / 2
    expected = [math.copysign(norms[t], norms[t] - mean_norm) for t in ("a", "b")]
    assert weighting.task_weights.grad.tolist() == pytest.approx(expected, rel=1e-5)
    assert weighting.initial_losses.tolist() == pytest.approx([losses["a"].item(), losses["b"].item()])
    # the network gets the gradient of sum_i w_i L_i only (w = 1 here)
    plain = torch.autograd.grad(sum(two_task_losses(shared).values()), shared)[0]
    assert torch.allclose(shared.grad, plain)
    torch.optim.SGD(weighting.parameters(), lr=0.01).step()
    weighting.after_step()
    weights = weighting.weights()
    assert weights["b"] < 1.0 < weights["a"]
    assert sum(weights.values()) == pytest.approx(2.0)


def test_gradnorm_pulls_a_slowly_training_task_up_with_alpha():
    shared = nn.Parameter(torch.tensor([[0.5, -0.2], [0.3, 0.4]]))
    weighting = GradNormWeighting(["a", "b"], alpha=1.5)
    weighting.backward(two_task_losses(shared, 1.0, 1.0), [shared])  # records L_i(0)
    weighting.task_weights.grad = None
    # now a's loss is unchanged, b's has dropped to half: r_a > 1 > r_b
    losses = two_task_losses(shared, 1.0, 0.5)
    initial = weighting.initial_losses.tolist()
    rates = [losses["a"].item() / initial[0], losses["b"].item() / initial[1]]
    relative = [rate / (sum(rates) / 2) for rate in rates]
    norms = [gradient_norm(losses[t], shared) for t in ("a", "b")]
    targets = [(sum(norms) / 2) * r**1.5 for r in relative]
    weighting.backward(losses, [shared])
    expected = [math.copysign(n, n - target) for n, target in zip(norms, targets)]
    assert weighting.task_weights.grad.tolist() == pytest.approx(expected, rel=1e-5)
    assert expected[0] < 0  # a (slow) gets more weight after the step


def test_gradnorm_balances_gradient_norms_and_weights_stay_positive_summing_to_t():
    shared = nn.Parameter(torch.tensor([[0.5, -0.2], [0.3, 0.4]]))
    weighting = GradNormWeighting(["a", "b"])
    optimizer = torch.optim.Adam(weighting.parameters(), lr=0.05)  # the network stays fixed: only w learns
    for _ in range(300):
        optimizer.zero_grad()
        weighting.backward(two_task_losses(shared), [shared])
        optimizer.step()
        weighting.after_step()
        assert bool((weighting.task_weights > 0).all())
        assert weighting.task_weights.sum().item() == pytest.approx(2.0, rel=1e-6)
    losses = two_task_losses(shared)
    weights = weighting.weights()
    balanced = [weights[t] * gradient_norm(losses[t], shared) for t in ("a", "b")]
    assert balanced[0] == pytest.approx(balanced[1], rel=0.05)
    # a huge step cannot make a weight negative: clamped, then renormalised
    weighting.task_weights.data = torch.tensor([3.0, -1.0])
    weighting.after_step()
    assert bool((weighting.task_weights > 0).all()) and weighting.task_weights.sum().item() == pytest.approx(2.0)
    restored = GradNormWeighting(["a", "b"])
    restored.load_state_dict(round_trip(weighting.state_dict()))
    assert torch.equal(restored.initial_losses, weighting.initial_losses)
    assert torch.equal(restored.task_weights, weighting.task_weights)


def test_gradnorm_refuses_negative_losses_and_bad_options():
    shared = nn.Parameter(torch.eye(2))
    weighting = GradNormWeighting(["a", "b"])
    losses = two_task_losses(shared)
    with pytest.raises(ValueError, match="positive task losses"):
        weighting.backward({"a": -losses["a"], "b": losses["b"]}, [shared])
    for options, message in [({"alpha": -1}, "alpha"), ({"lr": 0}, "lr"), ({"gradient_parameters": "first"}, "last")]:
        with pytest.raises(ValueError, match=message):
            GradNormWeighting(["a", "b"], **options)


# ----------------------------------------------------------------------------------------------------------- PCGrad
def test_pcgrad_projects_conflicting_gradients_onto_each_others_normal_plane():
    gradients = torch.tensor([[1.0, 0.0], [-1.0, 1.0]], dtype=torch.float64)  # dot product -1: conflict
    projected, conflicted = project_conflicting(gradients, torch.Generator().manual_seed(0))
    g1, g2 = gradients
    expected_1 = g1 - (g1 @ g2) / (g2 @ g2) * g2  # [0.5, 0.5]
    expected_2 = g2 - (g2 @ g1) / (g1 @ g1) * g1  # [0, 1]
    assert torch.allclose(projected[0], expected_1) and torch.allclose(projected[1], expected_2)
    assert projected[0] @ g2 >= -1e-12 and projected[1] @ g1 >= -1e-12  # no conflict left
    assert conflicted.tolist() == [True, True]
    assert torch.allclose(projected.sum(0), torch.tensor([0.5, 1.5], dtype=torch.float64))


def test_pcgrad_leaves_non_conflicting_gradients_alone():
    gradients = torch.tensor([[1.0, 0.0, 2.0], [1.0, 1.0, -0.5], [0.0, 3.0, 0.0]])
    projected, conflicted = project_conflicting(gradients, torch.Generator().manual_seed(0))
    assert torch.equal(projected, gradients) and not bool(conflicted.any())


def test_pcgrad_order_is_random_but_seeded():
    generator = torch.Generator().manual_seed(0)
    gradients = torch.randn(5, 4, generator=generator)
    results = {tuple(project_conflicting(gradients, torch.Generator().manual_seed(s))[0].sum(0).tolist())
               for s in range(6)}
    assert len(results) > 1  # with 5 tasks the visiting order changes the result
    first = project_conflicting(gradients, torch.Generator().manual_seed(3))[0]
    assert torch.equal(first, project_conflicting(gradients, torch.Generator().manual_seed(3))[0])


def test_pcgrad_generator_state_round_trips_and_the_trainer_seeds_it_from_the_run_seed():
    gradients = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    weighting = PCGradWeighting(list("abcde"))
    weighting.reseed(5)
    project_conflicting(gradients, weighting.generator)  # advance the generator
    restored = PCGradWeighting(list("abcde"))
    restored.load_state_dict(round_trip(weighting.state_dict()))
    assert torch.equal(project_conflicting(gradients, restored.generator)[0],
                       project_conflicting(gradients, weighting.generator)[0])
    generator_states = []
    for seed in (3, 4):
        recorder = Recorder()
        cotrainer(TinyMultiTaskModel(), flagship_dataloaders(n_train=16), seed=seed, cb=recorder, max_epochs=1,
                  checkpoint_every=1, loss_weighting="pcgrad", verbose=False)
        generator_states.append(recorder.states[1]["weighting"]["_extra_state"]["generator"])
    assert not torch.equal(*generator_states)


class TwoHeadNet(nn.Module):
    """A shared matrix and one scalar head per task; no ``core``, so all parameters are candidates."""

    def __init__(self):
        super().__init__()
        self.shared = nn.Parameter(torch.tensor([[1.0, 0.5], [-0.5, 1.0]]))
        self.head_a = nn.Parameter(torch.tensor([1.0, 0.0]))
        self.head_b = nn.Parameter(torch.tensor([-1.0, 0.5]))

    def losses(self, x):
        features = self.shared @ x
        return {"a": (self.head_a @ features - 2.0).square(), "b": (self.head_b @ features + 1.0).square()}


def test_pcgrad_backward_projects_shared_gradients_and_keeps_task_specific_ones_plain():
    net = TwoHeadNet()
    x = torch.tensor([1.0, -2.0])
    candidates = shared_parameter_candidates(net)
    assert len(candidates) == 3  # no core: every parameter is a candidate, the graph decides
    weighting = PCGradWeighting(["a", "b"])
    weighting.reseed(0)
    extra = 0.1 * net.head_b.square().sum()  # a regulariser on a head: plain gradient
    weighting.backward(net.losses(x), candidates, extra_loss=extra)
    reference = TwoHeadNet()
    losses = reference.losses(x)
    g = torch.stack([torch.autograd.grad(loss, reference.shared, retain_graph=True)[0].reshape(-1)
                     for loss in losses.values()])
    assert float(g[0] @ g[1]) < 0  # the hand-made problem does conflict
    expected_shared = (g[0] - (g[0] @ g[1]) / (g[1] @ g[1]) * g[1]) + (g[1] - (g[1] @ g[0]) / (g[0] @ g[0]) * g[0])
    assert torch.allclose(net.shared.grad.reshape(-1), expected_shared, atol=1e-6)
    (sum(losses.values()) + 0.1 * reference.head_b.square().sum()).backward()
    assert torch.allclose(net.head_a.grad, reference.head_a.grad)
    assert torch.allclose(net.head_b.grad, reference.head_b.grad)
    assert weighting.report()["a"]["conflict_fraction"] == 1.0


@pytest.mark.parametrize("cls", [PCGradWeighting, GradNormWeighting])
def test_gradient_based_strategies_scale_every_gradient_like_a_grad_scaler(cls):
    """With mixed precision the trainer passes GradScaler.scale: all gradients, the weights' too, come out scaled."""
    x = torch.tensor([1.0, -2.0])
    gradients = []
    for scale in (None, lambda tensor: 1024.0 * tensor):
        net, weighting = TwoHeadNet(), cls(["a", "b"])
        weighting.reseed(0)
        weighting.backward(net.losses(x), list(net.parameters()), scale=scale)
        gradients.append([p.grad for p in [*net.parameters(), *weighting.parameters()]])
    for unscaled, scaled in zip(*gradients):
        assert torch.allclose(scaled, 1024.0 * unscaled, rtol=1e-5)


def test_shared_parameters_are_those_two_tasks_reach():
    model = TinyMultiTaskModel()
    x = torch.randn(4, 1, 2, 2)
    losses = {"img_classification": model(x, task="img_classification").sum(),
              "neural": model(x, task="neural", data_key="s1").sum()}
    shared, reached = shared_among_tasks(losses, model.parameters())
    assert [id(p) for p in shared] == [id(p) for p in model.core.parameters()]
    assert id(model.readouts["s1"].weight) in reached and id(model.readouts["s2"].weight) not in reached
    assert [id(p) for p in shared_parameter_candidates(model)] == [id(p) for p in model.core.parameters()]
    # a core layer only one task reads is not shared
    only_classification = nn.Linear(8, 8)
    losses["img_classification"] = model.classifier(only_classification(model.core(x))).sum()
    shared, _ = shared_among_tasks(losses, [*model.core.parameters(), *only_classification.parameters()])
    assert [id(p) for p in shared] == [id(p) for p in model.core.parameters()]


# ------------------------------------------------------------------------------------------- through the co-trainer
class Interrupted(Exception):
    pass


class Recorder:
    def __init__(self, resume_from=None, crash_after=None):
        self.states, self.metrics = {}, {}
        self.resume_from, self.crash_after = resume_from, crash_after

    def __call__(self, epoch, metrics, state=None):
        self.metrics[epoch] = metrics
        if state is not None:
            self.states[epoch] = round_trip(state)
        if epoch == self.crash_after:
            raise Interrupted(epoch)

    def resume_state(self):
        return self.resume_from


STRATEGIES = {
    "equal": ({"average": True}, ()),
    "dwa": ({"temperature": 0.5}, ()),
    "gradnorm": ({"alpha": 1.0, "lr": 0.05}, ("gradient_norm",)),
    "pcgrad": ({}, ("conflict_fraction",)),
}


def run(name, callback, model_seed=0, max_epochs=4):
    options, _ = STRATEGIES[name]
    return cotrainer(TinyMultiTaskModel(seed=model_seed), flagship_dataloaders(n_train=32), seed=3, cb=callback,
                     max_epochs=max_epochs, patience=None, checkpoint_every=1, lr=0.02, loss_weighting=name,
                     loss_weighting_options=options, loss_functions={"neural": "negative_binomial"}, verbose=False)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_trains_reports_per_epoch_and_resumes_exactly(name):
    assert name in WEIGHTINGS
    uninterrupted = Recorder()
    score, output, model_state = run(name, uninterrupted)
    extras = STRATEGIES[name][1]
    for epoch, metrics in uninterrupted.metrics.items():
        for task in ("img_classification", "neural"):
            assert set(metrics["train"][task]) >= {"loss", "loss_weight", *extras}
        weights = [metrics["train"][task]["loss_weight"] for task in ("img_classification", "neural")]
        assert all(weight > 0 for weight in weights)
        if name in ("dwa", "gradnorm"):
            assert sum(weights) == pytest.approx(2.0, rel=1e-5)
        if name == "dwa" and epoch >= 3:
            assert weights[0] != pytest.approx(1.0, abs=1e-6)
    crashed = Recorder(crash_after=2)
    with pytest.raises(Interrupted):
        run(name, crashed)
    resumed = Recorder(resume_from=crashed.states[2])
    resumed_score, resumed_output, resumed_state = run(name, resumed, model_seed=11)
    assert sorted(resumed.metrics) == [3, 4]
    assert state_dicts_equal(resumed.states[4]["model"], uninterrupted.states[4]["model"])
    assert deep_equal(resumed.states[4]["weighting"], uninterrupted.states[4]["weighting"])
    assert resumed_output["history"] == output["history"]
    assert resumed_score == score and state_dicts_equal(resumed_state, model_state)
    if name == "gradnorm":
        groups = uninterrupted.states[4]["optimizer"]["param_groups"]
        assert [group["lr"] for group in groups][-1] == 0.05  # the weights' own learning rate
        assert not bool(torch.isnan(uninterrupted.states[4]["weighting"]["initial_losses"]).any())


def test_dwa_resume_needs_its_loss_history_from_the_state():
    uninterrupted = Recorder()
    run("dwa", uninterrupted)
    state = uninterrupted.states[2]
    assert state["weighting"]["_extra_state"]["history"][0].keys() == {"img_classification", "neural"}
    state["weighting"]["_extra_state"] = {"history": []}  # forget the last two epochs' losses
    forgetful = Recorder(resume_from=state)
    run("dwa", forgetful)
    assert forgetful.metrics[3]["train"]["neural"]["loss_weight"] == 1.0
    assert uninterrupted.metrics[3]["train"]["neural"]["loss_weight"] != 1.0


def test_gradient_based_weighting_warns_once_when_a_round_lacks_a_task(caplog):
    with caplog.at_level(logging.WARNING, logger="neural_cotraining.trainer.cotrainer"):
        cotrainer(TinyMultiTaskModel(), flagship_dataloaders(n_train=16), seed=0, max_epochs=2, cycler="proportional",
                  loss_weighting="pcgrad", verbose=False)
    warnings = [record for record in caplog.records if "compares per-task gradients" in record.message]
    assert len(warnings) == 1


def test_weighting_options_are_checked_by_name():
    losses = {"a": build_loss("mse"), "b": build_loss("mse")}
    with pytest.raises(ValueError, match=r"unknown loss_weighting_options \['beta'\] for 'gradnorm'"):
        build_weighting("gradnorm", losses, {"beta": 1})
    with pytest.raises(ValueError, match="unknown loss_weighting 'uncertainty'"):
        build_weighting("uncertainty", losses)
    assert isinstance(build_weighting("pcgrad", losses), PCGradWeighting)
