"""The checks of a config's numbers, shared by the trainer, the datasets, the models and the affinity plan."""

import re

import numpy as np
import pytest

from neural_cotraining.common.value_checks import check_fraction, check_int, check_number


def test_check_int_takes_whole_numbers_as_yaml_json_or_a_database_give_them():
    assert [check_int("n", value) for value in (3, 3.0, np.int64(3))] == [3, 3, 3]
    assert all(type(check_int("n", value)) is int for value in (3.0, np.int64(3)))
    assert check_int("n", None, allow_none=True) is None


@pytest.mark.parametrize("value, allow_none, message", [
    (True, False, "n must be an int, got True"),
    (2.5, True, "n must be an int or None, got 2.5"),
    ("3", False, "n must be an int, got '3'"),
    (None, False, "n must be an int, got None"),
    (0, False, "n must be >= 1, got 0"),
])
def test_check_int_names_the_key_and_the_value(value, allow_none, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        check_int("n", value, minimum=1, allow_none=allow_none)


def test_check_number_takes_finite_numbers_above_its_minimum():
    assert check_number("lr", np.float32(0.5), minimum=0.0, strict=True) == 0.5
    assert check_number("decay", 0, minimum=0.0) == 0.0 and type(check_number("decay", 0)) is float
    for value, message in ((float("nan"), "lr must be a finite number, got nan"),
                           (False, "lr must be a finite number, got False"),
                           (0.0, "lr must be > 0.0, got 0.0")):
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            check_number("lr", value, minimum=0.0, strict=True)


def test_check_fraction_is_open_at_one_and_at_zero_unless_zero_is_allowed():
    assert check_fraction("validation_fraction", 0.2) == 0.2
    assert check_fraction("dropout", 0, allow_zero=True) == 0.0
    for value, allow_zero, interval in ((0, False, "(0, 1)"), (1.0, True, "[0, 1)"), ("x", False, "(0, 1)"),
                                        (True, True, "[0, 1)")):
        with pytest.raises(ValueError, match=re.escape(f"f must be a number in {interval}, got {value!r}")):
            check_fraction("f", value, allow_zero=allow_zero)
