"""Every kind of bad input gives a clear error that names the file (where there is one) and the problem."""

import json
import pickle
import re

import numpy as np
import pytest

from neural_cotraining.dataset import (
    filetree_static_loaders,
    image_classification_loaders,
    monkey_static_loaders,
    neural_loaders,
)
from neural_cotraining.dataset.neural import NeuralSession, build_neural_loaders, write_session


def _rewrite_npz(path, **changes):
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays.update(changes)
    np.savez_compressed(path, **arrays)


def _rewrite_pickle(path, **changes):
    with open(path, "rb") as handle:
        data = pickle.load(handle)
    data.update(changes)
    with open(path, "wb") as handle:
        pickle.dump(data, handle)


# ---- mismatched shapes ------------------------------------------------------------------------------------------


def test_own_format_responses_and_trials_of_different_length(own_format_root):
    data = own_format_root / "a" / "data.npz"
    with np.load(data) as archive:
        responses = archive["responses"]
    _rewrite_npz(data, responses=responses[:-1])
    header_path = own_format_root / "a" / "session.json"
    header = json.loads(header_path.read_text())
    header["n_trials"] -= 1
    header_path.write_text(json.dumps(header))
    with pytest.raises(ValueError, match=re.escape(str(data)) + r": shapes do not match: 23 response trials, 24"):
        neural_loaders(0, path=str(own_format_root))


def test_own_format_images_and_image_ids_of_different_length(own_format_root):
    data = own_format_root / "b" / "data.npz"
    with np.load(data) as archive:
        ids = archive["image_ids"]
    _rewrite_npz(data, image_ids=ids[:-2])
    with pytest.raises(ValueError, match=re.escape(str(data)) + r": 15 images but 13 image ids"):
        neural_loaders(0, path=str(own_format_root))


def test_monkey_pickle_responses_and_image_ids_of_different_length(tmp_path, monkey_static_writer):
    path, images = monkey_static_writer(tmp_path)
    _rewrite_pickle(path, training_image_ids=np.arange(1, 6))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*training_responses has 6 trials but "
                       "training_image_ids has 5"):
        monkey_static_loaders(0, neuronal_data_files=[str(path)], image_cache_path=str(images), time_bins_sum=4)


def test_monkey_pickle_neuron_counts_differ_between_train_and_test(tmp_path, monkey_static_writer):
    path, images = monkey_static_writer(tmp_path)
    _rewrite_pickle(path, testing_responses=np.zeros((2, 4, 6)))
    with pytest.raises(ValueError, match="training_responses has 3 neurons but testing_responses has 2"):
        monkey_static_loaders(0, neuronal_data_files=[str(path)], image_cache_path=str(images), time_bins_sum=4)


def test_session_images_of_different_channel_counts(session_maker):
    rgb = session_maker("rgb")
    rgb = NeuralSession(rgb.data_key, np.repeat(rgb.images, 3, axis=1), rgb.image_ids, rgb.trial_image_ids,
                        rgb.responses, rgb.tiers)
    with pytest.raises(ValueError, match="different channel counts"):
        build_neural_loaders([session_maker("gray"), rgb], seed=0)


# ---- unknown image ids ------------------------------------------------------------------------------------------


def test_own_format_trial_with_an_unknown_image_id(own_format_root):
    data = own_format_root / "a" / "data.npz"
    with np.load(data) as archive:
        trial_ids = archive["trial_image_ids"].copy()
    trial_ids[0] = 999
    _rewrite_npz(data, trial_image_ids=trial_ids)
    expected = re.escape(str(data)) + r": 1 unknown image id\(s\) in the trials, e.g. \[999\]"
    with pytest.raises(ValueError, match=expected):
        neural_loaders(0, path=str(own_format_root))


def test_monkey_pickle_image_id_without_an_image_file(tmp_path, monkey_static_writer):
    path, images = monkey_static_writer(tmp_path)
    _rewrite_pickle(path, testing_image_ids=np.array([10, 10, 11, 11, 12, 77]))
    with pytest.raises(FileNotFoundError, match=r"image 77 not found in .*images \(tried 000077.npy, 77.npy\)"):
        monkey_static_loaders(0, neuronal_data_files=[str(path)], image_cache_path=str(images), time_bins_sum=4)


# ---- NaN / inf responses ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_own_format_non_finite_responses(own_format_root, bad):
    data = own_format_root / "b" / "data.npz"
    with np.load(data) as archive:
        responses = archive["responses"].copy()
    responses[4, 2] = bad
    _rewrite_npz(data, responses=responses)
    with pytest.raises(ValueError, match=re.escape(str(data)) + r": responses contain 1 NaN/inf value\(s\) in 1 "
                       r"trial\(s\), e.g. trial 4"):
        neural_loaders(0, path=str(own_format_root))


def test_filetree_nan_response(tmp_path, filetree_writer):
    root, _, _ = filetree_writer(tmp_path / "ft")
    np.save(root / "data" / "responses" / "3.npy", np.array([0, np.nan, 0, 0], dtype=np.float32))
    with pytest.raises(ValueError, match=re.escape(str(root)) + r": responses contain 1 NaN/inf"):
        filetree_static_loaders(0, paths=[str(root)])


def test_nan_in_images_npz(tmp_path):
    images = np.random.default_rng(0).uniform(size=(10, 4, 4))
    images[3, 1, 1] = np.nan
    np.savez(tmp_path / "bad.npz", images=images, labels=np.arange(10) % 2)
    with pytest.raises(ValueError, match=r"bad.npz: images contain NaN or inf"):
        image_classification_loaders(0, source="npz", path=str(tmp_path / "bad.npz"))


# ---- empty splits -----------------------------------------------------------------------------------------------


def test_empty_neural_validation_split(own_format_root):
    with pytest.raises(ValueError, match=r"the 'validation' split of session 'a' is empty"):
        neural_loaders(0, path=str(own_format_root), validation_fraction=0.01)


def test_neural_session_without_test_trials(tmp_path, session_maker):
    session = session_maker("notest")
    session.tiers = np.full(session.n_trials, "train")
    write_session(session, tmp_path)
    with pytest.raises(ValueError, match=r"data.npz: the 'test' split of session 'notest' is empty"):
        neural_loaders(0, path=str(tmp_path))


def test_empty_image_split(tmp_path):
    np.savez(tmp_path / "few.npz", images=np.random.default_rng(0).uniform(size=(6, 4, 4)), labels=np.arange(6) % 3)
    with pytest.raises(ValueError, match=r"few.npz: the 'test' split is empty \(6 images"):
        image_classification_loaders(0, source="npz", path=str(tmp_path / "few.npz"), validation_fraction=0.5,
                                     test_fraction=0.1)


def test_filetree_without_usable_tiers(tmp_path, filetree_writer):
    root, _, _ = filetree_writer(tmp_path / "ft", tiers=("final_test",) * 4)
    with pytest.raises(ValueError, match=r"tiers.npy: no trial is in a tier"):
        filetree_static_loaders(0, paths=[str(root)])


# ---- missing files ----------------------------------------------------------------------------------------------


def test_missing_files_are_named(tmp_path, own_format_root, monkey_static_writer, filetree_writer):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nope.npz")) + " does not exist"):
        image_classification_loaders(0, source="npz", path=str(tmp_path / "nope.npz"))
    with pytest.raises(FileNotFoundError, match="image folder .*nowhere does not exist"):
        image_classification_loaders(0, source="folder", path=str(tmp_path / "nowhere"))
    (own_format_root / "a" / "data.npz").unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(str(own_format_root / "a" / "data.npz")) + " does not exist"):
        neural_loaders(0, path=str(own_format_root))
    with pytest.raises(FileNotFoundError, match=re.escape(str(own_format_root / "c" / "session.json"))):
        neural_loaders(0, path=str(own_format_root), data_keys=["c"])
    path, images = monkey_static_writer(tmp_path / "monkey")
    with pytest.raises(FileNotFoundError, match="neuronal data file .*missing.pickle does not exist"):
        monkey_static_loaders(0, neuronal_data_files=[str(tmp_path / "missing.pickle")], image_cache_path=str(images))
    root, _, _ = filetree_writer(tmp_path / "ft")
    (root / "meta" / "trials" / "tiers.npy").unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(str(root / "meta" / "trials" / "tiers.npy"))):
        filetree_static_loaders(0, paths=[str(root)])


def test_corrupt_files_are_named(tmp_path, own_format_root):
    (tmp_path / "junk.pickle").write_bytes(b"not a pickle")
    (tmp_path / "images").mkdir()
    with pytest.raises(ValueError, match="junk.pickle: not a readable pickle"):
        monkey_static_loaders(0, neuronal_data_files=[str(tmp_path / "junk.pickle")],
                              image_cache_path=str(tmp_path / "images"))
    (own_format_root / "a" / "session.json").write_text("{broken")
    with pytest.raises(ValueError, match="session.json: not valid JSON"):
        neural_loaders(0, path=str(own_format_root))
