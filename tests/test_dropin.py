"""The Pillow side: quantize_image (Image.quantize's drop-in), Quantized.to_image("P"), imageio."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import ccodec
from ccodec import OptionError, Quantized


def _rgba() -> Image.Image:
    y, x = np.mgrid[0:24, 0:32]
    pixels = np.stack([x * 8, y * 10, (x + y) * 4, np.where(x < 6, 0, 128 + x * 3)], -1)
    pixels[x < 6, :3] = np.random.default_rng(0).integers(0, 256, (int((x < 6).sum()), 3))
    return Image.fromarray(pixels.astype(np.uint8), "RGBA")


def _photo() -> Image.Image:
    y, x = np.mgrid[0:30, 0:40]
    return Image.fromarray(np.stack([x * 6, y * 8, (x + y) * 3], -1).astype(np.uint8), "RGB")


# -- Quantized.to_image --------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_to_image_p_round_trips_through_png(channels):
    rng = np.random.default_rng(channels)
    palette = rng.integers(0, 256, (20, channels), dtype=np.uint8)
    q = Quantized(palette, rng.integers(0, 20, (5, 7), dtype=np.uint8))
    image = q.to_image("P")
    assert image.mode == "P" and image.size == (7, 5)
    assert np.array_equal(np.asarray(image), q.labels)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    back = Image.open(io.BytesIO(buffer.getvalue()))
    assert back.mode == "P"
    expected = q.to_array()
    if channels == 1:
        assert np.array_equal(np.asarray(back.convert("L")), expected)
    elif channels == 2:
        la = np.asarray(back.convert("RGBA"))
        assert np.array_equal(la[..., 0], expected[..., 0]) and np.array_equal(
            la[..., 3], expected[..., 1]
        )
    else:
        assert np.array_equal(np.asarray(back.convert(q.mode)), expected)


def test_to_image_p_has_no_transparency_when_every_entry_is_opaque():
    q = Quantized(np.array([[1, 2, 3, 255]], np.uint8), np.zeros((1, 1), np.uint8))
    assert "transparency" not in q.to_image("P").info


def test_to_image_default_mode_is_unchanged():
    q = Quantized(np.array([[1, 2, 3]], np.uint8), np.zeros((2, 2), np.uint8))
    assert q.to_image().mode == q.to_image("RGB").mode == "RGB"


def test_to_image_p_refuses_more_than_256_entries_and_other_modes():
    q = Quantized(np.zeros((257, 3), np.uint8), np.zeros((2, 2), np.uint16))
    with pytest.raises(OptionError, match="mode P holds at most 256 palette entries"):
        q.to_image("P")
    with pytest.raises(OptionError, match="mode='CMYK'"):
        q.to_image("CMYK")


# -- quantize_image ------------------------------------------------------------------------


def test_quantize_image_is_quantize_as_a_p_image():
    image = _photo()
    result = ccodec.quantize_image(image, 16)
    q = ccodec.quantize(np.asarray(image), 16)
    assert result.mode == "P" and len(result.getcolors()) == 16
    assert np.array_equal(np.asarray(result.convert("RGB")), q.to_array())


def test_quantize_image_takes_pillow_s_argument_names_and_dither_values():
    image = _photo()
    default = ccodec.quantize_image(image, colors=8)
    none = ccodec.quantize_image(image, colors=8, dither=Image.Dither.NONE)
    dithered = ccodec.quantize_image(image, colors=8, dither=Image.Dither.FLOYDSTEINBERG)
    assert np.array_equal(np.asarray(default), np.asarray(none))
    assert not np.array_equal(np.asarray(default), np.asarray(dithered))
    assert dithered.getpalette() == default.getpalette()


def test_quantize_image_with_a_palette_dithers_by_default_like_pillow():
    image = _photo()
    target = ccodec.quantize_image(image, 4)
    result = ccodec.quantize_image(image, palette=target)
    expected = ccodec.remap(image, target, "floyd-steinberg")
    assert np.array_equal(np.asarray(result), expected.labels)
    plain = ccodec.quantize_image(image, palette=target, dither=Image.Dither.NONE)
    assert np.array_equal(np.asarray(plain), ccodec.remap(image, target).labels)


def test_quantize_image_with_alpha_gives_transparency_and_one_hidden_entry():
    image = _rgba()
    result = ccodec.quantize_image(image, 32)
    alphas = result.info["transparency"]
    assert isinstance(alphas, bytes) and len(alphas) == len(result.getpalette()) // 3
    hidden = np.asarray(result)[:, :6]
    assert len(np.unique(hidden)) == 1 and alphas[hidden[0, 0]] == 0
    buffer = io.BytesIO()
    result.save(buffer, "PNG")
    back = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGBA"))
    assert np.all(back[:, :6, 3] == 0)
    error = ccodec.mse(np.asarray(image), back, ignore_transparent=True)
    assert error < ccodec.mse(np.asarray(image), back)


def test_quantize_image_keeps_text_metadata_and_takes_grey():
    image = Image.linear_gradient("L")
    image.info["Title"] = "ramp"
    result = ccodec.quantize_image(image, 4)
    assert result.mode == "P" and result.info["Title"] == "ramp"
    assert len(result.getcolors()) == 4


@pytest.mark.parametrize("colors", [0, 257, "8"])
def test_quantize_image_refuses_colors_outside_1_to_256(colors):
    with pytest.raises(OptionError, match="colors="):
        ccodec.quantize_image(_photo(), colors)


def test_quantize_image_refuses_a_palette_of_more_than_256_entries():
    palette = np.arange(300 * 3, dtype=np.uint32).reshape(300, 3).astype(np.uint8)
    palette[:, 0] = np.arange(300) // 256  # distinct entries
    with pytest.raises(OptionError, match="at most 256"):
        ccodec.quantize_image(_photo(), palette=palette)


# -- imageio (reads and writes .ccz through Pillow once ccodec is imported) ----------------


def test_imageio_reads_and_writes_ccz(tmp_path):
    iio = pytest.importorskip("imageio.v3")
    pixels = np.asarray(_photo())
    path = tmp_path / "x.ccz"
    iio.imwrite(path, pixels, colors=8)
    q = ccodec.decode(path.read_bytes())
    assert q.k == 8
    assert np.array_equal(iio.imread(path), q.to_array())
    assert iio.immeta(path)["colors"] == 8


def test_the_pillow_path_imageio_uses_reads_and_writes_ccz(tmp_path):
    # imageio's Pillow plugin is Image.open / Image.save: the same path without imageio.
    path = tmp_path / "x.ccz"
    _photo().save(path, colors=8)
    with Image.open(path) as image:
        assert image.format == "CCZ" and image.info["colors"] == 8
        assert np.array_equal(
            np.asarray(image.convert("RGB")), ccodec.decode(path.read_bytes()).to_array()
        )
