import json

import numpy as np
import pytest
import torch

from neural_cotraining.dataset import simulated_neural_loaders
from neural_cotraining.dataset.neural import read_ground_truth, read_sessions
from neural_cotraining.dataset.simulation import (
    load_stimuli,
    pink_noise_images,
    random_gabor_population,
    sample_responses,
    simulate_sessions,
    simulated_sessions_folder,
    write_simulated_sessions,
)

SMALL = dict(n_sessions=2, n_neurons=8, n_train_images=60, n_test_images=12, test_repeats=6)


@pytest.fixture(scope="module")
def stimuli():
    return load_stimuli("digits", (12, 12), 200, np.random.default_rng(0)).numpy()


def test_sessions_have_different_neurons_shared_test_images_and_repeats(stimuli):
    sessions = simulate_sessions(stimuli, seed=0, **SMALL)
    assert [s.session.data_key for s in sessions] == ["sim0", "sim1"]
    first, second = sessions
    assert not np.allclose(first.population.even, second.population.even)
    tests = [s.session.trial_image_ids[s.session.tiers == "test"] for s in sessions]
    assert np.array_equal(tests[0], tests[1])
    assert np.all(np.unique(tests[0], return_counts=True)[1] == 6)
    assert first.session.responses.shape == (60 + 12 * 6, 8)
    assert np.all(first.session.responses >= 0) and np.all(first.session.responses == np.round(first.session.responses))


def test_ground_truth_rates_are_the_population_response_to_the_images(stimuli):
    simulated = simulate_sessions(stimuli, seed=1, **SMALL)[0]
    assert np.allclose(simulated.rates, simulated.population.rates(simulated.session.images), rtol=1e-5)
    assert np.all(simulated.rates > 0)
    assert 3.0 < simulated.rates.mean() < 8.0  # mean_rate=5 with log-normal scatter over 8 neurons


def test_simulation_is_deterministic_given_the_seed(stimuli):
    first = simulate_sessions(stimuli, seed=3, **SMALL)
    again = simulate_sessions(stimuli, seed=3, **SMALL)
    other = simulate_sessions(stimuli, seed=4, **SMALL)
    assert np.array_equal(first[1].session.responses, again[1].session.responses)
    assert not np.array_equal(first[1].session.trial_image_ids, other[1].session.trial_image_ids)


def test_oracle_lies_in_unit_interval_and_grows_with_rate(stimuli):
    options = dict(SMALL, n_sessions=1, n_neurons=20, test_repeats=10)
    oracles = [simulate_sessions(stimuli, seed=0, mean_rate=r, **options)[0].oracles() for r in (0.5, 3.0, 20.0)]
    for oracle in oracles:
        assert 0 < oracle["leave_one_out_oracle"] < oracle["true_rate_oracle"] + 0.05
        assert 0 < oracle["true_rate_oracle"] < 1
    true_rate = [o["true_rate_oracle"] for o in oracles]
    assert true_rate[0] < true_rate[1] < true_rate[2]


def test_leave_one_out_oracle_grows_with_repeats_towards_the_true_rate_oracle(stimuli):
    options = dict(SMALL, n_sessions=1, n_neurons=30, mean_rate=2.0)
    few = simulate_sessions(stimuli, seed=0, **dict(options, test_repeats=2))[0].oracles()
    many = simulate_sessions(stimuli, seed=0, **dict(options, test_repeats=40))[0].oracles()
    assert few["leave_one_out_oracle"] < many["leave_one_out_oracle"]
    assert abs(many["leave_one_out_oracle"] - many["true_rate_oracle"]) < abs(
        few["leave_one_out_oracle"] - few["true_rate_oracle"]
    )


def test_negative_binomial_is_overdispersed_and_poisson_is_not():
    rng = np.random.default_rng(0)
    rates = np.full((20000, 1), 4.0)
    poisson = sample_responses(rates, rng, "poisson")
    negative_binomial = sample_responses(rates, rng, "negative_binomial", dispersion=2.0)
    assert poisson.mean() == pytest.approx(4.0, rel=0.05) and poisson.var() == pytest.approx(4.0, rel=0.05)
    assert negative_binomial.mean() == pytest.approx(4.0, rel=0.05)
    assert negative_binomial.var() == pytest.approx(4.0 + 16.0 / 2.0, rel=0.08)


def test_complex_cells_are_phase_invariant_and_simple_cells_are_not(stimuli):
    population = random_gabor_population(40, stimuli, np.random.default_rng(0), complex_fraction=0.5)
    # a grating and its contrast-reversed copy (phase shifted by pi) around the mean luminance
    contrast_reversed = 2 * population.pixel_mean - stimuli[:20]
    drive, reversed_drive = population.drive(stimuli[:20]), population.drive(contrast_reversed)
    assert np.allclose(drive[:, population.is_complex], reversed_drive[:, population.is_complex], atol=1e-4)
    assert np.allclose(drive[:, ~population.is_complex], -reversed_drive[:, ~population.is_complex], atol=1e-4)


def test_pink_noise_images_have_a_falling_spectrum():
    images = pink_noise_images(8, (32, 32), np.random.default_rng(0))[:, 0]
    assert images.shape == (8, 32, 32) and images.min() >= 0 and images.max() <= 1
    power = np.abs(np.fft.fft2(images - images.mean(axis=(1, 2), keepdims=True))) ** 2
    assert power[:, 1, 1].mean() > 10 * power[:, 8, 8].mean()


def test_written_sessions_carry_ground_truth_and_oracles(tmp_path, stimuli):
    sessions = simulate_sessions(stimuli, seed=0, **SMALL)
    folders = write_simulated_sessions(sessions, tmp_path)
    truth = read_ground_truth(folders[0])
    assert np.allclose(truth["rates"], sessions[0].rates)
    assert truth["receptive_fields"].shape == (8, 1, 12, 12)
    header = json.loads((folders[0] / "session.json").read_text())
    assert header["metadata"]["oracle"]["true_rate_oracle"] == pytest.approx(sessions[0].oracles()["true_rate_oracle"])
    back = read_sessions(tmp_path)
    assert np.array_equal(back[1].responses, sessions[1].session.responses)


def test_builder_simulates_and_caches(tmp_path):
    options = dict(SMALL, image_size=10, path=str(tmp_path), simulation_seed=5, batch_size=16)
    first = simulated_neural_loaders(0, **options)
    folders = list(tmp_path.glob("simulated-*"))
    assert len(folders) == 1 and (folders[0] / "sim0" / "session.json").is_file()
    stamp = (folders[0] / "sim0" / "data.npz").stat().st_mtime_ns
    second = simulated_neural_loaders(1, **options)  # another training seed, same simulation: read from the cache
    assert (folders[0] / "sim0" / "data.npz").stat().st_mtime_ns == stamp
    for key in ("sim0", "sim1"):
        cached = second["test"]["neural"][key].dataset.responses
        assert torch.equal(first["test"]["neural"][key].dataset.responses, cached)
        assert first["train"]["neural"][key].dataset.n_neurons == 8
    assert not np.array_equal(first["validation"]["neural"]["sim0"].dataset.trial_image_ids,
                              second["validation"]["neural"]["sim0"].dataset.trial_image_ids)
    in_memory = simulated_neural_loaders(0, **dict(options, path=None))
    assert torch.equal(in_memory["train"]["neural"]["sim1"].dataset.responses,
                       first["train"]["neural"]["sim1"].dataset.responses)
    changed = dict(SMALL, image_size=10, simulation_seed=5, n_neurons=9)
    assert simulated_sessions_folder(tmp_path, changed) != folders[0]


def test_builder_with_pink_noise_images():
    loaders = simulated_neural_loaders(0, images="pink_noise", image_size=[8, 10], **SMALL)
    assert loaders["train"]["neural"]["sim0"].dataset.image_shape == (1, 8, 10)
