import numpy as np
import pytest
import torch
from PIL import Image

from neural_cotraining.dataset.images import load_digits_images, load_image_folder, load_npz_images


def test_npz_grayscale_uint8_is_scaled_to_unit_range(tmp_path):
    images = np.arange(4 * 3 * 5, dtype=np.uint8).reshape(4, 3, 5) * 4
    np.savez(tmp_path / "d.npz", images=images, labels=np.array([0, 1, 1, 2]))
    data = load_npz_images(tmp_path / "d.npz")
    assert data.images.shape == (4, 1, 3, 5)
    assert data.images.dtype == torch.float32
    assert torch.allclose(data.images[:, 0], torch.from_numpy(images / 255.0).float())
    assert data.labels.tolist() == [0, 1, 1, 2] and data.n_classes == 3


@pytest.mark.parametrize("layout", ["nhwc", "nchw"])
def test_npz_colour_layouts_give_the_same_tensor(tmp_path, layout):
    rng = np.random.default_rng(0)
    nchw = rng.uniform(size=(5, 3, 5, 6)).astype(np.float32)
    stored = nchw.transpose(0, 2, 3, 1) if layout == "nhwc" else nchw
    np.savez(tmp_path / "c.npz", images=stored, labels=np.zeros(5, dtype=int))
    data = load_npz_images(tmp_path / "c.npz")
    assert torch.allclose(data.images, torch.from_numpy(nchw))


def test_npz_ambiguous_layout_needs_channels_last(tmp_path):
    images = np.random.default_rng(0).uniform(size=(2, 3, 5, 3)).astype(np.float32)
    np.savez(tmp_path / "a.npz", images=images, labels=np.array([0, 1]))
    with pytest.raises(ValueError, match="channels_last"):
        load_npz_images(tmp_path / "a.npz")
    data = load_npz_images(tmp_path / "a.npz", channels_last=True)
    assert data.images.shape == (2, 3, 3, 5)


def test_npz_string_labels_map_to_sorted_class_names(tmp_path):
    np.savez(tmp_path / "s.npz", images=np.zeros((3, 2, 2)), labels=np.array(["dog", "cat", "dog"]))
    data = load_npz_images(tmp_path / "s.npz")
    assert data.class_names == ["cat", "dog"]
    assert data.labels.tolist() == [1, 0, 1]


def _save(path, array, mode):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode=mode).save(path)


def test_folder_of_grayscale_pngs_sorted_class_names_give_labels(tmp_path):
    root = tmp_path / "folder"
    _save(root / "zebra" / "1.png", np.full((4, 5), 255, np.uint8), "L")
    _save(root / "apple" / "1.png", np.full((4, 5), 0, np.uint8), "L")
    _save(root / "apple" / "2.png", np.full((4, 5), 51, np.uint8), "L")
    data = load_image_folder(root)
    assert data.class_names == ["apple", "zebra"]
    assert data.labels.tolist() == [0, 0, 1]
    assert data.images.shape == (3, 1, 4, 5)
    assert torch.allclose(data.images[:, 0, 0, 0], torch.tensor([0.0, 0.2, 1.0]))


def test_folder_with_colour_jpegs_reads_rgb(tmp_path):
    root = tmp_path / "folder"
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    _save(root / "a" / "x.jpg", red, "RGB")
    _save(root / "b" / "y.png", np.full((8, 8), 128, np.uint8), "L")
    data = load_image_folder(root)
    assert data.images.shape == (2, 3, 8, 8)
    assert data.images[0, 0].mean() > 0.9 and data.images[0, 1].mean() < 0.1  # JPEG keeps red red
    assert torch.allclose(data.images[1, 0], data.images[1, 2])  # grayscale became equal RGB channels


def test_folder_with_unequal_image_sizes_is_refused(tmp_path):
    root = tmp_path / "folder"
    _save(root / "a" / "1.png", np.zeros((4, 4), np.uint8), "L")
    _save(root / "b" / "1.png", np.zeros((5, 4), np.uint8), "L")
    with pytest.raises(ValueError, match="different sizes"):
        load_image_folder(root)


def test_digits_are_the_bundled_scikit_learn_digits():
    data = load_digits_images()
    assert data.images.shape == (1797, 1, 8, 8)
    assert data.n_classes == 10
    assert float(data.images.min()) == 0.0 and float(data.images.max()) == 1.0
    assert torch.bincount(data.labels).min() > 170
