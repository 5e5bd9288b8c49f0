"""The data as nnvision and neuralpredictors read it: split, image path, statistics, channels, unit ids, names."""

import pickle

import numpy as np
import pytest
import torch

from neural_cotraining.dataset import cotraining_loaders, filetree_static_loaders, monkey_static_loaders
from neural_cotraining.dataset.neural import leave_one_out_oracle, read_session, write_session

N_FOLDER_IMAGES = 48  # ids 1..48 in the folder; sessions show 1..40 in training and 41..44 in test


def _ids(loader):
    return set(loader.dataset.trial_image_ids.tolist())


@pytest.fixture
def monkey_sessions(tmp_path, monkey_static_writer):
    """Two sessions over training images 1..40 and repeated test images 41..44; the folder holds 1..48."""
    files = []
    for session_id, seed in ((11, 0), (12, 1)):
        path, images = monkey_static_writer(
            tmp_path, session_id=session_id, train_ids=tuple(range(1, 41)), test_ids=(41, 41, 42, 42, 43, 43, 44, 44),
            extra_image_ids=range(45, N_FOLDER_IMAGES + 1), seed=seed, image_shape=(8, 8),
        )
        files.append(str(path))
    return files, images


def nnvision_split_from_the_spec(n_images, train_frac):
    """nnvision's NeurIPS-era get_validation_split with its seed fixed to 1000, restated from its description."""
    np.random.seed(1000)
    order = np.random.permutation(np.arange(1, n_images + 1))
    return set(order[: int(n_images * train_frac)].tolist()), set(order[int(n_images * train_frac):].tolist())


def test_split_nnvision_is_nnvisions_split_whatever_the_seed(monkey_sessions):
    files, images = monkey_sessions
    train_ids, validation_ids = nnvision_split_from_the_spec(N_FOLDER_IMAGES, 0.8)
    shown = set(range(1, 41))
    for seed in (0, 7):
        loaders = monkey_static_loaders(seed, neuronal_data_files=files, image_cache_path=str(images),
                                        time_bins_sum=4, split="nnvision")
        for key in ("11", "12"):
            assert _ids(loaders["validation"]["neural"][key]) == validation_ids & shown
            assert _ids(loaders["train"]["neural"][key]) == train_ids & shown
            assert _ids(loaders["test"]["neural"][key]) == {41, 42, 43, 44}
    own = monkey_static_loaders(0, neuronal_data_files=files, image_cache_path=str(images), time_bins_sum=4)
    assert _ids(own["validation"]["neural"]["11"]) != validation_ids & shown  # the project's split stays its own


def test_split_nnvision_leaves_out_training_ids_beyond_the_folder_count(tmp_path, monkey_static_writer, caplog):
    # 8 files (ids 1..6, 20, 21): nnvision permutes 1..8, so training image 20 is in neither part
    path, images = monkey_static_writer(tmp_path, train_ids=(1, 2, 3, 4, 5, 6, 20), test_ids=(21, 21))
    loaders = monkey_static_loaders(0, neuronal_data_files=[str(path)], image_cache_path=str(images),
                                    time_bins_sum=4, split="nnvision", validation_fraction=0.3)
    train_ids, validation_ids = nnvision_split_from_the_spec(8, 0.7)
    shown = {1, 2, 3, 4, 5, 6, 20}
    assert _ids(loaders["train"]["neural"]["7"]) == train_ids & shown
    assert _ids(loaders["validation"]["neural"]["7"]) == validation_ids & shown
    kept = _ids(loaders["train"]["neural"]["7"]) | _ids(loaders["validation"]["neural"]["7"])
    assert 20 not in kept and kept == shown - {20}
    assert "1 training trial(s) show image ids outside 1..8 and are left out" in caplog.text


def test_split_nnvision_only_for_monkey_pickles(own_format_root):
    from neural_cotraining.dataset import neural_loaders

    with pytest.raises(ValueError, match="split 'nnvision' needs the image folder's file count"):
        neural_loaders(0, path=str(own_format_root), split="nnvision")


def test_image_cache_path_ending_in_individual_reads_the_folder_above(monkey_sessions):
    files, images = monkey_sessions
    plain = monkey_static_loaders(0, neuronal_data_files=files, image_cache_path=str(images), time_bins_sum=4)
    legacy = monkey_static_loaders(0, neuronal_data_files=files, image_cache_path=str(images / "individual"),
                                   time_bins_sum=4)
    assert not (images / "individual").exists()
    assert torch.equal(plain["train"]["neural"]["11"].dataset.images, legacy["train"]["neural"]["11"].dataset.images)


def test_folder_statistics_are_nnvisions(monkey_sessions):
    files, images = monkey_sessions
    crop = 1
    # nnvision: every file in the folder, 2-d images stacked into 3 channels, cropped, float32 mean/std, / 255
    stacked = torch.stack([
        torch.tensor(np.stack((np.load(p),) * 3, axis=-1)[crop:-crop, crop:-crop].transpose(2, 0, 1)).float()
        for p in sorted(images.glob("*.npy"))
    ])
    expected_mean, expected_std = stacked.mean().item() / 255.0, stacked.std().item() / 255.0
    loaders = monkey_static_loaders(0, neuronal_data_files=files, image_cache_path=str(images), time_bins_sum=4,
                                    crop=crop, image_statistics="folder")
    dataset = loaders["train"]["neural"]["11"].dataset
    assert dataset.mean == pytest.approx([expected_mean], rel=1e-6)
    assert dataset.std == pytest.approx([expected_std], rel=1e-6)
    train = monkey_static_loaders(0, neuronal_data_files=files, image_cache_path=str(images), time_bins_sum=4,
                                  crop=crop)["train"]["neural"]["11"].dataset
    assert train.mean[0] != pytest.approx(expected_mean, rel=1e-6)  # the project's own: training images only
    raw = np.load(images / "000001.npy")[crop:-crop, crop:-crop] / 255.0
    row = int(np.flatnonzero(dataset.trial_image_ids == 1)[0])
    expected = (raw - expected_mean) / expected_std
    assert np.allclose(dataset[row].images[0].numpy(), expected, atol=1e-5)
    with pytest.raises(ValueError, match="image_statistics='folder' computes image_mean"):
        monkey_static_loaders(0, neuronal_data_files=files, image_cache_path=str(images), time_bins_sum=4,
                              image_statistics="folder", image_mean=0.5)


def test_folder_statistics_survive_cotraining_shared_normalization(monkey_sessions):
    files, images = monkey_sessions
    neural = {"format": "monkey_static", "neuronal_data_files": files, "image_cache_path": str(images),
              "time_bins_sum": 4, "image_statistics": "folder", "image_size": 8}
    bundle = cotraining_loaders(0, image={"image_size": 8}, neural=neural)
    alone = monkey_static_loaders(0, **{k: v for k, v in neural.items() if k != "format"})
    assert bundle["train"]["neural"]["11"].dataset.mean == alone["train"]["neural"]["11"].dataset.mean
    assert bundle["train"]["neural"]["11"].dataset.mean != bundle["train"]["img_classification"].dataset.mean


def test_three_channel_grey_gives_three_identical_channels(monkey_sessions):
    files, images = monkey_sessions
    loaders = monkey_static_loaders(0, neuronal_data_files=files, image_cache_path=str(images), time_bins_sum=4,
                                    three_channel_grey=True, image_mean=0.5, image_std=0.25)
    batch = next(iter(loaders["train"]["neural"]["11"]))
    assert batch.images.shape[1] == 3
    assert torch.equal(batch.images[:, 0], batch.images[:, 1]) and torch.equal(batch.images[:, 0], batch.images[:, 2])
    one = monkey_static_loaders(0, neuronal_data_files=files, image_cache_path=str(images), time_bins_sum=4,
                                image_mean=0.5, image_std=0.25)
    assert torch.equal(one["train"]["neural"]["11"].dataset.images[:, 0],
                       loaders["train"]["neural"]["11"].dataset.images[:, 0])


# ---- unit ids ----------------------------------------------------------------------------------------------------


def test_monkey_unit_ids_and_test_oracle_reach_every_split(monkey_sessions):
    files, images = monkey_sessions
    loaders = monkey_static_loaders(0, neuronal_data_files=files, image_cache_path=str(images), time_bins_sum=4)
    for split in ("train", "validation", "test"):
        assert loaders[split]["neural"]["11"].dataset.unit_ids.tolist() == [1001, 1002, 1003]
    test = loaders["test"]["neural"]["12"].dataset
    expected = leave_one_out_oracle(test.responses.numpy(), test.trial_image_ids, per_neuron=True)[1]
    assert test.oracle is not None and np.allclose(test.oracle, expected, equal_nan=True)
    assert loaders["train"]["neural"]["12"].dataset.oracle is None
    train = loaders["train"]["neural"]["12"].dataset
    assert torch.allclose(train.mean_response, train.responses.mean(0))


def test_filetree_unit_ids_area_layer_and_nnvision_data_key(tmp_path, filetree_writer):
    root, _, _ = filetree_writer(tmp_path / "static90001-1-1-preproc0", n_neurons=3)
    by_folder = filetree_static_loaders(0, paths=[str(root)])
    dataset = by_folder["train"]["neural"]["static90001-1-1-preproc0"].dataset
    assert dataset.unit_ids.tolist() == [3, 13, 23]
    assert dataset.area.tolist() == ["V1", "LM", "V1"] and dataset.layer.tolist() == ["L2/3"] * 3
    by_nnvision = filetree_static_loaders(0, paths=[str(root)], data_key_naming="nnvision")
    assert list(by_nnvision["test"]["neural"]) == ["90001-1-1-0"]
    with pytest.raises(ValueError, match="data_key_naming must be one of"):
        filetree_static_loaders(0, paths=[str(root)], data_key_naming="scan")


def test_own_format_keeps_unit_ids(tmp_path, session_maker):
    session = session_maker("u", n_neurons=4)
    session.unit_ids = np.array([9, 4, 7, 1])
    session.area = np.array(["V1", "V1", "V4", "V4"])
    folder = write_session(session, tmp_path)
    back = read_session(folder)
    assert back.unit_ids.tolist() == [9, 4, 7, 1] and back.area.tolist() == ["V1", "V1", "V4", "V4"]
    assert back.layer is None


# ---- bad input ---------------------------------------------------------------------------------------------------


def _rewrite(path, **changes):
    with open(path, "rb") as handle:
        data = pickle.load(handle)
    data.update(changes)
    for key, value in list(data.items()):
        if value is None:
            del data[key]
    with open(path, "wb") as handle:
        pickle.dump(data, handle)


def test_pickle_without_unit_ids_names_the_file(tmp_path, monkey_static_writer):
    path, images = monkey_static_writer(tmp_path)
    _rewrite(path, unit_ids=None)
    with pytest.raises(ValueError, match=rf"{path.name}: missing key\(s\) \['unit_ids'\]"):
        monkey_static_loaders(0, neuronal_data_files=[str(path)], image_cache_path=str(images), time_bins_sum=4)


def test_pickle_with_unit_ids_of_the_wrong_length_or_repeated(tmp_path, monkey_static_writer):
    path, images = monkey_static_writer(tmp_path, n_neurons=3)
    _rewrite(path, unit_ids=np.array([1, 2]))
    with pytest.raises(ValueError, match=rf"{path.name}: unit_ids has 2 entries but the responses have 3 neurons"):
        monkey_static_loaders(0, neuronal_data_files=[str(path)], image_cache_path=str(images), time_bins_sum=4)
    _rewrite(path, unit_ids=np.array([1, 2, 1]))
    with pytest.raises(ValueError, match=rf"{path.name}: unit ids are not unique"):
        monkey_static_loaders(0, neuronal_data_files=[str(path)], image_cache_path=str(images), time_bins_sum=4)


def test_image_id_without_an_image_file_names_both_files(tmp_path, monkey_static_writer):
    path, images = monkey_static_writer(tmp_path)
    (images / "000011.npy").unlink()
    with pytest.raises(FileNotFoundError, match=rf"{path.name}: image 11 not found in {images}"):
        monkey_static_loaders(0, neuronal_data_files=[str(path)], image_cache_path=str(images), time_bins_sum=4)


def test_filetree_neuron_meta_of_the_wrong_length_or_missing(tmp_path, filetree_writer):
    root, _, _ = filetree_writer(tmp_path / "ft", n_neurons=4)
    np.save(root / "meta" / "neurons" / "area.npy", np.array(["V1"] * 5))
    with pytest.raises(ValueError, match=r"area.npy: shapes do not match: 5 entries but the responses have 4"):
        filetree_static_loaders(0, paths=[str(root)])
    (root / "meta" / "neurons" / "area.npy").unlink()
    (root / "meta" / "neurons" / "unit_ids.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"unit_ids.npy does not exist"):
        filetree_static_loaders(0, paths=[str(root)])
