"""Colour under alpha 0 is free: the quantizer, the target search and the MSE ignore it."""

from __future__ import annotations

import numpy as np
import pytest

import ccodec
from ccodec.transparency import clear_hidden, first_transparent


def _with_hidden_noise(channels: int, seed: int) -> np.ndarray:
    """A gradient whose left third is fully transparent, with random colour under it."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:24, 0:30]
    colour = np.stack([x * 8, y * 10, (x + y) * 4], -1)[..., : channels - 1] % 256
    alpha = np.where(x < 10, 0, 255)
    pixels = np.dstack([colour, alpha]).astype(np.uint8)
    pixels[x < 10, :-1] = rng.integers(0, 256, (int((x < 10).sum()), channels - 1))
    return pixels


@pytest.mark.parametrize("channels", [2, 4])
def test_quantize_does_not_depend_on_colour_under_alpha_0(channels):
    first, second = _with_hidden_noise(channels, 1), _with_hidden_noise(channels, 2)
    assert ccodec.quantize(first, 6, seed=0) == ccodec.quantize(second, 6, seed=0)


def test_quantize_spends_one_entry_on_all_hidden_pixels():
    pixels = _with_hidden_noise(4, 3)
    q = ccodec.quantize(pixels, 512, seed=0)
    hidden = pixels[..., 3] == 0
    assert len(np.unique(q.labels[hidden])) == 1
    assert q.palette[q.labels[hidden][0]].tolist() == [0, 0, 0, 0]
    # Every visible colour fits in the rest of the palette: exact where seen.
    assert ccodec.mse(pixels, q.to_array(), ignore_transparent=True) == 0.0
    assert ccodec.mse(pixels, q.to_array()) > 0.0


def test_target_search_ignores_hidden_colour_and_reports_the_visible_error():
    first, second = _with_hidden_noise(4, 4), _with_hidden_noise(4, 5)
    q = ccodec.quantize_to_target(first, max_mse=1e-3)
    assert q == ccodec.quantize_to_target(second, max_mse=1e-3)
    assert q.mse == pytest.approx(ccodec.mse(first, q.to_array(), ignore_transparent=True))


def test_mse_ignore_transparent_counts_alpha_and_visible_pixels():
    a = np.array([[[10, 20, 30, 0], [10, 20, 30, 0], [10, 20, 30, 255]]], np.uint8)
    b = np.array([[[90, 90, 90, 0], [10, 20, 30, 5], [0, 20, 30, 255]]], np.uint8)
    b[0, 1, :3] = [0, 0, 0]
    # Pixel 1 hidden in both: free. Pixel 2 visible in b: all four differences count.
    expected = (0 + (10**2 + 20**2 + 30**2 + 5**2) + 10**2) / 12 / 255**2
    assert ccodec.mse(a, b, ignore_transparent=True) == pytest.approx(expected)
    assert ccodec.mse(a, b) > expected


@pytest.mark.parametrize("shape", [(3, 4), (3, 4, 1), (3, 4, 3)])
def test_mse_ignore_transparent_changes_nothing_without_alpha(shape):
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(2))
    assert ccodec.mse(a, b, ignore_transparent=True) == ccodec.mse(a, b)


def test_clear_hidden_returns_the_same_array_when_nothing_changes():
    opaque = np.full((2, 2, 4), 255, np.uint8)
    assert clear_hidden(opaque) is opaque
    rgb = np.zeros((2, 2, 3), np.uint8)
    assert clear_hidden(rgb) is rgb


def test_first_transparent():
    assert first_transparent(np.array([[1, 255], [2, 0], [3, 0]], np.uint8)) == 1
    assert first_transparent(np.array([[1, 255]], np.uint8)) is None
    assert first_transparent(np.array([[1, 2, 3]], np.uint8)) is None
