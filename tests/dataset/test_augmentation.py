import pytest
import torch
import torch.nn.functional as F

from neural_cotraining.dataset.images.augmentation import (
    BatchAugmentation,
    random_crop,
    random_horizontal_flip,
    random_rotation,
    rotate,
)


@pytest.fixture
def images():
    return torch.rand(16, 2, 7, 9, generator=torch.Generator().manual_seed(0))


def test_random_crop_is_a_shifted_window_of_the_padded_image(images):
    out = random_crop(images, 2, torch.Generator().manual_seed(1))
    assert out.shape == images.shape
    padded = F.pad(images, (2, 2, 2, 2))
    shifted = 0
    for original, cropped in zip(padded, out):
        windows = [
            (dy, dx)
            for dy in range(5)
            for dx in range(5)
            if torch.equal(original[:, dy : dy + 7, dx : dx + 9], cropped)
        ]
        assert windows, "every crop must be a window of the padded image"
        shifted += windows[0] != (2, 2)
    assert shifted > 0
    assert torch.equal(random_crop(images, 0, torch.Generator()), images)


def test_horizontal_flip_mirrors_some_images_and_keeps_the_others(images):
    out = random_horizontal_flip(images, torch.Generator().manual_seed(2))
    flipped = [torch.equal(o, i.flip(-1)) for o, i in zip(out, images)]
    kept = [torch.equal(o, i) for o, i in zip(out, images)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert any(flipped) and any(kept)


def test_rotate_by_quarter_turns_matches_rot90():
    square = torch.rand(3, 1, 6, 6)
    assert torch.allclose(rotate(square, torch.full((3,), 90.0)), torch.rot90(square, 1, (-2, -1)), atol=1e-5)
    assert torch.allclose(rotate(square, torch.zeros(3)), square, atol=1e-6)


def test_random_rotation_is_small_and_reproducible(images):
    first = random_rotation(images, 10.0, torch.Generator().manual_seed(3))
    second = random_rotation(images, 10.0, torch.Generator().manual_seed(3))
    assert torch.equal(first, second) and first.shape == images.shape
    assert not torch.allclose(first, images)
    # the centre region barely moves for a 10 degree rotation of a smooth image
    smooth = torch.ones(4, 1, 15, 15)
    turned = random_rotation(smooth, 10.0, torch.Generator().manual_seed(4))
    assert torch.allclose(turned[..., 5:10, 5:10], smooth[..., 5:10, 5:10], atol=1e-5)
    assert (turned[..., 0, 0] < 1).any()  # corners fill with zeros


def test_batch_augmentation_validates_options_and_reports_activity():
    assert not BatchAugmentation().active
    assert BatchAugmentation(horizontal_flip=True).active
    with pytest.raises(ValueError, match="random_crop_padding"):
        BatchAugmentation(crop_padding=-1)
    with pytest.raises(ValueError, match="rotation_degrees"):
        BatchAugmentation(rotation_degrees=270)
