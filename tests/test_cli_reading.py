"""What the command says about its input: one ``ccodec: warning:`` line per lossy or
doubtful step in reading it, one ``ccodec: error:`` line when it cannot, never a traceback."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image, features

from ccodec.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def warnings_of(result: Result) -> list[str]:
    lines = result.stderr.splitlines()
    assert all(line.startswith("ccodec: warning: ") for line in lines), result.stderr
    return [line.removeprefix("ccodec: warning: ") for line in lines]


def assert_one_error(result: Result, fragment: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("ccodec: error: ")
    assert result.stderr.count("\n") == 1
    assert fragment in result.stderr


@pytest.fixture
def animated_gif(tmp_path) -> Path:
    path = tmp_path / "three.gif"
    frames = [Image.new("L", (4, 4), value) for value in (0, 120, 240)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50)
    return path


@pytest.fixture
def narrow_tiff(tmp_path) -> Path:
    """A 16-bit grey TIFF using only values 0..30, as a 12-bit scan's dark corner does."""
    path = tmp_path / "narrow.tif"
    Image.fromarray(np.arange(31, dtype=np.uint16).reshape(1, 31)).save(path)
    return path


def test_encode_says_which_frame_it_took(animated_gif, tmp_path):
    result = run("encode", animated_gif, tmp_path / "a.ccz", "-k", 4)
    assert result.exit_code == 0, result.output
    assert warnings_of(result) == [
        f"{animated_gif}: has 3 frames; encoding the first (use --frame N)"
    ]


def test_a_batch_prints_the_warning_and_the_files_line(animated_gif, tmp_path):
    result = run("encode", animated_gif, "-k", 4, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert warnings_of(result) == [
        f"{animated_gif}: has 3 frames; encoding the first (use --frame N)"
    ]
    assert f"{tmp_path / 'out' / 'three.ccz'}: 4x4 RGB, K=1" in result.stdout


def test_encode_and_stats_take_a_frame(animated_gif, tmp_path):
    result = run("encode", animated_gif, tmp_path / "a.ccz", "-k", 4, "--frame", 2)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    with Image.open(tmp_path / "a.ccz") as decoded:
        assert np.asarray(decoded.convert("L")).min() == 240
    result = run("stats", animated_gif, "-k", 2, "--frame", 1)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_a_frame_past_the_last_is_one_error_line(animated_gif, tmp_path):
    result = run("encode", animated_gif, tmp_path / "a.ccz", "-k", 4, "--frame", 3)
    assert_one_error(result, "has 3 frames; there is no frame 3")
    assert not (tmp_path / "a.ccz").exists()


def test_a_narrow_16_bit_range_is_a_warning_and_stretch_uses_the_full_range(narrow_tiff, tmp_path):
    result = run("encode", narrow_tiff, tmp_path / "n.ccz", "-k", 8)
    assert result.exit_code == 0, result.output
    assert warnings_of(result) == [
        f"{narrow_tiff}: 16-bit values 0..30 map to 1 of 256 levels; "
        "use --stretch to use the full range"
    ]
    result = run("encode", narrow_tiff, tmp_path / "s.ccz", "-k", 8, "--stretch")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "K=8," in result.stdout
    with Image.open(tmp_path / "s.ccz") as decoded:
        grey = np.asarray(decoded.convert("L"))
    assert grey.min() < 20 and grey.max() > 235


def test_stats_warns_and_stretches_too(narrow_tiff):
    result = run("stats", narrow_tiff, "-k", 2)
    assert result.exit_code == 0, result.output
    assert len(warnings_of(result)) == 1
    assert "1 of 256 levels" in result.stderr
    assert " inf " in result.stdout.splitlines()[-1]  # one level is exact, hence the warning
    result = run("stats", narrow_tiff, "-k", 2, "--stretch")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert " inf " not in result.stdout.splitlines()[-1]


def test_frame_and_stretch_on_a_ccz_need_original(tmp_path, narrow_tiff):
    ccz = tmp_path / "n.ccz"
    assert run("encode", narrow_tiff, ccz, "-k", 8, "--stretch", "-q").exit_code == 0
    assert_one_error(run("stats", ccz, "--stretch"), "--stretch applies to an image")
    result = run("stats", ccz, "--original", narrow_tiff, "--stretch", "--json")
    assert result.exit_code == 0, result.output
    assert '"psnr_db": null' not in result.stdout


def test_a_float_tiff_with_nan_is_one_warning_line(tmp_path):
    path = tmp_path / "nan.tif"
    Image.fromarray(np.array([[np.nan, 10.0], [200.0, 255.0]], np.float32), "F").save(path)
    result = run("encode", path, tmp_path / "f.ccz", "-k", 4)
    assert result.exit_code == 0, result.output
    assert warnings_of(result) == [f"{path}: 1 of 4 pixels are NaN (not a number); they became 0"]


def test_a_png_colour_key_is_kept_as_alpha(tmp_path):
    path = tmp_path / "keyed.png"
    pixels = np.zeros((4, 4, 3), np.uint8)
    pixels[:2] = 200
    Image.fromarray(pixels).save(path, transparency=(200, 200, 200))
    result = run("encode", path, tmp_path / "k.ccz", "-k", 4)
    assert result.exit_code == 0, result.output
    assert " RGBA, " in result.stdout
    with Image.open(tmp_path / "k.ccz") as decoded:
        alpha = np.asarray(decoded.convert("RGBA"))[..., 3]
    assert alpha[:2].max() == 0 and alpha[2:].min() == 255


def _dds_of_an_unknown_pixel_format() -> bytes:
    """A DDS header whose pixel format has no flag Pillow knows: its opener raises
    NotImplementedError (as Pillow's Tests/images/unimplemented_pixel_format.dds)."""
    header = struct.pack("<7I", 124, 0x1007, 4, 4, 16, 0, 0) + bytes(44)
    pixel_format = struct.pack("<8I", 32, 0, 0, 0, 0, 0, 0, 0)
    return b"DDS " + header + pixel_format + struct.pack("<5I", 0x1000, 0, 0, 0, 0) + bytes(64)


@pytest.mark.parametrize("command", ["encode", "stats"])
def test_a_pillow_opener_raising_not_implemented_is_one_error_line(tmp_path, command):
    path = tmp_path / "odd.dds"
    path.write_bytes(_dds_of_an_unknown_pixel_format())
    with pytest.raises(NotImplementedError):
        Image.open(path)
    args = [path, tmp_path / "o.ccz", "-k", 4] if command == "encode" else [path, "-k", 2]
    assert_one_error(run(command, *args), f"{path}: cannot read image: ")


def _fax_tiff_with_a_damaged_strip() -> bytes:
    rng = np.random.default_rng(1)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 2, (64, 64)).astype(bool)).save(
        buffer, "TIFF", compression="group4"
    )
    data = bytearray(buffer.getvalue())
    with Image.open(io.BytesIO(bytes(data))) as image:
        start, length = image.tag_v2[273][0], image.tag_v2[279][0]
    for index in range(start + 10, start + length):
        data[index] ^= 0xFF
    return bytes(data)


@pytest.mark.skipif(not features.check("libtiff"), reason="Pillow built without libtiff")
@pytest.mark.parametrize("command", ["encode", "stats"])
def test_libtiff_messages_become_one_warning_line(tmp_path, command):
    path = tmp_path / "damaged.tif"
    path.write_bytes(_fax_tiff_with_a_damaged_strip())
    args = [path, tmp_path / "o.ccz", "-k", 2] if command == "encode" else [path, "-k", 2]
    done = subprocess.run(
        [sys.executable, "-m", "ccodec", command, *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"ccodec: warning: {path}: the decoder said: Fax4Decode: ")
