"""Shared fixtures: tiny generated images and quantized images, seeded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ccodec
from ccodec import writers


def _random_quantized(mode: str = "RGB", k: int = 16, size: tuple[int, int] = (9, 7)):
    rng = np.random.default_rng(k)
    width, height = size
    palette = rng.integers(0, 256, (k, len(mode)), dtype=np.uint8)
    labels = np.resize(rng.permutation(k).astype(np.uint8), (height, width))
    return ccodec.Quantized(palette, labels)


@pytest.fixture
def make_quantized():
    """Factory: a `Quantized` of `mode` with `k` random palette entries, all used.

    ``make_quantized(mode="RGB", k=16, size=(width, height))``
    """
    return _random_quantized


def _random_pixels(mode: str = "RGB", size: tuple[int, int] = (24, 16)) -> np.ndarray:
    """Smooth-ish random pixels: a gradient plus noise, (H, W, C) uint8."""
    rng = np.random.default_rng(0)
    width, height = size
    ramp = np.linspace(0, 200, width)[None, :, None] + np.linspace(0, 50, height)[:, None, None]
    noise = rng.integers(0, 40, (height, width, len(mode)))
    return np.clip(ramp + noise, 0, 255).astype(np.uint8)


@pytest.fixture
def image_file(tmp_path: Path):
    """Factory: write a generated image to tmp_path and return its path."""

    def make(name: str = "in.png", mode: str = "RGB", size: tuple[int, int] = (24, 16)) -> Path:
        pixels = _random_pixels(mode, size)
        path = tmp_path / name
        Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode).save(path)
        return path

    return make


@pytest.fixture
def fresh_writer_registry():
    """Forget loaded writer plugins before and after the test."""
    writers._plugins.cache_clear()
    writers._pillow_writers.cache_clear()
    yield
    writers._plugins.cache_clear()
    writers._pillow_writers.cache_clear()
