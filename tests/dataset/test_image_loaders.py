import numpy as np
import pytest
import torch

from neural_cotraining.dataset import ROBUSTNESS_SPLIT, digits_loaders, image_classification_loaders

FAST = {"noise_levels": [], "corruptions": []}


def _npz(tmp_path, n=60, channels=3, size=6, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(size=(n, size, size, channels)).astype(np.float32)
    labels = np.arange(n) % n_classes
    path = tmp_path / "images.npz"
    np.savez(path, images=images, labels=labels)
    return path, images, labels


def _labels(loader):
    return loader.dataset.labels


def test_structure_shapes_and_n_classes():
    loaders = digits_loaders(0, image_size=12, batch_size=32, noise_levels=[0.1], corruptions=["contrast"],
                             severities=[1, 5])
    assert set(loaders) == {"train", "validation", "test", ROBUSTNESS_SPLIT}
    for split in ("train", "validation", "test"):
        loader = loaders[split]["img_classification"]
        images, labels = next(iter(loader))
        assert images.shape[1:] == (1, 12, 12) and images.dtype == torch.float32
        assert labels.dtype == torch.int64
        assert loader.dataset.n_classes == 10
    assert sorted(loaders[ROBUSTNESS_SPLIT]["img_classification"]) == ["contrast_1", "contrast_5", "gaussian_noise_0.1"]
    assert sum(len(loaders[s]["img_classification"].dataset) for s in ("train", "validation", "test")) == 1797


def test_split_is_deterministic_per_seed_stratified_and_disjoint(tmp_path):
    path, images, labels = _npz(tmp_path, n=90)
    first = image_classification_loaders(1, source="npz", path=str(path), normalize=False, **FAST)
    again = image_classification_loaders(1, source="npz", path=str(path), normalize=False, **FAST)
    other = image_classification_loaders(2, source="npz", path=str(path), normalize=False, **FAST)

    def rows(loaders, split):  # identify images by their first pixel value (all distinct)
        return sorted(loaders[split]["img_classification"].dataset.images[:, 0, 0, 0].tolist())

    for split in ("train", "validation", "test"):
        assert rows(first, split) == rows(again, split)
    assert rows(first, "test") != rows(other, "test")
    all_rows = rows(first, "train") + rows(first, "validation") + rows(first, "test")
    assert len(set(all_rows)) == 90
    test_counts = torch.bincount(_labels(first["test"]["img_classification"]), minlength=3)
    assert test_counts.tolist() == [round(30 * 0.15)] * 3


def test_fractions_are_configurable():
    loaders = digits_loaders(0, validation_fraction=0.3, test_fraction=0.1, image_size=8, **FAST)
    n = {s: len(loaders[s]["img_classification"].dataset) for s in ("train", "validation", "test")}
    assert abs(n["validation"] / 1797 - 0.3) < 0.01 and abs(n["test"] / 1797 - 0.1) < 0.01


def test_normalisation_uses_train_statistics_per_channel(tmp_path):
    path, _, _ = _npz(tmp_path, n=60, channels=3)
    loaders = image_classification_loaders(0, source="npz", path=str(path), **FAST)
    train = loaders["train"]["img_classification"].dataset.images
    assert torch.allclose(train.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(train.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-3)
    given = image_classification_loaders(0, source="npz", path=str(path), mean=0.5, std=[0.25, 0.5, 1.0], **FAST)
    raw = image_classification_loaders(0, source="npz", path=str(path), normalize=False, **FAST)
    std = torch.tensor([0.25, 0.5, 1.0]).view(1, 3, 1, 1)
    expected = (raw["test"]["img_classification"].dataset.images - 0.5) / std
    assert torch.allclose(given["test"]["img_classification"].dataset.images, expected)


def test_grayscale_and_resize(tmp_path):
    path, _, _ = _npz(tmp_path, channels=3, size=6)
    loaders = image_classification_loaders(0, source="npz", path=str(path), grayscale=True, image_size=[9, 12], **FAST)
    images, _ = next(iter(loaders["validation"]["img_classification"]))
    assert images.shape[1:] == (1, 9, 12)


def test_shuffling_loader_has_its_own_generator_and_replays_after_reseeding():
    loaders = digits_loaders(0, image_size=8, random_crop_padding=1, rotation_degrees=10, **FAST)
    train = loaders["train"]["img_classification"]
    assert isinstance(train.generator, torch.Generator)
    train.generator.manual_seed(123)
    first = next(iter(train))
    train.generator.manual_seed(123)
    second = next(iter(train))
    third = next(iter(train))
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)
    assert not torch.equal(first.labels, third.labels)
    assert loaders["validation"]["img_classification"].generator is None


def test_augmentation_changes_only_training_batches():
    plain = digits_loaders(0, image_size=8, **FAST)
    augmented = digits_loaders(
        0, image_size=8, random_crop_padding=2, horizontal_flip=True, rotation_degrees=20, **FAST
    )
    for split in ("validation", "test"):
        batch = next(iter(augmented[split]["img_classification"]))
        dataset = augmented[split]["img_classification"].dataset
        assert torch.equal(batch.images, dataset.images[: len(batch.images)])
    plain_train = plain["train"]["img_classification"]
    augmented_train = augmented["train"]["img_classification"]
    plain_train.generator.manual_seed(7)
    augmented_train.generator.manual_seed(7)
    plain_batch, augmented_batch = next(iter(plain_train)), next(iter(augmented_train))
    assert torch.equal(plain_batch.labels, augmented_batch.labels)  # same order: augmentation draws after shuffling
    assert augmented_batch.images.shape == plain_batch.images.shape
    assert not torch.allclose(augmented_batch.images, plain_batch.images)


def test_robustness_sets_are_reproducible_and_share_test_labels():
    options = dict(image_size=8, noise_levels=[0.2], corruptions=["salt_and_pepper"], severities=[3])
    first, second = digits_loaders(4, **options), digits_loaders(4, **options)
    robust = first[ROBUSTNESS_SPLIT]["img_classification"]
    for key in ("gaussian_noise_0.2", "salt_and_pepper_3"):
        repeated = second[ROBUSTNESS_SPLIT]["img_classification"][key].dataset.images
        assert torch.equal(robust[key].dataset.images, repeated)
        assert torch.equal(robust[key].dataset.labels, first["test"]["img_classification"].dataset.labels)
        assert not torch.allclose(robust[key].dataset.images, first["test"]["img_classification"].dataset.images)


def test_unknown_source_and_bad_options_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown image source"):
        image_classification_loaders(0, source="cifar", path="x")
    with pytest.raises(ValueError, match="unknown corruption"):
        digits_loaders(0, corruptions=["fog"])
    with pytest.raises(ValueError, match="severities"):
        digits_loaders(0, corruptions=["contrast"], severities=[6])
    with pytest.raises(ValueError, match="validation_fraction"):
        digits_loaders(0, validation_fraction=1.5)
