"""MSE as the write-up defines it (mean over H x W x C, [0, 1] scale), PSNR and bits per pixel."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ccodec import OptionError, bits_per_pixel, metrics, mse, psnr


def test_mse_hand_computed():
    a = np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8)
    b = np.array([[[0, 0, 51], [255, 255, 255]]], np.uint8)
    # One value of six differs by 51/255 = 0.2: 0.04 / 6.
    assert mse(a, b) == pytest.approx(0.04 / 6)


def test_mse_is_zero_for_identical_images_and_symmetric():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (5, 7, 4), dtype=np.uint8)
    b = rng.integers(0, 256, (5, 7, 4), dtype=np.uint8)
    assert mse(a, a) == 0
    assert mse(a, b) == mse(b, a) > 0


def test_mse_accepts_grey_with_or_without_channel_axis():
    a = np.zeros((2, 2), np.uint8)
    b = np.full((2, 2, 1), 255, np.uint8)
    assert mse(a, b) == 1.0


def test_mse_refuses_mismatched_shapes():
    with pytest.raises(OptionError, match="shapes"):
        mse(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 3, 3), np.uint8))


def test_psnr():
    assert psnr(0) == math.inf
    assert psnr(0.01) == pytest.approx(20.0)
    assert psnr(1.0) == 0.0


def test_bits_per_pixel():
    assert bits_per_pixel(100, 20, 10) == 4.0


@pytest.mark.parametrize("block", [1, 7, 1 << 22])
def test_mse_in_blocks_is_exact(monkeypatch, block):
    monkeypatch.setattr(metrics, "_BLOCK", block)
    rng = np.random.default_rng(5)
    a = rng.integers(0, 256, (13, 11, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (13, 11, 3), dtype=np.uint8)
    squares = int(((a.astype(np.int64) - b) ** 2).sum())
    assert metrics.mse(a, b) == squares / a.size / 255.0**2
