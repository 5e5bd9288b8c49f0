"""The seed check and both seed formulas, pinned: their outputs seed results already stored."""

import numpy as np
import pytest

from neural_cotraining.common.seeds import check_seed, derive_data_seed, derive_training_seed


@pytest.mark.parametrize(
    "parts, expected",
    [
        ((0, "x"), 557380372581274610),
        ((1, "image_classification_split"), 4831740352622058130),
        ((7, "simulation_session", 3), 8860729892433001029),
        ((np.int64(5), "a", None), 7323581843058366163),
    ],
)
def test_the_dataset_formula_gives_the_stored_seeds(parts, expected):
    assert derive_data_seed(*parts) == expected


@pytest.mark.parametrize(
    "parts, expected",
    [
        ((0, "epoch", 0), 389741243888116641),
        ((1, "loader", "train/img", 4), 5929245084312803197),
        ((np.int64(7), "cycler", 2), 682027801435225194),
        ((3, "weighting", None), 1866513747310392126),
    ],
)
def test_the_trainer_formula_gives_the_stored_seeds(parts, expected):
    assert derive_training_seed(*parts) == expected


def test_the_two_formulas_differ():
    assert derive_data_seed(0, "epoch", 0) != derive_training_seed(0, "epoch", 0)


def test_check_seed_takes_numpy_integers_and_refuses_the_rest():
    assert check_seed(np.int64(3)) == 3 and type(check_seed(np.int64(3))) is int
    for bad in (True, 1.0, "1", None, np.bool_(True)):
        with pytest.raises(TypeError, match=r"my_builder: seed must be an integer"):
            check_seed(bad, "my_builder")
