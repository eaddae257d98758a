"""Given palettes: palette_of, remap, shared_palette, quantize_many, and encode(palette=...)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import ccodec
from ccodec import InputError, OptionError
from ccodec.kmeans.histogram import histogram, merge_histograms
from ccodec.palettes import ColorCounts, color_histogram, widen, widest_channels

METHODS = ["none", "floyd-steinberg", "ordered"]


def _photo(seed: int = 0, shape=(30, 40, 3)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    base = np.stack([x * 6, y * 8, (x + y) * 3, 255 - x * 4], -1)[..., : shape[2]]
    return ((base + rng.integers(0, 30, base.shape)) % 256).astype(np.uint8)


# -- palette_of ---------------------------------------------------------------------------


def test_palette_of_a_p_image_keeps_every_entry_in_order_with_alpha():
    image = Image.new("P", (2, 2))
    image.putpalette([9, 8, 7, 1, 2, 3, 9, 8, 7])
    image.info["transparency"] = b"\x00\xff\x80"
    assert ccodec.palette_of(image).tolist() == [[9, 8, 7, 0], [1, 2, 3, 255], [9, 8, 7, 128]]


def test_palette_of_other_images_is_their_distinct_colours():
    pixels = np.array([[[5, 5, 5], [1, 1, 1]], [[5, 5, 5], [5, 5, 5]]], np.uint8)
    assert ccodec.palette_of(Image.fromarray(pixels)).tolist() == [[1, 1, 1], [5, 5, 5]]
    assert ccodec.palette_of(np.array([[3, 3]], np.uint8)).tolist() == [[3]]


def test_palette_of_refuses_no_colours():
    empty = Image.new("P", (1, 1))
    empty.putpalette([])
    with pytest.raises(InputError, match="empty palette"):
        ccodec.palette_of(empty)
    with pytest.raises(InputError, match="empty"):
        ccodec.palette_of(Image.new("RGB", (0, 3)))


def test_palette_of_refuses_more_than_max_colors():
    # 65,537 distinct RGB colours: one more than a palette holds.
    values = np.arange(65537, dtype=np.uint32)
    pixels = np.stack([values & 255, (values >> 8) & 255, values >> 16], -1).astype(np.uint8)
    with pytest.raises(InputError, match="65,537 colours; a palette holds at most 65,536"):
        ccodec.palette_of(pixels.reshape(1, -1, 3))
    assert len(ccodec.palette_of(pixels[:65536].reshape(1, -1, 3))) == 65536


# -- modes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"), [(1, 1, 1), (1, 2, 2), (1, 3, 3), (2, 3, 4), (3, 4, 4), (2, 2, 2)]
)
def test_widest_channels(a, b, expected):
    assert widest_channels(a, b) == expected == widest_channels(b, a)


def test_widen_repeats_grey_and_adds_opaque_alpha():
    grey = np.array([[10], [20]], np.uint8)
    assert widen(grey, 3).tolist() == [[10, 10, 10], [20, 20, 20]]
    assert widen(grey, 2).tolist() == [[10, 255], [20, 255]]
    assert widen(np.array([[1, 2, 3]], np.uint8), 4).tolist() == [[1, 2, 3, 255]]
    assert widen(np.array([[7, 9]], np.uint8), 4).tolist() == [[7, 7, 7, 9]]


def test_remap_grey_image_to_colour_palette_gives_rgb():
    q = ccodec.remap(np.array([[0, 250]], np.uint8), np.array([[0, 0, 0], [255, 0, 0]], np.uint8))
    assert q.mode == "RGB" and q.labels.tolist() == [[0, 1]]


def test_remap_rgb_image_to_rgba_palette_gives_rgba_with_opaque_pixels_on_opaque_entries():
    palette = np.array([[0, 0, 0, 0], [200, 0, 0, 255], [0, 0, 0, 255]], np.uint8)
    q = ccodec.remap(np.array([[[190, 0, 0], [5, 5, 5]]], np.uint8), palette)
    assert q.mode == "RGBA" and q.labels.tolist() == [[1, 2]]


# -- remap ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_remap_keeps_the_palette_and_matches_dither(method):
    from ccodec.dither import dither

    pixels = _photo()
    palette = ccodec.quantize(pixels, 12, seed=0).palette[::-1].copy()
    q = ccodec.remap(pixels, palette, dither=method)
    assert np.array_equal(q.palette, palette)
    assert np.array_equal(q.labels, dither(pixels, palette, method))


def test_remap_takes_pillow_dither_values_and_refuses_rasterize():
    pixels, palette = _photo(), np.array([[0, 0, 0], [255, 255, 255]], np.uint8)
    for value, name in [
        (Image.Dither.NONE, "none"),
        (Image.Dither.FLOYDSTEINBERG, "floyd-steinberg"),
        (Image.Dither.ORDERED, "ordered"),
    ]:
        assert ccodec.remap(pixels, palette, value) == ccodec.remap(pixels, palette, name)
    with pytest.raises(OptionError, match="dither=.* is not one of"):
        ccodec.remap(pixels, palette, Image.Dither.RASTERIZE)
    with pytest.raises(OptionError, match="dither="):
        ccodec.remap(pixels, palette, "fs")


def test_remap_to_a_palette_image_uses_its_palette():
    source = ccodec.quantize_image(Image.fromarray(_photo()), 8)
    q = ccodec.remap(_photo(1), source, "none")
    assert q.k == 8 and np.array_equal(q.palette, ccodec.palette_of(source))


@pytest.mark.parametrize("palette", [np.zeros((0, 3), np.uint8), np.zeros((2, 3), np.int32)])
def test_remap_refuses_bad_palettes(palette):
    with pytest.raises(OptionError, match="palette"):
        ccodec.remap(_photo(), palette)


@pytest.mark.parametrize("method", METHODS)
def test_remap_sends_hidden_pixels_to_the_first_transparent_entry_whatever_their_colour(method):
    pixels = _photo(0, (20, 24, 4))
    pixels[:, :8, 3] = 0
    other = pixels.copy()
    other[:, :8, :3] = np.random.default_rng(9).integers(0, 256, (20, 8, 3))
    palette = np.array([[9, 9, 9, 255], [250, 0, 0, 0], [0, 0, 0, 0], [200, 200, 200, 255]])
    palette = palette.astype(np.uint8)
    q = ccodec.remap(pixels, palette, method)
    assert q == ccodec.remap(other, palette, method)
    assert np.all(q.labels[:, :8] == 1)


# -- shared palettes --------------------------------------------------------------------------


def test_merged_histograms_equal_the_histogram_of_all_pixels():
    a, b = _photo(0), _photo(1)
    merged = merge_histograms([color_histogram(a), color_histogram(b)])
    _, keys, counts = histogram(np.concatenate([a, b]).reshape(-1, 3))
    assert np.array_equal(merged[0], keys) and np.array_equal(merged[1], counts)


def test_color_counts_added_one_by_one_equal_one_histogram_of_everything():
    images = [_photo(seed, (9 + seed, 11, 3)) for seed in range(12)]
    colours = ColorCounts()
    for image in images:
        colours.add(*color_histogram(image))
    keys, counts, channels = colours.merged()
    everything = np.concatenate([image.reshape(-1, 3) for image in images])
    _, expected_keys, expected_counts = histogram(everything)
    assert channels == 3
    assert np.array_equal(keys, expected_keys) and np.array_equal(counts, expected_counts)


def test_color_counts_of_mixed_modes_widen_to_the_widest():
    from ccodec.kmeans.histogram import unpack

    grey = np.array([[7, 7, 9]], np.uint8)
    rgb = np.array([[[7, 7, 7], [1, 2, 3]]], np.uint8)
    keys, counts, channels = ColorCounts(map(color_histogram, [grey[..., None], rgb])).merged()
    pairs = zip(unpack(keys, channels).tolist(), counts.tolist(), strict=True)
    found = {tuple(c): n for c, n in pairs}
    assert channels == 3
    assert found == {(7, 7, 7): 3, (9, 9, 9): 1, (1, 2, 3): 1}


def test_shared_palette_of_one_image_or_its_halves_is_quantize_s_palette():
    pixels = _photo(0, (40, 50, 3))
    expected = ccodec.quantize(pixels, 16, seed=3).palette
    assert np.array_equal(ccodec.shared_palette([pixels], 16, seed=3), expected)
    halves = [pixels[:17], pixels[17:]]
    assert np.array_equal(ccodec.shared_palette(halves, 16, seed=3), expected)


def test_shared_palette_is_deterministic_and_independent_of_order():
    images = [_photo(0), _photo(1, (12, 50, 3)), _photo(2, (33, 7, 3))]
    first = ccodec.shared_palette(images, 10)
    assert np.array_equal(first, ccodec.shared_palette(images[::-1], 10))
    assert not np.array_equal(first, ccodec.shared_palette(images, 10, seed=1))


def test_shared_palette_weights_colours_by_pixel_count():
    big = np.full((30, 30), 100, np.uint8)
    small = np.full((1, 3), 200, np.uint8)
    # Two colours into one entry: their mean weighted by 900 and 3 pixels.
    assert ccodec.shared_palette([big, small], 1).tolist() == [[100]]


def test_shared_palette_converts_to_the_widest_mode():
    grey = np.zeros((4, 4), np.uint8)
    la = np.dstack([np.full((4, 4), 50), np.zeros((4, 4))]).astype(np.uint8)
    rgb = np.full((2, 2, 3), 200, np.uint8)
    palette = ccodec.shared_palette([grey, la, rgb], 8)
    assert palette.shape[1] == 4
    # The LA image's pixels are alpha 0: one (0, 0, 0, 0) entry, whatever their grey.
    assert sorted(palette.tolist()) == [[0, 0, 0, 0], [0, 0, 0, 255], [200, 200, 200, 255]]


@pytest.mark.parametrize("method", METHODS)
def test_quantize_many_maps_each_image_to_one_palette(method):
    images = [_photo(0), Image.fromarray(_photo(1)), _photo(2, (10, 13, 3))]
    results = ccodec.quantize_many(images, 6, dither=method)
    palette = ccodec.shared_palette(images, 6)
    assert len(results) == 3
    for q, image in zip(results, images, strict=True):
        assert np.array_equal(q.palette, palette)
        assert q == ccodec.remap(image, palette, method)


def test_quantize_many_refuses_nothing_and_bad_arguments():
    with pytest.raises(OptionError, match="no images"):
        ccodec.quantize_many([], 4)
    with pytest.raises(OptionError, match="k=0"):
        ccodec.quantize_many([_photo()], 0)
    with pytest.raises(OptionError, match="dither="):
        ccodec.quantize_many([_photo()], 4, dither="sideways")


# -- encode ----------------------------------------------------------------------------------


def test_encode_with_a_palette_writes_the_remapped_image():
    pixels, palette = _photo(), np.array([[0, 0, 0], [128, 128, 128], [255, 255, 255]], np.uint8)
    q, data = ccodec.encode_image(pixels, palette=palette, dither_method="floyd-steinberg")
    assert ccodec.decode(data) == q == ccodec.remap(pixels, palette, "floyd-steinberg")


def test_encode_with_a_palette_refuses_k_and_targets():
    palette = np.zeros((1, 3), np.uint8)
    for options in [{"k": 4}, {"max_mse": 0.01}]:
        with pytest.raises(OptionError, match="palette cannot be combined"):
            ccodec.encode(_photo(), palette=palette, **options)
