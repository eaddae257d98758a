"""The public API end to end: image in, .ccz bytes, the same quantized image back."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import ccodec


def test_four_pixels_two_colours_is_exact():
    pixels = np.array([[[255, 0, 0], [0, 0, 255]], [[0, 0, 255], [255, 0, 0]]], np.uint8)
    q = ccodec.quantize(pixels, 2, seed=0)
    assert sorted(q.palette.tolist()) == [[0, 0, 255], [255, 0, 0]]
    red = q.palette.tolist().index([255, 0, 0])
    assert q.labels.tolist() == [[red, 1 - red], [1 - red, red]]
    assert ccodec.mse(pixels, q.to_array()) == 0


def test_known_two_colour_split():
    # Two groups of grey levels, {0, 10} and {200, 220}: the centres are the
    # means 5 and 210, and every pixel is 5 or 10 levels off its centre.
    pixels = np.array([[0, 10, 200, 220]], np.uint8)
    q = ccodec.quantize(pixels, 2, seed=0)
    assert sorted(q.palette[:, 0].tolist()) == [5, 210]
    expected = (5**2 + 5**2 + 10**2 + 10**2) / 4 / 255**2
    assert ccodec.mse(pixels, q.to_array()) == pytest.approx(expected)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 16, 17, 256])
def test_round_trip_every_mode_and_bit_width(channels, k):
    rng = np.random.default_rng(k * 10 + channels)
    pixels = rng.integers(0, 256, (11, 13, channels), dtype=np.uint8)
    q, data = ccodec.encode_image(pixels, k, seed=1)
    decoded = ccodec.decode(data)
    assert decoded == q
    distinct = len(np.unique(pixels.reshape(-1, channels), axis=0))
    assert decoded.k == min(k, distinct)
    assert decoded.to_array().shape == ((11, 13) if channels == 1 else (11, 13, channels))


def test_encode_accepts_a_pil_image_and_an_array_alike():
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    assert ccodec.encode(Image.fromarray(pixels), 8) == ccodec.encode(pixels, 8)


def test_same_seed_same_bytes_different_seed_recorded():
    rng = np.random.default_rng(4)
    pixels = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    assert ccodec.encode(pixels, 16, seed=7) == ccodec.encode(pixels, 16, seed=7)
    q = ccodec.quantize(pixels, 16, seed=None)
    assert isinstance(q.seed, int)
    assert ccodec.quantize(pixels, 16, seed=q.seed) == q


def test_bundled_sample_encodes_to_the_expected_size_range():
    from importlib.resources import files

    with Image.open(files("ccodec") / "data" / "astronaut.png") as image:
        q, data = ccodec.encode_image(image, 16, seed=0)
        error = ccodec.mse(np.asarray(image), q.to_array())
    assert 15_000 < len(data) < 40_000  # context (auto) ~19.9 KB, rANS ~22.8 KB, zstd ~34 KB
    assert error < 0.0019


@pytest.mark.parametrize("k", [0, ccodec.MAX_COLORS + 1, -1])
def test_k_out_of_range(k):
    with pytest.raises(ccodec.OptionError, match=f"k={k}"):
        ccodec.encode(np.zeros((2, 2, 3), np.uint8), k)


def test_decode_refuses_non_ccz_with_cczerror():
    with pytest.raises(ccodec.CczError, match="not a .ccz file"):
        ccodec.decode(b"GIF89a and so on")


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [1, 2, 16, 256, 300])
def test_to_array_is_the_palette_looked_up_by_label_and_writable(channels, k):
    rng = np.random.default_rng(channels * 1000 + k)
    palette = rng.integers(0, 256, (k, channels), dtype=np.uint8)
    labels = rng.integers(0, k, (7, 9), dtype=np.uint8 if k <= 256 else np.uint16)
    pixels = ccodec.Quantized(palette, labels).to_array()
    expected = palette[labels]
    assert np.array_equal(pixels, expected[..., 0] if channels == 1 else expected)
    pixels[0, 0] = 0  # a copy the caller owns, not a view of Pillow's buffer


@pytest.mark.parametrize("method", ["floyd-steinberg", "ordered"])
def test_dithered_encode_stores_exactly_the_dithered_labels(method):
    from ccodec.dither import dither

    ramp = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (16, 1))
    pixels = np.stack([ramp, ramp, ramp], axis=2)
    q, data = ccodec.encode_image(pixels, 4, seed=0, dither_method=method)
    plain = ccodec.quantize(pixels, 4, seed=0)
    assert np.array_equal(q.palette, plain.palette)
    assert np.array_equal(q.labels, dither(pixels, plain.palette, method))
    assert not np.array_equal(q.labels, plain.labels)
    assert ccodec.decode(data) == q


def test_unknown_dither_is_refused_before_quantizing():
    with pytest.raises(ccodec.OptionError, match="dither='bayer' is not one of none"):
        ccodec.encode(np.zeros((2, 2, 3), np.uint8), 4, dither_method="bayer")


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_oklab_encode_round_trips_exactly_and_is_deterministic(channels):
    rng = np.random.default_rng(channels)
    pixels = rng.integers(0, 256, (20, 30, channels), dtype=np.uint8)
    q, data = ccodec.encode_image(pixels, 6, seed=1, space="oklab")
    assert q == ccodec.quantize(pixels, 6, seed=1, space="oklab")
    assert ccodec.decode(data) == q
    assert data == ccodec.encode(pixels, 6, seed=1, space="oklab")


def test_unknown_space_is_refused_before_quantizing():
    # k=0 is invalid too, but quantize (which checks k) is never reached.
    with pytest.raises(ccodec.OptionError, match="space='lab' is not one of rgb, oklab"):
        ccodec.encode(np.zeros((2, 2, 3), np.uint8), 0, space="lab")


def _profile(space: bytes) -> bytes:
    """An ICC profile stand-in: what matters here is the colour space at bytes 16-19."""
    return bytes(16) + space + bytes(12)


def test_encode_image_carries_a_pil_images_metadata_unless_stripped():
    image = Image.new("RGB", (3, 2), "red")
    image.info.update({"icc_profile": _profile(b"RGB "), "Title": "red", "dpi": (72, 72)})
    q, data = ccodec.encode_image(image, 2)
    assert q.info == {"icc_profile": _profile(b"RGB "), "Title": "red"}
    assert ccodec.decode(data).info == q.info
    bare, bare_data = ccodec.encode_image(image, 2, strip=True)
    assert bare.info == {}
    assert ccodec.decode(bare_data) == ccodec.decode(data)  # pixels are untouched
    assert ccodec.encode_image(np.asarray(image), 2)[0].info == {}  # arrays carry none


@pytest.mark.parametrize("coding", sorted(ccodec.ccz.CODINGS))
def test_encode_passes_the_coding_on(coding):
    pixels = np.random.default_rng(3).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    data = ccodec.encode(pixels, 8, coding=coding)
    assert ccodec.read_header(data).coding == coding
    assert ccodec.decode(data) == ccodec.quantize(pixels, 8)


@pytest.mark.parametrize(
    ("mode", "space", "kept"),
    [("CMYK", b"CMYK", False), ("RGB", b"GRAY", False), ("L", b"GRAY", True), ("P", b"RGB ", True)],
)
def test_an_icc_profile_is_kept_only_when_it_describes_the_stored_pixels(mode, space, kept):
    image = Image.new(mode, (3, 2))
    image.info["icc_profile"] = _profile(space)
    q, _ = ccodec.encode_image(image, 2)
    assert ("icc_profile" in q.info) == kept


def test_a_quality_target_goes_through_the_same_path():
    pixels = np.arange(64, dtype=np.uint8).reshape(8, 8)
    q, data = ccodec.encode_image(pixels, max_mse=1e-4)
    assert q == ccodec.quantize_to_target(pixels, max_mse=1e-4)
    assert data == ccodec.encode(pixels, max_mse=1e-4)
    assert ccodec.decode(data) == q
    assert ccodec.encode_image(pixels, 4, max_mse=0)[0].k == 4  # K caps the search


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "give k, or a quality target"),
        ({"k": 4, "min_psnr": 30, "dither_method": "ordered"}, "cannot be combined"),
        ({"k": 4, "dither_method": "halftone"}, "dither='halftone' is not one of"),
        ({"k": 4, "space": "lab"}, "space='lab' is not one of"),
    ],
)
def test_encode_refuses_what_it_cannot_do(options, message):
    with pytest.raises(ccodec.OptionError, match=message):
        ccodec.encode(np.zeros((2, 2, 3), np.uint8), **options)
