import pytest
import torch

from neural_cotraining.registry import ConfigKeyError
from neural_cotraining.dataset import cotraining_loaders

SMALL_NEURAL = {"n_sessions": 2, "n_neurons": 6, "n_train_images": 40, "n_test_images": 8, "test_repeats": 4}
SMALL_IMAGE = {"noise_levels": [0.1], "corruptions": ["gaussian_blur"], "severities": [1, 2]}


@pytest.fixture(scope="module")
def bundle():
    return cotraining_loaders(0, image=SMALL_IMAGE, neural=SMALL_NEURAL)


def test_bundle_structure(bundle):
    assert set(bundle) == {"train", "validation", "test", "robustness"}
    for split in ("train", "validation", "test"):
        assert set(bundle[split]) == {"img_classification", "neural"}
        assert isinstance(bundle[split]["img_classification"], torch.utils.data.DataLoader)
        assert sorted(bundle[split]["neural"]) == ["sim0", "sim1"]
    assert set(bundle["robustness"]) == {"img_classification"}
    keys = sorted(bundle["robustness"]["img_classification"])
    assert keys == ["gaussian_blur_1", "gaussian_blur_2", "gaussian_noise_0.1"]


def test_bundle_batches_follow_the_contract(bundle):
    images, labels = next(iter(bundle["train"]["img_classification"]))
    assert images.shape[1:] == (1, 16, 16) and labels.dtype == torch.int64
    assert bundle["train"]["img_classification"].dataset.n_classes == 10
    images, responses = next(iter(bundle["train"]["neural"]["sim1"]))
    assert images.shape[1:] == (1, 16, 16) and responses.shape[1] == 6 and responses.dtype == torch.float32
    assert bundle["train"]["neural"]["sim1"].dataset.n_neurons == 6
    generators = [bundle["train"]["img_classification"].generator] + [
        loader.generator for loader in bundle["train"]["neural"].values()
    ]
    assert len({id(g) for g in generators}) == 3
    assert len({g.initial_seed() for g in generators}) == 3


def test_neural_images_share_the_image_task_normalisation(bundle):
    image_set = bundle["train"]["img_classification"].dataset
    neural_set = bundle["train"]["neural"]["sim0"].dataset
    assert neural_set.mean == image_set.mean and neural_set.std == image_set.std
    separate = cotraining_loaders(0, image={"noise_levels": [], "corruptions": []}, neural=SMALL_NEURAL,
                                  shared_normalization=False)
    assert separate["train"]["neural"]["sim0"].dataset.mean != image_set.mean


def test_other_task_names_and_the_own_format(own_format_root):
    loaders = cotraining_loaders(
        0, image={"image_size": 6, "noise_levels": [], "corruptions": []},
        neural={"format": "own", "path": str(own_format_root), "validation_fraction": 0.25},
        image_task="digits", neural_task="v1",
    )
    assert set(loaders) == {"train", "validation", "test"}
    assert set(loaders["train"]) == {"digits", "v1"} and sorted(loaders["test"]["v1"]) == ["a", "b"]


def test_bad_nested_configs_are_refused():
    with pytest.raises(ValueError, match="unknown neural format 'hdf5'"):
        cotraining_loaders(0, neural={"format": "hdf5"})
    with pytest.raises(ConfigKeyError, match="image_classification_loaders does not accept config key"):
        cotraining_loaders(0, image={"colour": True})
    with pytest.raises(ConfigKeyError, match="neural_task"):
        cotraining_loaders(0, neural={"task": "x"})
    with pytest.raises(ValueError, match="must differ"):
        cotraining_loaders(0, image_task="t", neural_task="t")
