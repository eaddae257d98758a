"""Reading images without losing anything silently: colour keys, narrow ranges, NaN, frames,
and Pillow's errors, warnings and C-level messages turned into one line each."""

from __future__ import annotations

import os
import struct
import warnings

import numpy as np
import pytest
from PIL import Image, ImageFile

from ccodec import InputError, OptionError, open_image, to_pixels


def read(path, **options):
    """The pixels of the file at `path` and the notes reading it gave."""
    notes: list[str] = []
    frame = options.pop("frame", None)
    image = open_image(path, frame=frame, notes=notes, **options)
    return to_pixels(image, stretch=False, notes=notes), notes


# -- colour keys (PNG tRNS) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "values", "key", "transparent"),
    [
        ("1", [[False, True, False]], 255, [False, True, False]),
        ("L", [[0, 100, 200]], 100, [False, True, False]),
        ("I;16", [[0, 1000, 65535]], 65535, [False, False, True]),
        ("RGB", [[[10, 20, 30], [10, 20, 31], [10, 20, 30]]], (10, 20, 30), [True, False, True]),
    ],
)
def test_a_colour_key_becomes_alpha_whatever_the_mode(tmp_path, mode, values, key, transparent):
    array = np.array(values, {"1": bool, "I;16": np.uint16}.get(mode, np.uint8))
    source = Image.fromarray(array).convert(mode) if mode == "1" else Image.fromarray(array)
    assert source.mode == mode
    path = tmp_path / "keyed.png"
    source.save(path, transparency=key)
    pixels = to_pixels(open_image(path))
    assert pixels.shape[2] == (4 if mode == "RGB" else 2)
    assert (pixels[0, :, -1] == 0).tolist() == transparent
    assert set(pixels[0, :, -1].tolist()) <= {0, 255}


def test_a_sixteen_bit_key_is_compared_before_scaling(tmp_path):
    # 1000 and 1001 both become 4 in 8 bits; only the first is the key.
    path = tmp_path / "wide.png"
    Image.fromarray(np.array([[1000, 1001]], np.uint16)).save(path, transparency=1000)
    pixels = to_pixels(open_image(path))
    assert pixels[0].tolist() == [[4, 0], [4, 255]]


def test_a_key_no_pixel_has_adds_no_alpha(tmp_path):
    path = tmp_path / "unused.png"
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(path, transparency=(1, 2, 3))
    assert to_pixels(open_image(path)).shape == (2, 2, 3)


def test_a_grey_gif_keeps_its_transparent_index(tmp_path):
    path = tmp_path / "grey.gif"
    Image.fromarray(np.array([[0, 7, 9]], np.uint8)).save(path, transparency=7)
    pixels = to_pixels(open_image(path))
    assert (pixels[0, :, -1] == 0).tolist() == [False, True, False]


# -- 16-bit and float grey: narrow ranges, stretch, NaN ------------------------------------


def test_a_narrow_sixteen_bit_range_is_reported():
    image = Image.fromarray(np.array([[0, 10, 30]], np.uint16))
    notes: list[str] = []
    assert to_pixels(image, notes=notes)[0, :, 0].tolist() == [0, 0, 0]
    assert notes == [
        "16-bit values 0..30 map to 1 of 256 levels; use --stretch to use the full range"
    ]


def test_stretch_maps_the_values_own_range_onto_0_to_255():
    image = Image.fromarray(np.array([[100, 115, 130]], np.uint16))
    assert to_pixels(image, stretch=True)[0, :, 0].tolist() == [0, 128, 255]
    assert to_pixels(np.array([[100, 130]], np.uint16), stretch=True)[0, :, 0].tolist() == [0, 255]


def test_a_full_range_or_a_single_value_gives_no_note():
    for values in ([[0, 32768, 65535]], [[500, 500]]):
        notes: list[str] = []
        to_pixels(Image.fromarray(np.array(values, np.uint16)), notes=notes)
        assert notes == []
    assert to_pixels(Image.fromarray(np.array([[500, 500]], np.uint16)), stretch=True).max() == 2


def test_float_nan_becomes_zero_with_a_note_and_no_python_warning():
    image = Image.fromarray(np.array([[np.nan, 200.0, np.inf, -np.inf]], np.float32), "F")
    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pixels = to_pixels(image, notes=notes)
    assert pixels[0, :, 0].tolist() == [0, 200, 255, 0]
    assert notes == ["1 of 4 pixels are NaN (not a number); they became 0"]


def test_float_values_in_zero_to_one_are_reported_and_stretch():
    image = Image.fromarray(np.linspace(0, 1, 11, dtype=np.float32)[None], "F")
    notes: list[str] = []
    assert set(to_pixels(image, notes=notes).ravel().tolist()) == {0, 1}
    assert notes == [
        "float values 0..1 map to 2 of 256 levels; use --stretch to use the full range"
    ]
    assert to_pixels(image, stretch=True)[0, [0, 5, 10], 0].tolist() == [0, 128, 255]


# -- frames ----------------------------------------------------------------------------------


@pytest.fixture
def animated_gif(tmp_path):
    path = tmp_path / "three.gif"
    frames = [Image.new("L", (2, 2), value) for value in (0, 120, 240)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50)
    return path


def test_a_file_with_several_frames_is_reported(animated_gif):
    pixels, notes = read(animated_gif)
    assert pixels.max() == 0
    assert notes == ["has 3 frames; encoding the first (use --frame N)"]


def test_frame_picks_one(animated_gif):
    pixels, notes = read(animated_gif, frame=2)
    assert pixels[..., 0].min() == 240
    assert notes == []


def test_a_frame_past_the_last_is_an_input_error(animated_gif):
    with pytest.raises(InputError, match=r"three.gif: has 3 frames; there is no frame 3"):
        open_image(animated_gif, frame=3)
    with pytest.raises(OptionError):
        open_image(animated_gif, frame=-1)


def test_a_damaged_later_frame_does_not_stop_the_first_from_being_read(tmp_path):
    rng = np.random.default_rng(0)
    frames = [Image.fromarray(rng.integers(0, 255, (32, 32), dtype=np.uint8)) for _ in range(3)]
    whole = tmp_path / "whole.gif"
    frames[0].save(whole, save_all=True, append_images=frames[1:])
    cut = tmp_path / "cut.gif"
    cut.write_bytes(whole.read_bytes()[:2400])  # inside the second frame
    with Image.open(cut) as image, pytest.raises(IndexError):
        image.n_frames  # noqa: B018 -- counting the frames is what fails
    pixels, notes = read(cut)
    assert np.array_equal(pixels, read(whole)[0])
    assert notes == []


# -- what Pillow's plugins raise, warn and write --------------------------------------------

_PREFIX = b"CCODEC-TEST-PLUGIN"
_ERRORS = {
    error.__name__ if error is not struct.error else "struct.error": error
    for error in (
        NotImplementedError,
        struct.error,
        IndexError,
        ZeroDivisionError,
        TypeError,
        KeyError,
        SyntaxError,
        EOFError,
    )
}


class _Misbehaving(ImageFile.ImageFile):
    """A format whose loader does what the file's second line says."""

    format = "MISBEHAVING"

    def _open(self) -> None:
        self.fp.readline()
        self.what = self.fp.readline().strip().decode()
        self._mode = "L"
        self._size = (2, 1)

    def load(self):
        what = self.what
        if what.startswith("raise "):
            raise _ERRORS[what[6:]]("the plugin failed")
        if what.startswith("warn "):
            warnings.warn(what[5:], UserWarning, stacklevel=1)
        if what.startswith("write "):
            os.write(2, b"tempfile.tif: " + what[6:].encode() + b"\n" + what[6:].encode() + b"\n")
        if what == "write-and-fail":
            os.write(2, b"TIFFFillStrip: Read error on strip 0\n")
            raise OSError("decoder error -2")
        self.im = Image.core.fill("L", (2, 1), 7)
        return super().load()


@pytest.fixture
def misbehaving(tmp_path):
    Image.register_open(_Misbehaving.format, _Misbehaving, lambda prefix: prefix == _PREFIX[:16])
    try:

        def make(what: str):
            path = tmp_path / f"file-{len(list(tmp_path.iterdir()))}.img"
            path.write_bytes(_PREFIX + b"\n" + what.encode() + b"\n")
            return path

        yield make
    finally:
        Image.OPEN.pop(_Misbehaving.format, None)
        Image.ID.remove(_Misbehaving.format)


@pytest.mark.parametrize("error", sorted(_ERRORS))
def test_what_pillow_openers_raise_is_an_input_error(misbehaving, error):
    path = misbehaving(f"raise {error}")
    with pytest.raises(InputError, match="cannot read image: .*the plugin failed"):
        open_image(path)


def test_pillow_warnings_are_notes_not_printed(misbehaving, recwarn):
    _, notes = read(misbehaving("warn Image was not the expected size"))
    assert notes == ["Pillow: Image was not the expected size"]
    _, notes = read(misbehaving("warn Tag data larger than file. Skipping tag 42112"))
    assert notes == []  # about metadata ccodec does not keep
    assert len(recwarn) == 0


def test_c_level_messages_become_one_note_when_captured(misbehaving, capfd):
    _, notes = read(misbehaving("write Bad code word at line 27"), capture_stderr=True)
    assert notes == ["the decoder said: Bad code word at line 27 (and 1 more message)"]
    assert capfd.readouterr().err == ""


def test_c_level_messages_join_the_error_when_reading_fails(misbehaving, capfd):
    with pytest.raises(InputError) as caught:
        open_image(misbehaving("write-and-fail"), capture_stderr=True)
    assert str(caught.value).endswith(
        "cannot read image: decoder error -2 (the decoder said: TIFFFillStrip: Read error on "
        "strip 0)"
    )
    assert capfd.readouterr().err == ""


def test_c_level_messages_pass_through_unless_captured(misbehaving, capfd):
    _, notes = read(misbehaving("write something"))
    assert notes == []
    assert "something" in capfd.readouterr().err
