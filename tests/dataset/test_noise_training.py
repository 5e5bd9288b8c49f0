"""Gaussian noise training (the paper's noise-trained baseline): noise drawn per batch in torch from the loader's
generator, in pixel units, clipped to the pixel range, training split only."""

import pytest
import torch

from neural_cotraining.registry import check_entry
from neural_cotraining.dataset import digits_loaders
from neural_cotraining.dataset.images.augmentation import NoiseAugmentation

SMALL = dict(image_size=8, batch_size=400, noise_levels=[], corruptions=[])


def first_batch(loaders, seed=11):
    loader = loaders["train"]["img_classification"]
    loader.generator.manual_seed(seed)
    return next(iter(loader))


def pixels(images, dataset):
    mean = torch.tensor(dataset.mean).view(1, -1, 1, 1)
    std = torch.tensor(dataset.std).view(1, -1, 1, 1)
    return images * std + mean


def test_noise_has_the_level_asked_for_in_pixel_units_and_stays_in_the_pixel_range():
    clean_loaders = digits_loaders(0, **SMALL)
    noisy_loaders = digits_loaders(0, train_noise_levels=[0.1], **SMALL)
    dataset = clean_loaders["train"]["img_classification"].dataset
    clean, labels = first_batch(clean_loaders)
    noisy, noisy_labels = first_batch(noisy_loaders)
    assert torch.equal(labels, noisy_labels)  # the same order: the sampler draws before the noise
    clean_pixels, noisy_pixels = pixels(clean, dataset), pixels(noisy, dataset)
    assert noisy_pixels.min() >= -1e-5 and noisy_pixels.max() <= 1 + 1e-5
    # away from the clip at 0 and 1 the difference is the noise itself: sd 0.1
    middle = (clean_pixels > 0.4) & (clean_pixels < 0.6)
    assert middle.sum() > 1000
    assert (noisy_pixels - clean_pixels)[middle].std().item() == pytest.approx(0.1, rel=0.08)
    assert (noisy_pixels - clean_pixels)[middle].mean().abs().item() < 0.01


def test_each_image_draws_one_of_the_levels():
    clean_loaders = digits_loaders(0, **SMALL)
    dataset = clean_loaders["train"]["img_classification"].dataset
    clean, _ = first_batch(clean_loaders)
    noisy, _ = first_batch(digits_loaders(0, train_noise_levels=[0.0, 0.2], **SMALL))
    changed = (pixels(noisy, dataset) - pixels(clean, dataset)).abs().flatten(1).amax(1) > 1e-4
    assert 0.4 < changed.float().mean().item() < 0.6  # level 0 leaves about half of the images clean


def test_noise_is_reproducible_from_the_loader_generator_and_differs_between_batches():
    loaders = digits_loaders(0, train_noise_levels=[0.2], **dict(SMALL, batch_size=50))
    first, again = first_batch(loaders), first_batch(loaders)
    assert torch.equal(first[0], again[0])
    other = first_batch(loaders, seed=12)
    assert not torch.equal(first[0], other[0])


def test_validation_test_and_robustness_sets_are_never_noise_trained():
    plain = digits_loaders(0, image_size=8, noise_levels=[0.1], corruptions=[])
    noisy = digits_loaders(0, image_size=8, noise_levels=[0.1], corruptions=[], train_noise_levels=[0.3])
    for split in ("validation", "test"):
        assert torch.equal(next(iter(plain[split]["img_classification"]))[0],
                           next(iter(noisy[split]["img_classification"]))[0])
    robust = lambda loaders: next(iter(loaders["robustness"]["img_classification"]["gaussian_noise_0.1"]))[0]  # noqa
    assert torch.equal(robust(plain), robust(noisy))


def test_noise_augmentation_on_its_own():
    augmentation = NoiseAugmentation((0.5,), mean=(0.5,), std=(0.25,))
    images = torch.zeros(64, 1, 4, 4)  # the pixel value 0.5 = the mean
    out = augmentation(images, torch.Generator().manual_seed(0))
    in_pixels = out * 0.25 + 0.5
    assert in_pixels.min() == 0.0 and in_pixels.max() == 1.0  # clipped at both ends
    assert not NoiseAugmentation((0.0,), (0.5,), (0.25,)).active


@pytest.mark.parametrize("levels", [[-0.1], [float("nan")], "0.1", [True]])
def test_bad_noise_levels_are_refused_when_an_entry_is_checked(levels):
    with pytest.raises(ValueError, match="train_noise_levels"):
        check_entry("neural_cotraining.dataset.builders.digits_loaders", {"train_noise_levels": levels}, "dataset")
    with pytest.raises(ValueError, match="train_noise_levels"):
        check_entry("neural_cotraining.dataset.builders.cotraining_loaders",
                    {"image": {"train_noise_levels": levels}}, "dataset")
    with pytest.raises(ValueError, match="train_noise_levels"):
        digits_loaders(0, train_noise_levels=levels, **SMALL)
