import numpy as np
import pytest

from neural_cotraining.dataset.neural import leave_one_out_oracle, pearson_per_column, true_rate_oracle


def test_pearson_per_column_matches_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    expected = [np.corrcoef(a[:, k], b[:, k])[0, 1] for k in range(3)]
    assert np.allclose(pearson_per_column(a, b), expected)
    constant = pearson_per_column(np.ones((5, 1)), rng.normal(size=(5, 1)))
    assert np.isnan(constant[0])


def test_true_rate_oracle_is_one_without_noise_and_skips_constant_neurons():
    rates = np.random.default_rng(0).uniform(1, 5, size=(30, 2))
    rates_with_dead = np.c_[rates, np.ones(30)]
    assert true_rate_oracle(rates, 2 * rates + 1) == pytest.approx(1.0)
    mean, per_neuron = true_rate_oracle(rates_with_dead, rates_with_dead, per_neuron=True)
    assert mean == pytest.approx(1.0) and np.isnan(per_neuron[2])


def test_leave_one_out_oracle_on_a_hand_made_example():
    # two images, two repeats each: each trial's partner is the other repeat
    responses = np.array([[1.0], [3.0], [5.0], [7.0]])
    ids = np.array([0, 0, 1, 1])
    expected = np.corrcoef([1, 3, 5, 7], [3, 1, 7, 5])[0, 1]
    assert leave_one_out_oracle(responses, ids) == pytest.approx(expected)


def test_leave_one_out_oracle_ignores_unrepeated_images_and_needs_repeats():
    responses = np.array([[1.0], [1.0], [4.0], [4.0], [100.0]])
    assert leave_one_out_oracle(responses, [0, 0, 1, 1, 2]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no image repeats"):
        leave_one_out_oracle(responses, [0, 1, 2, 3, 4])
