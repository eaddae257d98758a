"""Image.open and Image.save for .ccz through the Pillow plugin."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image, ImageFile

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


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
@pytest.mark.parametrize("coding", ["zstd", "rans"])
def test_more_than_256_colours_open_in_the_images_own_mode(mode, coding):
    rng = np.random.default_rng(1)
    palette = rng.integers(0, 256, (1000, len(mode)), dtype=np.uint8)
    labels = rng.integers(0, 1000, (13, 11)).astype(np.uint16)
    q = ccodec.Quantized(palette, labels)
    with Image.open(io.BytesIO(ccodec.encode_quantized(q, coding=coding))) as image:
        assert image.mode == mode
        assert image.info["colors"] == 1000
        np.testing.assert_array_equal(np.asarray(image), q.to_array())


def test_icc_profile_and_text_are_in_info():
    info = {"icc_profile": b"\0\1\2", "Title": "t", "Comment": "\u2603"}
    q = ccodec.Quantized(np.zeros((2, 3), np.uint8), np.array([[0, 1]], np.uint8), info=info)
    data = ccodec.encode_quantized(q)
    with Image.open(io.BytesIO(data)) as image:
        assert {key: image.info[key] for key in info} == info
        assert image.info["ccz_version"] == (1, ccodec.read_header(data).minor)
        image.load()
        out = io.BytesIO()
        image.save(out, "PNG")  # Pillow's PNG writer takes the profile from info
    with Image.open(out) as png:
        assert png.info["icc_profile"] == b"\0\1\2"


def test_save_defaults_to_256_colours():
    # The quantizer reaches 65,536 now; a palette file by default stays at most 256.
    pixels = np.random.default_rng(2).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "CCZ")
    assert ccodec.read_header(out.getvalue()).k == 256


def test_save_keeps_the_icc_profile_and_takes_a_coding():
    source = _image("RGB", colors=5)
    profile = bytes(16) + b"RGB " + bytes(12)  # an RGB profile's header, as far as ccodec reads it
    source.info["icc_profile"] = profile
    out = io.BytesIO()
    source.save(out, "CCZ", colors=8, coding="rans")
    header = ccodec.read_header(out.getvalue())
    assert header.coding == "rans"
    assert ccodec.decode(out.getvalue()).info["icc_profile"] == profile


def test_text_named_like_a_pillow_key_stays_out_of_info():
    pixels = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    q = dataclasses.replace(ccodec.quantize(pixels, 4), info={"transparency": "7", "Title": "sea"})
    data = ccodec.encode_quantized(q)
    with Image.open(io.BytesIO(data)) as image:
        assert image.text == {"transparency": "7", "Title": "sea"}
        assert "transparency" not in image.info and image.info["Title"] == "sea"
        image.convert("RGBA").save(io.BytesIO(), "PNG")  # raised ValueError when it leaked
    assert "transparency" not in ccodec.decode(data).to_image().info


# -- Pillow's conventions: verify(), ImageFile.Parser, LOAD_TRUNCATED_IMAGES ----------------


@pytest.mark.parametrize("coding", ["zstd", "rans"])
def test_verify_passes_a_good_file_and_closes_it(coding):
    data = ccodec.encode(_image("RGB"), 16, coding=coding)
    image = Image.open(io.BytesIO(data))
    image.verify()
    assert image.fp is None


@pytest.mark.parametrize("coding", ["zstd", "rans"])
def test_verify_refuses_a_damaged_payload_as_png_does(coding):
    data = bytearray(ccodec.encode(_image("RGB", colors=16), 16, coding=coding))
    data[-3] ^= 0xFF  # in the payload: open still succeeds, only decoding sees it
    image = Image.open(io.BytesIO(bytes(data)))
    with pytest.raises(SyntaxError, match="broken CCZ file"):
        image.verify()


def test_verify_after_load_is_refused():
    _, data = _ccz("RGB")
    with Image.open(io.BytesIO(data)) as image:
        image.verify()
        with pytest.raises(RuntimeError, match="directly after open"):
            image.verify()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
@pytest.mark.parametrize("piece", [1, 7, 1 << 20])
def test_the_incremental_parser_decodes_pieces(mode, piece):
    q, data = _ccz(mode)
    parser = ImageFile.Parser()
    for start in range(0, len(data), piece):
        parser.feed(data[start : start + piece])
    image = parser.close()
    assert image.format == "CCZ"
    assert np.array_equal(np.asarray(image.convert(mode)), q.to_array())


def test_the_incremental_parser_reports_an_incomplete_file():
    _, data = _ccz("RGB")
    parser = ImageFile.Parser()
    parser.feed(data[:-1])
    with pytest.raises(OSError):
        parser.close()


def test_a_truncated_file_is_refused_even_when_pillow_loads_truncated_images(monkeypatch):
    # The documented choice: no partial rows from a .ccz (see the module's docstring).
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    _, data = _ccz("RGB")
    with pytest.raises(OSError, match="truncated"):
        Image.open(io.BytesIO(data[:-5])).load()
