"""nnfabrik's parameter specs: checked by name, turned into Optuna distributions and back (no database)."""

import pytest

from neural_cotraining.search.optimizer import next_params
from neural_cotraining.search.space import SearchSpace, SearchSpaceError


def _space(**auto):
    return SearchSpace({"dataset": {"n": 1}, "model": {}, "trainer": {"epochs": 2}}, auto)


@pytest.mark.parametrize("auto, message", [
    ({"trainer": {"lr": {"type": "range", "bounds": [0.1]}}}, "parameter trainer.lr: 'bounds' must be"),
    ({"trainer": {"lr": {"type": "range", "bounds": [0.1, 0.01]}}}, "must have low < high"),
    ({"trainer": {"lr": {"type": "range", "bounds": [0, 1], "log_scale": True}}}, "log_scale range needs bounds above 0"),
    ({"trainer": {"lr": {"type": "range", "bounds": [0, 1], "log_scal": True}}}, "unknown keys ['log_scal']"),
    ({"model": {"w": {"type": "choice", "values": [4]}}}, "parameter model.w: 'values' must list at least two"),
    ({"model": {"w": {"type": "grid"}}}, "parameter model.w: 'type' must be one of"),
    ({"trainer": {"epochs": {"type": "fixed", "value": 3}}}, "trainer.epochs is both fixed"),
    ({"seed": {"s": {"type": "int"}}}, "seed_config_auto takes one key, 'seed'"),
])
def test_a_bad_spec_is_refused_by_name(auto, message):
    with pytest.raises(SearchSpaceError) as caught:
        _space(**auto)
    assert message in str(caught.value)


def test_random_values_stay_in_their_ranges_and_choices():
    space = _space(trainer={"lr": {"type": "range", "bounds": [1e-4, 1e-1], "log_scale": True},
                            "steps": {"type": "range", "bounds": [2, 9]}},
                   model={"channels": {"type": "choice", "values": [[4], [8, 8], [16]]}},
                   seed={"seed": {"type": "int"}})
    for trial_id in range(20):
        params = next_params("random", space, [], trial_id, minimize=False, seed=5)
        assert 1e-4 <= params["trainer.lr"] <= 1e-1
        assert isinstance(params["trainer.steps"], int) and 2 <= params["trainer.steps"] <= 9
        assert params["model.channels"] in ([4], [8, 8], [16])
        assert 0 <= params["seed.seed"] < 2**31
        configs, seed = space.configs(params)
        assert configs["trainer"] == {"epochs": 2, "lr": params["trainer.lr"], "steps": params["trainer.steps"]}
        assert configs["model"] == {"channels": params["model.channels"]} and seed == params["seed.seed"]


def test_a_trial_draws_the_same_values_whatever_came_before():
    """Seeded by the search's seed and the trial number: a resumed search draws what an uninterrupted one would."""
    space = _space(trainer={"lr": {"type": "range", "bounds": [0.001, 1.0], "log_scale": True}})
    first = [next_params("random", space, [], trial_id, False, seed=7) for trial_id in range(4)]
    again = [next_params("random", space, [], trial_id, False, seed=7) for trial_id in (3, 1, 0, 2)]
    assert [first[i] for i in (3, 1, 0, 2)] == again
    assert len({params["trainer.lr"] for params in first}) == 4
    assert next_params("random", space, [], 0, False, seed=8) != first[0]


def test_an_integer_range_and_a_fixed_value():
    space = _space(model={"hidden": {"type": "range", "bounds": [2, 4]}, "act": {"type": "fixed", "value": "relu"}})
    values = {next_params("bayesian", space, [], trial_id, False, seed=1)["model.hidden"] for trial_id in range(12)}
    assert values <= {2, 3, 4} and len(values) > 1
    assert next_params("bayesian", space, [], 0, False, seed=1)["model.act"] == "relu"


def test_a_choice_of_numbers_or_marked_ordered_is_an_integer_range_for_the_optimiser():
    from optuna.distributions import CategoricalDistribution, IntDistribution

    space = _space(model={"widths": {"type": "choice", "values": [[2], [4], [8]], "is_ordered": True},
                          "act": {"type": "choice", "values": ["relu", "elu"]},
                          "hidden": {"type": "choice", "values": [16, 32, 64]},
                          "blocks": {"type": "choice", "values": [[1], [1, 1]]}})
    distributions = space.distributions()
    assert distributions["model.widths"] == IntDistribution(0, 2)
    assert distributions["model.hidden"] == IntDistribution(0, 2)
    assert isinstance(distributions["model.act"], CategoricalDistribution)
    assert distributions["model.blocks"] == CategoricalDistribution([0, 1])
    [widths, hidden] = [p for p in space.parameters if p.key in ("widths", "hidden")]
    assert widths.decode(2) == [8] and widths.encode([8]) == 2 and hidden.decode(1) == 32 and hidden.encode(32) == 1
