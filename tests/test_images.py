"""Input rules: every Pillow mode and array dtype maps to L, LA, RGB or RGBA as documented."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ccodec import InputError, OptionError, open_image, to_pixels
from ccodec.images import metadata


@pytest.mark.parametrize(
    ("mode", "channels"),
    [
        ("1", 1),
        ("L", 1),
        ("I;16", 1),
        ("I", 1),
        ("F", 1),
        ("LA", 2),
        ("P", 3),
        ("PA", 4),
        ("RGB", 3),
        ("RGBX", 3),
        ("CMYK", 3),
        ("YCbCr", 3),
        ("HSV", 3),
        ("RGBA", 4),
    ],
)
def test_every_mode_maps_to_a_documented_channel_count(mode, channels):
    pixels = to_pixels(Image.new(mode, (3, 2)))
    assert pixels.shape == (2, 3, channels)
    assert pixels.dtype == np.uint8


def test_sixteen_bit_grey_is_scaled_not_clipped():
    image = Image.new("I;16", (4, 1))
    image.frombytes(np.array([0, 257, 32896, 65535], "<u2").tobytes())
    assert to_pixels(image)[0, :, 0].tolist() == [0, 1, 128, 255]


def test_float_grey_is_clipped_and_rounded():
    image = Image.fromarray(np.array([[-5.0, 0.4, 127.5, 300.0]], np.float32), "F")
    assert to_pixels(image)[0, :, 0].tolist() == [0, 0, 128, 255]


def test_palette_with_transparency_keeps_alpha():
    image = Image.new("P", (2, 1))
    image.putpalette([10, 20, 30, 40, 50, 60])
    image.putpixel((1, 0), 1)
    image.info["transparency"] = 1
    pixels = to_pixels(image)
    assert pixels.shape == (1, 2, 4)
    assert pixels[0].tolist() == [[10, 20, 30, 255], [40, 50, 60, 0]]


def test_palette_without_transparency_is_rgb():
    image = Image.new("P", (1, 1))
    image.putpalette([1, 2, 3])
    assert to_pixels(image).tolist() == [[[1, 2, 3]]]


def test_uint8_arrays_pass_through_unchanged():
    grey = np.arange(6, dtype=np.uint8).reshape(2, 3)
    assert np.array_equal(to_pixels(grey)[..., 0], grey)
    rgba = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(to_pixels(rgba), rgba)


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.array([[False, True]]), [0, 255]),
        (np.array([[0, 65535, 257]], np.uint16), [0, 255, 1]),
        (np.array([[0.0, 1.0, 0.5]]), [0, 255, 128]),
    ],
)
def test_other_dtypes_are_scaled_to_8_bits(array, expected):
    assert to_pixels(array)[0, :, 0].tolist() == expected


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([[1.5]]), "[0, 1]"),
        (np.array([[np.nan]]), "[0, 1]"),
        (np.zeros((2, 2), np.int32), "int32"),
        (np.zeros((2, 2, 5), np.uint8), "shape"),
        (np.zeros(4, np.uint8), "shape"),
    ],
)
def test_unsupported_arrays_are_refused_with_a_reason(array, message):
    with pytest.raises(OptionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        to_pixels(array)


def test_open_image_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        open_image(tmp_path / "absent.png")


def test_open_image_directory(tmp_path):
    with pytest.raises(InputError, match="directory"):
        open_image(tmp_path)


def test_open_image_not_an_image(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, not a picture\n")
    with pytest.raises(InputError, match="not an image"):
        open_image(path)


def test_open_image_truncated_png(tmp_path):
    path = tmp_path / "cut.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(InputError, match=r"cut\.png"):
        open_image(path)


def test_open_image_applies_exif_orientation(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    Image.new("RGB", (40, 20), "red").save(path, exif=exif)
    assert open_image(path).size == (20, 40)


def _png_with_text(path, **save_options) -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "before the pixels")
    info.add_itxt("Author", "Zoë", zip=True)
    Image.new("RGB", (3, 2), "blue").save(path, pnginfo=info, **save_options)


def test_metadata_keeps_icc_profile_and_png_text(tmp_path):
    path = tmp_path / "meta.png"
    _png_with_text(path, icc_profile=b"not really a profile")
    expected = {
        "icc_profile": b"not really a profile",
        "Title": "before the pixels",
        "Author": "Zoë",
    }
    assert metadata(open_image(path)) == expected
    with Image.open(path) as image:  # a PNG opened by Pillow directly
        assert metadata(image) == expected


def test_metadata_ignores_other_formats_str_entries(tmp_path):
    path = tmp_path / "lzw.tiff"
    Image.new("RGB", (3, 2)).save(path, compression="tiff_lzw")
    image = open_image(path)
    assert image.info["compression"] == "tiff_lzw"
    assert metadata(image) == {}


def test_metadata_of_a_jpeg_keeps_its_icc_profile(tmp_path):
    path = tmp_path / "p.jpg"
    Image.new("RGB", (3, 2)).save(path, icc_profile=b"jpeg profile", comment=b"a comment")
    assert metadata(open_image(path)) == {"icc_profile": b"jpeg profile"}


def test_open_image_reads_standard_input(monkeypatch, tmp_path):
    import io

    path = tmp_path / "in.png"
    Image.new("L", (3, 2), 7).save(path)

    class Pipe(io.TextIOWrapper):
        def isatty(self) -> bool:
            return False

    monkeypatch.setattr("sys.stdin", Pipe(io.BytesIO(path.read_bytes())))
    image = open_image("-")
    assert (image.size, image.getpixel((0, 0))) == ((3, 2), 7)


def test_standard_input_from_a_terminal_is_refused(monkeypatch):
    import io

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal())
    with pytest.raises(InputError, match="standard input is a terminal"):
        open_image("-")
