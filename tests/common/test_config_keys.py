"""The one strict-key check: its error is the one every layer's key error derives from."""

import pytest

from neural_cotraining.common.config_keys import ConfigKeyError, check_config_keys, strict_keywords
from neural_cotraining.models import UnknownConfigKeyError
from neural_cotraining.registry import BuilderError
from neural_cotraining.registry import ConfigKeyError as RegistryConfigKeyError


def test_an_unknown_key_is_named_with_every_accepted_key():
    with pytest.raises(ConfigKeyError, match=r"^thing does not accept config keys \['b', 'z'\]; accepted keys: \['a', 'c'\]$"):
        check_config_keys("thing", ["a", "z", "b"], ["c", "a"])
    check_config_keys("thing", ["a"], ["a", "c"])  # known keys pass


def test_the_layers_errors_are_the_one_error():
    assert UnknownConfigKeyError is ConfigKeyError
    assert issubclass(RegistryConfigKeyError, ConfigKeyError) and issubclass(RegistryConfigKeyError, BuilderError)
    assert issubclass(ConfigKeyError, TypeError) and issubclass(ConfigKeyError, ValueError)


def test_strict_keywords_leaves_passed_arguments_out_of_the_config():
    @strict_keywords(passed=("seed",))
    def build(seed, *, width=1, depth=2):
        return seed, width, depth

    assert build(seed=3, width=5) == (3, 5, 2)
    assert build.accepted_keys == ("width", "depth")
    with pytest.raises(ConfigKeyError, match=r"build\(\) does not accept config keys \['wdth'\]"):
        build(3, wdth=5)
