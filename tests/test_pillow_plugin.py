"""Image.open and Image.save for .ccz through the Pillow plugin."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import ccodec
from ccodec.pillow_plugin import register


def _image(mode: str, colors: int = 5) -> Image.Image:
    rng = np.random.default_rng(0)
    channels = len(mode)
    levels = rng.integers(0, 256, (colors, channels), dtype=np.uint8)
    labels = rng.integers(0, colors, (7, 9))
    pixels = levels[labels]
    return Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)


def _ccz(mode: str) -> tuple[ccodec.Quantized, bytes]:
    return ccodec.encode_image(_image(mode), 16)


def test_register_is_safe_twice():
    register()
    register()
    assert Image.registered_extensions()[".ccz"] == "CCZ"
    assert Image.ID.count("CCZ") == 1


@pytest.mark.parametrize(
    ("mode", "opened_mode"), [("RGB", "P"), ("RGBA", "P"), ("L", "L"), ("LA", "LA")]
)
def test_open_gives_the_quantized_image_exactly(mode, opened_mode):
    q, data = _ccz(mode)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "CCZ"
        assert image.mode == opened_mode
        assert image.size == (9, 7)
        assert image.info["colors"] == q.k
        pixels = np.asarray(image.convert(mode))
    assert np.array_equal(pixels, q.to_array())


def test_open_palette_image_has_the_palette_and_indices():
    q, data = _ccz("RGB")
    with Image.open(io.BytesIO(data)) as image:
        assert np.array_equal(np.asarray(image), q.labels)
        assert image.getpalette()[: 3 * q.k] == q.palette.reshape(-1).tolist()


def test_rgba_transparency_survives_a_png_round_trip(tmp_path):
    q, data = _ccz("RGBA")
    with Image.open(io.BytesIO(data)) as image:
        image.save(tmp_path / "out.png")
    with Image.open(tmp_path / "out.png") as png:
        assert np.array_equal(np.asarray(png.convert("RGBA")), q.to_array())


def test_open_by_path(tmp_path):
    q, data = _ccz("RGB")
    path = tmp_path / "x.ccz"
    path.write_bytes(data)
    with Image.open(path) as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), q.to_array())


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
def test_save_with_colors_writes_a_decodable_file(mode, tmp_path):
    path = tmp_path / "saved.ccz"
    _image(mode, colors=40).save(path, colors=8)
    q = ccodec.decode(path.read_bytes())
    assert q.k == 8
    assert q.mode == mode


def test_save_is_deterministic_and_exact_when_colours_fit():
    source = _image("RGB", colors=5)
    first, second = io.BytesIO(), io.BytesIO()
    source.save(first, format="CCZ", colors=16)
    source.save(second, format="CCZ", colors=16)
    assert first.getvalue() == second.getvalue()
    assert np.array_equal(ccodec.decode(first.getvalue()).to_array(), np.asarray(source))


def test_save_with_bad_colors_raises_option_error():
    with pytest.raises(ccodec.OptionError, match="k=0"):
        _image("RGB").save(io.BytesIO(), format="CCZ", colors=0)


def test_other_formats_still_open():
    buffer = io.BytesIO()
    _image("RGB").save(buffer, format="PNG")
    with Image.open(buffer) as image:
        assert image.format == "PNG"


def test_a_damaged_file_is_refused_on_open_before_pillow_allocates_the_image():
    # A 3 x 33,554,432 header over a tiny file: open must fail on the CRC and
    # the file length, not allocate 100 MB in load() and fail afterwards.
    _, data = _ccz("RGB")
    damaged = bytearray(data)
    damaged[12:20] = (3).to_bytes(4, "little") + (33_554_432).to_bytes(4, "little")
    with pytest.raises(OSError, match="CRC-32"):
        Image.open(io.BytesIO(bytes(damaged)))


def test_trailing_bytes_are_refused_on_open():
    _, data = _ccz("RGB")
    with pytest.raises(OSError, match="trailing"):
        Image.open(io.BytesIO(data + b"\0"))
