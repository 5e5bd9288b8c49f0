import numpy as np
import pytest
import torch

from neural_cotraining.dataset import filetree_static_loaders, monkey_static_loaders, neural_loaders
from neural_cotraining.dataset.neural import build_neural_loaders


def _ids(loader):
    return set(loader.dataset.trial_image_ids.tolist())


@pytest.fixture
def sessions(session_maker):
    # two sessions over the same 40 training images, 4 test images shown 5 times each
    return [session_maker(key, n_train=40, n_test=4, repeats=5, seed=i) for i, key in enumerate(["a", "b"])]


def test_structure_n_neurons_and_batches(own_format_root):
    loaders = neural_loaders(0, path=str(own_format_root), batch_size=4, validation_fraction=0.25)
    assert set(loaders) == {"train", "validation", "test"}
    for split in loaders:
        assert sorted(loaders[split]["neural"]) == ["a", "b"]
    train = loaders["train"]["neural"]["b"]
    assert train.dataset.n_neurons == 7
    images, responses = next(iter(train))
    assert images.shape == (4, 1, 6, 6) and images.dtype == torch.float32
    assert responses.shape == (4, 7) and responses.dtype == torch.float32
    assert isinstance(train.generator, torch.Generator)


def test_validation_split_is_by_image_id_seeded_and_shared_across_sessions(sessions):
    first = build_neural_loaders(sessions, seed=1, validation_fraction=0.25)
    again = build_neural_loaders(sessions, seed=1, validation_fraction=0.25)
    other = build_neural_loaders(sessions, seed=2, validation_fraction=0.25)
    for key in ("a", "b"):
        train, validation = _ids(first["train"]["neural"][key]), _ids(first["validation"]["neural"][key])
        assert not train & validation and len(train | validation) == 40 and len(validation) == 10
        assert validation == _ids(again["validation"]["neural"][key])
    assert _ids(first["validation"]["neural"]["a"]) == _ids(first["validation"]["neural"]["b"])
    assert _ids(first["validation"]["neural"]["a"]) != _ids(other["validation"]["neural"]["a"])
    assert _ids(first["test"]["neural"]["a"]) == {40, 41, 42, 43}


def test_repeats_of_a_training_image_stay_on_one_side(session_maker):
    session = session_maker("r", n_train=20, n_test=2, repeats=3)
    # show every training image twice
    session.trial_image_ids = np.concatenate([np.repeat(session.image_ids[:20], 2), session.trial_image_ids[20:]])
    session.tiers = np.concatenate([np.full(40, "train"), session.tiers[20:]])
    session.responses = np.concatenate([np.repeat(session.responses[:20], 2, axis=0), session.responses[20:]])
    loaders = build_neural_loaders([session], seed=0, validation_fraction=0.3)
    validation = loaders["validation"]["neural"]["r"].dataset.trial_image_ids
    train = loaders["train"]["neural"]["r"].dataset.trial_image_ids
    assert not set(validation) & set(train)
    assert all(np.sum(validation == i) == 2 for i in set(validation))


def test_test_loader_batches_hold_all_repeats_of_an_image(sessions):
    loaders = build_neural_loaders(sessions, seed=0)
    test = loaders["test"]["neural"]["a"]
    batches = list(test)
    assert len(batches) == 4 == len(test)
    for batch in batches:
        assert batch.images.shape[0] == 5
        assert torch.allclose(batch.images, batch.images[:1].expand_as(batch.images))
    grouped = build_neural_loaders(sessions, seed=0, test_images_per_batch=3)["test"]["neural"]["a"]
    assert [len(b.responses) for b in grouped] == [15, 5]


def test_images_are_normalised_with_training_statistics(sessions):
    loaders = build_neural_loaders(sessions, seed=0)
    raw_rows = []
    for session in sessions:
        dataset = loaders["train"]["neural"][session.data_key].dataset
        raw_rows.append(torch.from_numpy(session.images[np.unique(dataset.image_index.numpy())]))
    raw_train = torch.cat(raw_rows)
    dataset = loaders["train"]["neural"]["a"].dataset
    assert dataset.mean[0] == pytest.approx(float(raw_train.mean()), abs=1e-6)
    assert dataset.std[0] == pytest.approx(float(raw_train.std()), rel=1e-5)
    normalised = (raw_train - dataset.mean[0]) / dataset.std[0]
    assert abs(float(normalised.mean())) < 1e-5 and float(normalised.std()) == pytest.approx(1.0, rel=1e-5)
    fixed = build_neural_loaders(sessions, seed=0, image_mean=0.5, image_std=0.25)
    raw = torch.from_numpy(sessions[0].images)
    assert torch.allclose(fixed["train"]["neural"]["a"].dataset.images, (raw - 0.5) / 0.25)


def test_normalize_responses_divides_by_training_std(sessions):
    loaders = build_neural_loaders(sessions, seed=0, normalize_responses=True)
    train = loaders["train"]["neural"]["a"].dataset.responses
    assert torch.allclose(train.std(dim=0, unbiased=False), torch.ones(train.shape[1]), atol=1e-4)


def test_filetree_keeps_the_file_tiers_by_default_and_re_splits_on_request(tmp_path, filetree_writer):
    root, ids, _ = filetree_writer(tmp_path / "ft")
    loaders = filetree_static_loaders(0, paths=[str(root)], batch_size=4)
    assert _ids(loaders["validation"]["neural"]["ft"]) == set(ids[8:10].tolist())
    assert _ids(loaders["train"]["neural"]["ft"]) == set(ids[:8].tolist())
    assert _ids(loaders["test"]["neural"]["ft"]) == {100, 101}
    seeded = filetree_static_loaders(0, paths=[str(root)], validation_fraction=0.3, split="seed")
    train, validation = _ids(seeded["train"]["neural"]["ft"]), _ids(seeded["validation"]["neural"]["ft"])
    assert train | validation == set(ids[:10].tolist()) and len(validation) == 3


def test_monkey_static_builder_end_to_end(tmp_path, monkey_static_writer):
    first, images = monkey_static_writer(tmp_path, session_id=1, train_ids=tuple(range(1, 10)))
    second, _ = monkey_static_writer(tmp_path, session_id=2, train_ids=tuple(range(1, 10)), seed=1)
    loaders = monkey_static_loaders(0, neuronal_data_files=[str(first), str(second)], image_cache_path=str(images),
                                    time_bins_sum=4, crop=1, subsample=1, image_size=6)
    assert sorted(loaders["train"]["neural"]) == ["1", "2"]
    batch = next(iter(loaders["test"]["neural"]["2"]))
    assert batch.images.shape == (2, 1, 6, 6) and batch.responses.shape == (2, 3)


def test_crop_and_subsample_follow_nnvision(own_format_root):
    loaders = neural_loaders(0, path=str(own_format_root), crop=[[1, 0], [0, 2]], subsample=2)
    assert loaders["train"]["neural"]["a"].dataset.image_shape == (1, 3, 2)
