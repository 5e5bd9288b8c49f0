"""The one registry style: a decorator fills it, a lookup reads it; the shipped names stay what configs store."""

import pytest

from neural_cotraining.common.name_registry import Registry
from neural_cotraining.dataset.builders import NEURAL_FORMATS, neural_loaders
from neural_cotraining.models.graph.layers import LAYER_TYPES
from neural_cotraining.trainer.cyclers import CYCLERS
from neural_cotraining.trainer.losses import LOSSES, PoissonLoss
from neural_cotraining.trainer.weighting import WEIGHTINGS, LikelihoodWeighting


def test_a_decorator_registers_and_a_lookup_finds():
    things = Registry("thing", stamp_name=True)

    @things.register("first")
    class First:
        pass

    assert things.lookup("first") is First and First.name == "first" and list(things) == ["first"]
    with pytest.raises(ValueError, match=r"^unknown thing 'frist'; choose one of \['first'\]$"):
        things.lookup("frist")
    with pytest.raises(ValueError, match="thing 'first' is already registered"):
        things.register("first", First)
    Second = type("Second", (), {})
    things.register("first", Second, replace=True)
    assert things["first"] is Second and Second.name == "first"
    things.unregister("first")
    assert len(things) == 0
    with pytest.raises(TypeError, match="must be callable"):
        things.register("second", 3)


def test_the_shipped_names_are_the_stored_ones():
    assert WEIGHTINGS.names() == ["declared", "dwa", "equal", "fixed", "gradnorm", "likelihood", "pcgrad"]
    assert LOSSES.names() == [
        "bce_with_logits", "cross_entropy", "mse", "negative_binomial", "poisson", "poisson_partial", "smooth_l1"
    ]
    assert CYCLERS.names() == ["max_size_cycle", "min_size", "proportional", "ratio"]
    assert NEURAL_FORMATS.names() == ["filetree", "monkey_static", "own", "simulated"]
    assert {"identity", "linear", "mlp", "sequential", "vgg_core", "relu"} <= set(LAYER_TYPES)


def test_a_registered_class_carries_its_registered_name():
    assert WEIGHTINGS["likelihood"] is LikelihoodWeighting and LikelihoodWeighting.name == "likelihood"
    assert LOSSES["poisson"] is PoissonLoss and PoissonLoss().name == "poisson"
    assert NEURAL_FORMATS["own"] is neural_loaders
