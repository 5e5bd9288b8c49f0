import json
import pickle

import numpy as np
import pytest

from neural_cotraining.dataset.neural import (
    ImageFolder,
    read_filetree_session,
    read_monkey_static_session,
    read_session,
    read_sessions,
    write_session,
)


# ---- our format -------------------------------------------------------------------------------------------------


def test_own_format_round_trip(tmp_path, session_maker):
    session = session_maker("rec1", seed=3)
    folder = write_session(session, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["data.npz", "session.json"]
    header = json.loads((folder / "session.json").read_text())
    assert header["format"] == "neural_cotraining.static_session" and header["n_neurons"] == 5
    back = read_session(folder)
    assert back.data_key == "rec1"
    for name in ("images", "image_ids", "trial_image_ids", "responses", "tiers"):
        assert np.array_equal(getattr(back, name), getattr(session, name)), name


def test_read_sessions_finds_all_session_folders_sorted(own_format_root):
    (own_format_root / "not_a_session").mkdir()
    sessions = read_sessions(own_format_root)
    assert [s.data_key for s in sessions] == ["a", "b"]
    assert [s.n_neurons for s in sessions] == [5, 7]
    assert [s.data_key for s in read_sessions(own_format_root, data_keys=["b"])] == ["b"]


def test_own_format_refuses_counts_that_disagree_with_session_json(own_format_root):
    header_path = own_format_root / "a" / "session.json"
    header = json.loads(header_path.read_text())
    header["n_neurons"] = 99
    header_path.write_text(json.dumps(header))
    with pytest.raises(ValueError, match=r"data.npz.*n_neurons: session.json says 99, data has 5"):
        read_session(own_format_root / "a")


# ---- nnvision monkey static pickles -----------------------------------------------------------------------------


def test_monkey_static_pickle_sums_time_bins_and_reads_images(tmp_path, monkey_static_writer):
    path, images = monkey_static_writer(tmp_path, n_neurons=3, n_bins=4)
    session = read_monkey_static_session(path, ImageFolder(images), time_bins_sum=2)
    assert session.data_key == "7"
    assert session.n_neurons == 3 and session.n_trials == 12
    # value 100*neuron + 10*bin + trial summed over bins 0, 1 -> 200*neuron + 10 + 2*trial
    expected_train = np.array([[200 * n + 10 + 2 * t for n in range(3)] for t in range(6)])
    assert np.array_equal(session.responses[:6], expected_train)
    assert session.tiers.tolist() == ["train"] * 6 + ["test"] * 6
    assert session.trial_image_ids.tolist() == [1, 2, 3, 4, 5, 6, 10, 10, 11, 11, 12, 12]
    raw = np.load(images / "000010.npy")
    row = int(np.flatnonzero(session.image_ids == 10)[0])
    assert np.allclose(session.images[row, 0], raw / 255.0)
    assert session.metadata == {"subject_id": 1, "session_id": 7}


def test_monkey_static_bin_list_average_and_id_offset(tmp_path, monkey_static_writer):
    path, images = monkey_static_writer(tmp_path, train_ids=(2, 3, 4, 5), test_ids=(6, 6), n_bins=4)
    for image_id in range(2, 7):  # nnvision names image files by the id after subtracting the offset
        (images / f"{image_id:06d}.npy").rename(images / f"{image_id - 1:06d}.npy")
    session = read_monkey_static_session(path, ImageFolder(images), time_bins_sum=[1, 3], average_time_bins=True,
                                         image_id_offset=1)
    assert session.responses[0, 0] == (10 + 30) / 2
    assert session.trial_image_ids.tolist() == [1, 2, 3, 4, 5, 5]


def test_monkey_static_accepts_unpadded_image_names(tmp_path, monkey_static_writer):
    path, images = monkey_static_writer(tmp_path, precision=0)
    session = read_monkey_static_session(path, ImageFolder(images, filename_precision=6), time_bins_sum=4)
    assert session.images.shape == (9, 1, 5, 5)


def test_monkey_static_time_bins_out_of_range(tmp_path, monkey_static_writer):
    path, images = monkey_static_writer(tmp_path, n_bins=4)
    with pytest.raises(ValueError, match="time_bins_sum 12 does not fit the 4 time bins"):
        read_monkey_static_session(path, ImageFolder(images), time_bins_sum=12)


def test_monkey_static_missing_keys_name_the_file(tmp_path, monkey_static_writer):
    path, images = monkey_static_writer(tmp_path)
    with open(path, "rb") as handle:
        data = pickle.load(handle)
    del data["testing_image_ids"]
    with open(path, "wb") as handle:
        pickle.dump(data, handle)
    with pytest.raises(ValueError, match=rf"{path.name}: missing key\(s\) \['testing_image_ids'\]"):
        read_monkey_static_session(path, ImageFolder(images))


# ---- neuralpredictors FileTree ----------------------------------------------------------------------------------


def test_filetree_reads_tiers_ids_and_drops_other_tiers(tmp_path, filetree_writer):
    root, ids, base_images = filetree_writer(tmp_path / "static123-1-2")
    session = read_filetree_session(root)
    assert session.data_key == "static123-1-2"
    assert session.n_trials == 16  # the two final_test trials are dropped
    assert session.tiers.tolist() == ["train"] * 8 + ["validation"] * 2 + ["test"] * 6
    assert session.trial_image_ids.tolist() == ids[:16].tolist()
    assert sorted(session.image_ids.tolist()) == sorted(set(ids[:16].tolist()))
    assert np.array_equal(session.responses[:, 0], np.arange(16, dtype=np.float32))
    row = int(np.flatnonzero(session.image_ids == 100)[0])
    assert np.allclose(session.images[row], base_images[100] / 255.0)
    assert session.images.shape[1:] == (1, 6, 7)


def test_filetree_image_id_key_and_links(tmp_path, filetree_writer):
    root, ids, _ = filetree_writer(tmp_path / "ft", id_key="colorframeprojector_image_id")
    (root / "data" / "responses").rename(root / "data" / "targets")
    (root / "config.json").write_text(json.dumps({"links": {"responses": "targets"}}))
    session = read_filetree_session(root)
    assert session.trial_image_ids.tolist() == ids[:16].tolist()
    with pytest.raises(FileNotFoundError, match="tried image_id.npy"):
        read_filetree_session(root, image_id_key="image_id")


def test_filetree_file_count_mismatch(tmp_path, filetree_writer):
    root, _, _ = filetree_writer(tmp_path / "ft")
    (root / "data" / "responses" / "17.npy").unlink()
    with pytest.raises(ValueError, match=r"responses: shapes do not match: 17 responses files but 18 trials"):
        read_filetree_session(root)
