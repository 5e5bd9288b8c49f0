"""The shuffled-responses control (Safarani et al. 2021's MTL-Shuffled): each neuron's responses unchanged as a
distribution, the image-response pairing destroyed, repeats of an image moved together, test responses untouched."""

import numpy as np
import pytest

from neural_cotraining.registry import ConfigValueError, check_entry
from neural_cotraining.dataset import cotraining_loaders
from neural_cotraining.dataset.neural import build_neural_loaders
from neural_cotraining.dataset.neural.shuffle import shuffle_responses_across_images
from neural_cotraining.dataset.simulation import load_stimuli, simulate_sessions


@pytest.fixture(scope="module")
def simulated():
    stimuli = load_stimuli("digits", (12, 12), 360, np.random.default_rng(0)).numpy()
    return simulate_sessions(stimuli, seed=0, n_sessions=2, n_neurons=12, n_train_images=150, n_test_images=20,
                             train_repeats=2, test_repeats=5, mean_rate=8.0, tuning_strength=2.0)


def split_datasets(simulated, shuffle, seed=3):
    loaders = build_neural_loaders([s.session for s in simulated], seed, shuffle_responses=shuffle)
    return {split: loaders[split]["neural"] for split in ("train", "validation", "test")}


def correlation_with_true_rates(dataset, rates):
    true = rates[dataset.image_index.numpy()]
    responses = dataset.responses.numpy()
    return np.array([np.corrcoef(true[:, k], responses[:, k])[0, 1] for k in range(responses.shape[1])])


def test_shuffle_keeps_each_neurons_responses_and_destroys_the_pairing(simulated):
    plain, shuffled = split_datasets(simulated, False), split_datasets(simulated, True)
    for index, session in enumerate(simulated):
        key = session.session.data_key
        for split in ("train", "validation"):
            before, after = plain[split][key].dataset, shuffled[split][key].dataset
            assert np.array_equal(before.image_index, after.image_index)  # same trials, same images
            # every neuron keeps its response values exactly (and whole rows move, so the joint too)
            assert np.array_equal(np.sort(before.responses.numpy(), axis=0), np.sort(after.responses.numpy(), axis=0))
            rows = lambda d: sorted(map(tuple, d.responses.numpy().tolist()))  # noqa: E731
            assert rows(before) == rows(after)
        train_plain = correlation_with_true_rates(plain["train"][key].dataset, session.rates)
        train_shuffled = correlation_with_true_rates(shuffled["train"][key].dataset, session.rates)
        assert train_plain.mean() > 0.8  # measured 0.95: responses follow the ground-truth rates
        assert abs(train_shuffled.mean()) < 0.06  # measured 0.009 and -0.034 (240 trials; one r has sd ~0.065)
        assert np.array_equal(plain["test"][key].dataset.responses, shuffled["test"][key].dataset.responses)


def test_all_repeats_of_an_image_take_the_responses_of_one_other_image(simulated):
    plain, shuffled = split_datasets(simulated, False), split_datasets(simulated, True)
    before, after = plain["train"]["sim0"].dataset, shuffled["train"]["sim0"].dataset
    ids = before.trial_image_ids
    groups_before = {image: before.responses.numpy()[ids == image] for image in np.unique(ids)}
    sources = set()
    for image in np.unique(ids):
        moved = after.responses.numpy()[ids == image]
        partners = [other for other, rows in groups_before.items() if len(rows) == len(moved)
                    and np.array_equal(rows, moved)]
        assert partners, f"the trials of image {image} did not receive one image's responses together"
        sources.add(partners[0])
    assert len(sources) == len(np.unique(ids))  # a permutation: every image's responses used once
    moved_images = sum(not np.array_equal(groups_before[i], after.responses.numpy()[ids == i]) for i in groups_before)
    assert moved_images > 0.9 * len(groups_before)


def test_shuffle_is_seeded():
    responses = np.arange(40, dtype=float).reshape(20, 2)
    ids = np.repeat(np.arange(10), 2)
    first = shuffle_responses_across_images(responses, ids, seed=1)
    assert np.array_equal(first, shuffle_responses_across_images(responses, ids, seed=1))
    assert not np.array_equal(first, shuffle_responses_across_images(responses, ids, seed=2))
    assert np.array_equal(responses, np.arange(40, dtype=float).reshape(20, 2))  # input untouched


def test_images_with_different_repeat_counts_are_permuted_among_their_own_count():
    responses = np.arange(7, dtype=float).reshape(7, 1)
    ids = np.array([0, 1, 1, 2, 3, 3, 4])  # images 0, 2, 4 once; 1 and 3 twice
    shuffled = shuffle_responses_across_images(responses, ids, seed=0)
    twice = {tuple(shuffled[ids == 1, 0]), tuple(shuffled[ids == 3, 0])}
    assert twice == {(1.0, 2.0), (4.0, 5.0)}
    assert sorted(shuffled[np.isin(ids, [0, 2, 4]), 0]) == [0.0, 3.0, 6.0]


def test_cotraining_bundle_passes_the_option_to_every_neural_format(simulated):
    config = {"n_sessions": 1, "n_neurons": 4, "n_train_images": 40, "n_test_images": 6, "test_repeats": 2}
    plain = cotraining_loaders(0, neural=dict(config))
    shuffled = cotraining_loaders(0, neural=dict(config, shuffle_responses=True))
    assert not np.array_equal(plain["train"]["neural"]["sim0"].dataset.responses,
                              shuffled["train"]["neural"]["sim0"].dataset.responses)
    assert np.array_equal(plain["test"]["neural"]["sim0"].dataset.responses,
                          shuffled["test"]["neural"]["sim0"].dataset.responses)


@pytest.mark.parametrize(
    "builder, config, message",
    [
        ("cotraining_loaders", {"image": {"shuffle_responses": True}}, "image does not accept.*shuffle_responses"),
        ("digits_loaders", {"shuffle_responses": True}, "shuffle_responses"),
        ("cotraining_loaders", {"neural": {"shuffle_responses": "yes"}}, "shuffle_responses must be true or false"),
        ("simulated_neural_loaders", {"shuffle_responses": 1}, "shuffle_responses must be true or false"),
    ],
)
def test_bad_shuffle_options_are_refused_when_an_entry_is_checked(builder, config, message):
    with pytest.raises(ValueError, match=message):
        check_entry(f"neural_cotraining.dataset.builders.{builder}", config, "dataset")


def test_a_value_error_from_the_check_is_a_config_value_error():
    with pytest.raises(ConfigValueError, match="cotraining_loaders"):
        check_entry("neural_cotraining.dataset.builders.cotraining_loaders", {"neural": {"shuffle_responses": 0}},
                    "dataset")
