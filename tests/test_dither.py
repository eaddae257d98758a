"""Mapping pixels to a palette: nearest entry, Floyd-Steinberg, ordered dithering."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ccodec import OptionError, quantize, to_pixels
from ccodec.dither import METHODS, dither
from ccodec.model import MAX_COLORS

DATA = Path(__file__).resolve().parents[1] / "ccodec" / "data"
# The benchmark corpus, where the benchmarks look for it by default.
LOGO = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "logo.png"

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
    """Textbook raster-order Floyd-Steinberg, one pixel at a time, defined to the bit.

    Values in float32, clipped to 0..255; distances in float64, the squares
    summed over the channels in order (the lowest index among equals); the
    error in float32 and each share rounded to float32 before it is added.
    ccodec.dither's docstring defines the compiled loop the same way.
    """
    height, width, channels = pixels.shape
    values = pixels.astype(np.float32)
    colors = palette.astype(np.float32)
    wide = palette.astype(np.float64)
    labels = np.zeros((height, width), np.uint16)
    for y in range(height):
        for x in range(width):
            value = np.clip(values[y, x], np.float32(0), np.float32(255))
            squares = (wide - value.astype(np.float64)) ** 2
            distance = squares[:, 0].copy()
            for c in range(1, channels):
                distance += squares[:, c]
            label = int(np.argmin(distance))
            labels[y, x] = label
            error = value - colors[label]
            for dy, dx, weight in ((0, 1, 7 / 16), (1, -1, 3 / 16), (1, 0, 5 / 16), (1, 1, 1 / 16)):
                if 0 <= y + dy < height and 0 <= x + dx < width:
                    values[y + dy, x + dx] += np.float32(weight) * error
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


def test_floyd_steinberg_uses_only_the_given_entries():
    # A dark image and a palette without black: only the three entries are picked.
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


@pytest.mark.parametrize(("height", "width"), [(21, 13), (1, 9), (9, 1), (7, 2), (3, 40), (1, 1)])
def test_floyd_steinberg_on_thin_images_matches_the_textbook_loop(height, width):
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


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [1, 2, 16, 256, 300])
def test_floyd_steinberg_matches_the_textbook_loop_on_whole_images(channels, k):
    rng = np.random.default_rng(100 * channels + k)
    pixels = rng.integers(0, 256, (23, 29, channels), dtype=np.uint8)
    pixels[:8] = pixels[:8] // 51 * 51  # flat steps as well as noise
    palette = rng.integers(0, 256, (k, channels), dtype=np.uint8)
    labels = dither(pixels, palette, "floyd-steinberg")
    assert labels.dtype == (np.uint8 if k <= 256 else np.uint16)
    assert np.array_equal(labels, _reference_floyd_steinberg(pixels, palette))


@pytest.mark.parametrize(("channels", "k", "side"), [(3, 4096, 12), (4, 4096, 12), (2, 65536, 5)])
def test_floyd_steinberg_with_thousands_of_entries_matches_the_textbook_loop(channels, k, side):
    rng = np.random.default_rng(k + channels)
    pixels = rng.integers(0, 256, (side, side + 3, channels), dtype=np.uint8)
    palette = rng.integers(0, 256, (k, channels), dtype=np.uint8)
    labels = dither(pixels, palette, "floyd-steinberg")
    assert np.array_equal(labels, _reference_floyd_steinberg(pixels, palette))


def _near_tie_palette(rng: np.random.Generator, channels: int) -> np.ndarray:
    """Duplicates, entries equidistant from grey levels, permuted channels, cell edges."""
    levels = np.array([0, 15, 16, 17, 112, 120, 128, 136, 144, 239, 240, 255])
    palette = rng.choice(levels, (24, channels)).astype(np.uint8)
    palette[1] = palette[0]  # an exact duplicate: index 0 must win
    palette[5] = palette[3]
    palette[7] = np.roll(palette[6], 1)  # the same squares in another order
    palette[9] = 255 - palette[8]  # mirrored about 127.5
    palette[10], palette[11] = 120, 136  # equidistant from 128 in every channel
    palette[12] = palette[11]
    return palette


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_floyd_steinberg_breaks_near_ties_as_the_textbook_loop(channels, seed):
    rng = np.random.default_rng(seed)
    palette = _near_tie_palette(rng, channels)
    pixels = rng.choice([0, 16, 120, 127, 128, 136, 255], (19, 21, channels)).astype(np.uint8)
    pixels[10:] = 128  # flat mid grey: the error keeps landing between equidistant entries
    labels = dither(pixels, palette, "floyd-steinberg")
    assert np.array_equal(labels, _reference_floyd_steinberg(pixels, palette))
    assert not np.isin(labels, [1, 5, 12]).any()  # later duplicates never win


def _alpha_ramp(pixels: np.ndarray) -> np.ndarray:
    height, width = pixels.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    radius = np.hypot((ys - height / 2) / (height / 2), (xs - width / 2) / (width / 2))
    alpha = np.clip(255 * (1 - radius / np.sqrt(2)), 0, 255).astype(np.uint8)
    return np.dstack([pixels, alpha])


@pytest.mark.parametrize("k", [16, 256])
def test_floyd_steinberg_matches_the_textbook_loop_on_a_photo_with_alpha(k):
    # A 256 x 256 crop of the bundled photo with an alpha ramp: the NumPy
    # wavefront this replaced differed from the textbook here at 11,369 (K=16)
    # and 557 (K=256) pixels.
    with Image.open(DATA / "astronaut.png") as image:
        pixels = _alpha_ramp(np.asarray(image.convert("RGB")))[:256, :256]
    palette = quantize(pixels, k, seed=0).palette
    labels = dither(pixels, palette, "floyd-steinberg")
    assert np.array_equal(labels, _reference_floyd_steinberg(pixels, palette))


@pytest.mark.skipif(not LOGO.exists(), reason="the benchmark corpus is not beside the repository")
@pytest.mark.parametrize("k", [16, 256])
def test_floyd_steinberg_matches_the_textbook_loop_on_the_whole_corpus_logo(k):
    # 500 x 500 RGBA; the NumPy wavefront differed at 2,116 (K=16) and 19,627 (K=256) pixels.
    with Image.open(LOGO) as image:
        pixels = to_pixels(image)
    palette = quantize(pixels, k, seed=0).palette
    labels = dither(pixels, palette, "floyd-steinberg")
    assert np.array_equal(labels, _reference_floyd_steinberg(pixels, palette))


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [5, 64])
def test_floyd_steinberg_at_search_cell_edges_matches_the_textbook_loop(channels, k):
    # Entries and pixels on and beside the edges of the compiled search's cells (32 and 64
    # levels a channel), where an entry left out of a cell's list would first show.
    rng = np.random.default_rng(200 + 10 * channels + k)
    levels = np.array([0, 1, 31, 32, 33, 63, 64, 65, 95, 96, 127, 128, 191, 192, 223, 224, 255])
    palette = rng.choice(levels, (k, channels)).astype(np.uint8)
    pixels = rng.choice(levels, (17, 19, channels)).astype(np.uint8)
    labels = dither(pixels, palette, "floyd-steinberg")
    assert np.array_equal(labels, _reference_floyd_steinberg(pixels, palette))
