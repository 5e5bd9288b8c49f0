import pytest
import torch

from neural_cotraining.dataset.images import CORRUPTIONS, SEVERITIES, corrupt, gaussian_noise, load_digits_images
from neural_cotraining.dataset.images.corruptions import contrast, gaussian_blur, pixelate
from neural_cotraining.dataset.images.preprocessing import resize


@pytest.fixture(scope="module")
def digits():
    # real images with structure (edges, blank background) so every corruption has something to act on
    return resize(load_digits_images().images[:64], (16, 16))


def _deviation(clean, corrupted):
    return float((corrupted - clean).abs().mean())


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_corruption_keeps_shape_and_range_and_is_reproducible(digits, name):
    first = corrupt(digits, name, 3, torch.Generator().manual_seed(0))
    second = corrupt(digits, name, 3, torch.Generator().manual_seed(0))
    assert first.shape == digits.shape and first.dtype == digits.dtype
    assert float(first.min()) >= 0.0 and float(first.max()) <= 1.0
    assert torch.equal(first, second)
    assert _deviation(digits, first) > 1e-3


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_higher_severity_deviates_more(digits, name):
    deviations = [_deviation(digits, corrupt(digits, name, s, torch.Generator().manual_seed(0))) for s in SEVERITIES]
    assert all(a < b for a, b in zip(deviations, deviations[1:])), deviations


def test_more_gaussian_noise_deviates_more(digits):
    levels = [0.0, 0.05, 0.1, 0.2, 0.4]
    deviations = [_deviation(digits, gaussian_noise(digits, s, torch.Generator().manual_seed(0))) for s in levels]
    assert deviations[0] == 0.0
    assert all(a < b for a, b in zip(deviations, deviations[1:]))


def test_blur_keeps_a_uniform_image_and_smooths_edges():
    flat = torch.full((1, 1, 8, 8), 0.3)
    assert torch.allclose(gaussian_blur(flat, 5), flat, atol=1e-6)
    edge = torch.zeros(1, 1, 8, 8)
    edge[..., 4:] = 1.0
    blurred = gaussian_blur(edge, 2)
    assert 0 < float(blurred[0, 0, 0, 3]) < 0.5 < float(blurred[0, 0, 0, 4]) < 1


def test_contrast_shrinks_spread_around_the_mean(digits):
    reduced = contrast(digits, 4)
    assert torch.allclose(reduced.mean(dim=(-2, -1)), digits.mean(dim=(-2, -1)), atol=1e-5)
    assert torch.allclose(reduced.std(dim=(-2, -1)), 0.1 * digits.std(dim=(-2, -1)), atol=1e-5)


def test_pixelate_makes_blocks_of_equal_pixels():
    image = torch.rand(1, 1, 8, 8)
    coarse = pixelate(image, 5)  # 8 * 0.25 -> 2x2 blocks of 4x4 pixels
    assert torch.unique(coarse).numel() == 4


def test_bad_severity_and_name_are_refused(digits):
    with pytest.raises(ValueError, match="severity"):
        corrupt(digits, "contrast", 0, torch.Generator())
    with pytest.raises(ValueError, match="unknown corruption"):
        corrupt(digits, "fog", 1, torch.Generator())
