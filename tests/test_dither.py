"""Mapping pixels to a palette: nearest entry, Floyd-Steinberg, ordered dithering."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from ccodec import OptionError
from ccodec.dither import METHODS, dither
from ccodec.quantize import MAX_COLORS

# The module, not the function of the same name a package could re-export.
dither_module = importlib.import_module("ccodec.dither")

BLACK_WHITE = {
    1: np.array([[0], [255]], np.uint8),
    2: np.array([[0, 255], [255, 255]], np.uint8),
    3: np.array([[0, 0, 0], [255, 255, 255]], np.uint8),
    4: np.array([[0, 0, 0, 255], [255, 255, 255, 255]], np.uint8),
}


def _brute_nearest(pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    diff = pixels[:, :, None, :].astype(np.int64) - palette[None, None].astype(np.int64)
    return np.argmin(np.sum(diff * diff, axis=3), axis=2)


def _reference_floyd_steinberg(pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Textbook raster-order Floyd-Steinberg, one pixel at a time, float32 like the module."""
    height, width, _ = pixels.shape
    values = pixels.astype(np.float32)
    colors = palette.astype(np.float32)
    labels = np.zeros((height, width), np.uint16)
    for y in range(height):
        for x in range(width):
            value = np.clip(values[y, x], 0, 255)
            label = int(np.argmin(np.sum((colors - value.astype(np.float64)) ** 2, axis=1)))
            labels[y, x] = label
            error = value - colors[label]
            for dy, dx, weight in ((0, 1, 7 / 16), (1, -1, 3 / 16), (1, 0, 5 / 16), (1, 1, 1 / 16)):
                if 0 <= y + dy < height and 0 <= x + dx < width:
                    values[y + dy, x + dx] += weight * error
    return labels


def test_none_hand_computed():
    pixels = np.array([[[10, 10, 10], [120, 130, 140]], [[200, 0, 0], [250, 250, 250]]], np.uint8)
    palette = np.array([[0, 0, 0], [128, 128, 128], [255, 0, 0], [255, 255, 255]], np.uint8)
    assert dither(pixels, palette, "none").tolist() == [[0, 1], [2, 3]]


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [1, 2, 7, 256])
def test_none_is_the_nearest_entry_lowest_index_on_ties(channels, k):
    rng = np.random.default_rng(channels * 1000 + k)
    pixels = rng.integers(0, 256, (13, 17, channels), dtype=np.uint8)
    palette = rng.integers(0, 256, (k, channels), dtype=np.uint8)
    if k > 2:
        palette[2] = palette[1]  # a duplicate entry: the tie goes to index 1
    labels = dither(pixels, palette, "none")
    assert labels.dtype == np.uint8 and labels.shape == (13, 17)
    assert np.array_equal(labels, _brute_nearest(pixels, palette))


@pytest.mark.parametrize("channels", [2, 4])
def test_floyd_steinberg_with_alpha_matches_the_textbook_loop(channels):
    rng = np.random.default_rng(channels)
    pixels = rng.integers(0, 256, (9, 11, channels), dtype=np.uint8)
    palette = rng.integers(0, 256, (6, channels), dtype=np.uint8)
    labels = dither(pixels, palette, "floyd-steinberg")
    assert np.array_equal(labels, _reference_floyd_steinberg(pixels, palette))


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("method", ["floyd-steinberg", "ordered"])
def test_dithering_keeps_the_mean_of_a_flat_grey(channels, method):
    # Mid grey between black and white: about half the pixels go each way,
    # where plain mapping sends all of them to one side.
    colour_channels = channels - 1 if channels in (2, 4) else channels
    pixels = np.full((32, 32, channels), 255, np.uint8)  # opaque where there is alpha
    pixels[..., :colour_channels] = 128
    palette = BLACK_WHITE[channels]
    fraction = dither(pixels, palette, method).mean()
    assert 0.4 <= fraction <= 0.6
    assert dither(pixels, palette, "none").mean() in (0.0, 1.0)


def test_floyd_steinberg_from_pillow_uses_only_the_given_entries():
    # A dark image and a palette without black: Pillow's free slots must not be picked.
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 40, (20, 30, 3), dtype=np.uint8)
    palette = np.array([[60, 60, 60], [200, 10, 10], [250, 250, 250]], np.uint8)
    labels = dither(pixels, palette, "floyd-steinberg")
    assert labels.max() < 3
    assert labels.min() == 0


def test_floyd_steinberg_reaches_entries_nearest_mapping_never_picks():
    pixels = np.full((24, 24, 3), 170, np.uint8)
    palette = np.array([[0, 0, 0], [128, 128, 128], [255, 255, 255]], np.uint8)
    assert set(np.unique(dither(pixels, palette, "none"))) == {1}
    labels = dither(pixels, palette, "floyd-steinberg")
    # 170 is a third of the way from 128 to 255: about a third of the pixels go white.
    assert 2 in labels
    assert abs(palette[labels].mean() - 170) < 3


def test_ordered_pattern_repeats_every_eight_pixels():
    pixels = np.full((24, 40, 3), 100, np.uint8)
    palette = np.array([[0, 0, 0], [255, 255, 255]], np.uint8)
    labels = dither(pixels, palette, "ordered")
    assert np.array_equal(labels[:8, :8], labels[8:16, 16:24])
    assert 0 < labels.mean() < 1


@pytest.mark.parametrize("method", METHODS)
def test_one_entry_palette_and_grey_without_channel_axis(method):
    pixels = np.random.default_rng(3).integers(0, 256, (5, 6), dtype=np.uint8)
    labels = dither(pixels, np.array([[77]], np.uint8), method)
    assert labels.shape == (5, 6) and not labels.any()


@pytest.mark.parametrize("method", METHODS)
def test_deterministic(method):
    rng = np.random.default_rng(4)
    pixels = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    palette = rng.integers(0, 256, (16, 3), dtype=np.uint8)
    assert np.array_equal(dither(pixels, palette, method), dither(pixels.copy(), palette, method))


@pytest.mark.parametrize(
    ("pixels", "palette", "method", "message"),
    [
        (np.zeros((2, 2, 3), np.uint8), BLACK_WHITE[3], "atkinson", "'atkinson'.*none, floyd"),
        (np.zeros((2, 2, 3), np.uint8), BLACK_WHITE[3], None, "None"),
        (np.zeros((2, 2, 3), np.float32), BLACK_WHITE[3], "none", "float32"),
        (np.zeros((2, 2, 3), np.uint8), BLACK_WHITE[3].astype(int), "none", "int64"),
        (np.zeros((2, 2, 3), np.uint8), BLACK_WHITE[4], "none", r"\(K, 3\).*\(2, 4\)"),
        (np.zeros((2, 2, 3), np.uint8), np.zeros((0, 3), np.uint8), "none", "0 entries"),
        (np.zeros((2, 2, 3), np.uint8), np.zeros((MAX_COLORS + 1, 3), np.uint8), "none", "entries"),
        (np.zeros((2, 2, 3), np.uint8), np.zeros(3, np.uint8), "ordered", r"\(3,\)"),
    ],
)
def test_bad_arguments_raise_option_error_naming_the_value(pixels, palette, method, message):
    with pytest.raises(OptionError, match=message):
        dither(pixels, palette, method)


@pytest.mark.parametrize("channels", [2, 4])
def test_floyd_steinberg_with_one_alpha_everywhere_is_the_colour_result(channels):
    rng = np.random.default_rng(7)
    colour = rng.integers(0, 256, (12, 10, channels - 1), dtype=np.uint8)
    palette = rng.integers(0, 256, (5, channels - 1), dtype=np.uint8)
    opaque = np.dstack([colour, np.full((12, 10), 255, np.uint8)])
    opaque_palette = np.hstack([palette, np.full((5, 1), 255, np.uint8)])
    expected = dither(colour, palette, "floyd-steinberg")
    assert np.array_equal(dither(opaque, opaque_palette, "floyd-steinberg"), expected)


@pytest.mark.parametrize("ring", [4, 5, 64])
@pytest.mark.parametrize(("height", "width"), [(21, 13), (1, 9), (9, 1), (7, 2), (3, 40)])
def test_floyd_steinberg_ring_matches_the_textbook_loop(monkeypatch, ring, height, width):
    # A ring of 4 steps moves its last three to the front at every step, 5 at
    # every other; 21 x 13 takes 53 steps, so the default 64 never moves.
    # One- and two-pixel-wide images have steps without pixels.
    monkeypatch.setattr(dither_module, "_RING", ring)
    rng = np.random.default_rng(8)
    pixels = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    palette = rng.integers(0, 256, (7, 4), dtype=np.uint8)
    labels = dither(pixels, palette, "floyd-steinberg")
    assert labels.shape == (height, width) and labels.flags.c_contiguous
    assert np.array_equal(labels, _reference_floyd_steinberg(pixels, palette))


@pytest.mark.parametrize("channels", [3, 4])
def test_more_than_256_entries_give_uint16_labels(channels):
    rng = np.random.default_rng(9)
    pixels = rng.integers(0, 256, (6, 7, channels), dtype=np.uint8)
    palette = rng.integers(0, 256, (300, channels), dtype=np.uint8)
    nearest = dither(pixels, palette, "none")
    assert nearest.dtype == np.uint16
    assert np.array_equal(nearest, _brute_nearest(pixels, palette))
    diffused = dither(pixels, palette, "floyd-steinberg")
    assert diffused.dtype == np.uint16
    assert np.array_equal(diffused, _reference_floyd_steinberg(pixels, palette))
    assert dither(pixels, palette, "ordered").dtype == np.uint16


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_nearest_is_exact_over_the_whole_range_ordered_can_reach(channels):
    # Ordered dithering maps pixel + offset, -128..383 per channel; the lifted
    # float32 distances must stay exact and positive over all of it, ties included.
    rng = np.random.default_rng(10)
    points = rng.integers(-128, 384, (5000, channels)).astype(np.int16)
    points[:4] = [[-128] * channels, [383] * channels, [0] * channels, [255] * channels]
    palette = rng.integers(0, 256, (40, channels), dtype=np.uint8)
    palette[:4] = [[0] * channels, [255] * channels, [255] * channels, [128] * channels]
    palette[5] = palette[4]
    expected = _brute_nearest(points[None], palette)[0]
    assert np.array_equal(dither_module._nearest(points, palette), expected)


@pytest.mark.parametrize("k", [7, 300])
def test_floyd_steinberg_in_blocks_of_rows_matches_the_textbook_loop(monkeypatch, k):
    # Products wider than _CHUNK_ELEMENTS run in blocks of rows; here of 3
    # rows, on steps of up to 10 pixels, the last block shorter.
    monkeypatch.setattr(dither_module, "_CHUNK_ELEMENTS", 3 * k)
    monkeypatch.setattr(dither_module, "_MIN_ROWS", 1)
    rng = np.random.default_rng(11)
    pixels = rng.integers(0, 256, (17, 19, 4), dtype=np.uint8)
    palette = rng.integers(0, 256, (k, 4), dtype=np.uint8)
    labels = dither(pixels, palette, "floyd-steinberg")
    assert np.array_equal(labels, _reference_floyd_steinberg(pixels, palette))
