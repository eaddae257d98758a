"""ccodec encode --map IMAGE and --shared-palette, and the MSE the command reports with alpha."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

import ccodec
from ccodec.cli import main

METHODS = ["none", "floyd-steinberg", "ordered"]


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_ok(result: Result) -> None:
    assert result.exit_code == 0, result.output
    assert result.exception is None


def assert_failed(result: Result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    last = result.stderr.splitlines()[-1]
    assert last.startswith("ccodec: error: ")
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def _save(path: Path, seed: int, mode: str = "RGB", size=(24, 32)) -> Path:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[0], 0 : size[1]]
    pixels = np.stack([x * 7 + seed * 40, y * 6, (x + y) * 3, 60 + x * 6], -1) % 256
    pixels = (pixels + rng.integers(0, 20, pixels.shape)) % 256
    pixels = pixels.astype(np.uint8)
    if mode == "RGB":
        image = Image.fromarray(pixels[..., :3], "RGB")
    elif mode == "RGBA":
        pixels[:, :5, 3] = 0
        image = Image.fromarray(pixels, "RGBA")
    else:
        image = Image.fromarray(pixels[..., 0], "L")
    image.save(path)
    return path


def _decoded(path: Path) -> ccodec.Quantized:
    return ccodec.decode(path.read_bytes())


def _pixels(path: Path) -> np.ndarray:
    return ccodec.to_pixels(Image.open(path))


# -- --map -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_map_to_a_palette_image_keeps_its_palette_with_every_dither(tmp_path, method):
    source = _save(tmp_path / "in.png", 1)
    palette_image = ccodec.quantize_image(Image.open(_save(tmp_path / "p.png", 2)), 8)
    palette_image.save(tmp_path / "map.png")
    result = run(
        "encode", source, "--map", tmp_path / "map.png", "--dither", method, tmp_path / "o.ccz"
    )
    assert_ok(result)
    q = _decoded(tmp_path / "o.ccz")
    expected = ccodec.remap(_pixels(source), ccodec.palette_of(palette_image), method)
    assert q == expected and np.array_equal(q.palette, expected.palette)
    assert "K=8" in result.output


def test_map_to_a_ccz_file_uses_its_palette_in_order(tmp_path):
    assert_ok(run("encode", _save(tmp_path / "p.png", 2, "RGBA"), "-k", 6, tmp_path / "p.ccz"))
    source = _save(tmp_path / "in.png", 1)
    assert_ok(run("encode", source, "--map", tmp_path / "p.ccz", tmp_path / "o.ccz"))
    assert np.array_equal(
        _decoded(tmp_path / "o.ccz").palette, _decoded(tmp_path / "p.ccz").palette
    )


def test_map_to_an_rgb_image_uses_its_distinct_colours(tmp_path):
    colours = np.array([[[0, 0, 0], [255, 0, 0]], [[0, 0, 255], [0, 0, 0]]], np.uint8)
    Image.fromarray(colours).save(tmp_path / "map.png")
    source = _save(tmp_path / "in.png", 3)
    assert_ok(run("encode", source, "--map", tmp_path / "map.png", tmp_path / "o.ccz"))
    assert sorted(_decoded(tmp_path / "o.ccz").palette.tolist()) == sorted(
        [[0, 0, 0], [255, 0, 0], [0, 0, 255]]
    )


def test_map_grey_image_onto_rgba_palette_gives_rgba(tmp_path):
    palette = Image.fromarray(np.array([[[0, 0, 0, 0], [250, 250, 250, 255]]], np.uint8), "RGBA")
    palette.save(tmp_path / "map.png")
    source = _save(tmp_path / "in.png", 4, "L")
    assert_ok(run("encode", source, "--map", tmp_path / "map.png", tmp_path / "o.ccz"))
    q = _decoded(tmp_path / "o.ccz")
    assert q.mode == "RGBA" and set(np.unique(q.labels)) <= {0, 1}


def test_map_in_a_batch_with_jobs_gives_every_file_the_palette(tmp_path):
    inputs = [_save(tmp_path / f"{n}.png", n) for n in range(3)]
    Image.fromarray(np.array([[[9, 9, 9], [200, 100, 50]]], np.uint8)).save(tmp_path / "m.png")
    assert_ok(run("encode", *inputs, "--map", tmp_path / "m.png", "-o", tmp_path / "out", "-j", 2))
    for n in range(3):
        q = _decoded(tmp_path / "out" / f"{n}.ccz")
        assert sorted(q.palette.tolist()) == [[9, 9, 9], [200, 100, 50]]


def _png_without_palette(path: Path) -> Path:
    """A colour-type-3 PNG with no PLTE chunk: Pillow opens it as P with no palette."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 2, 2, 8, 3, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00" * 2)) + chunk(b"IEND", b"")
    )  # fmt: skip
    return path


def test_map_image_with_no_colours_is_an_error(tmp_path):
    source = _save(tmp_path / "in.png", 1)
    empty = _png_without_palette(tmp_path / "empty.png")
    result = run("encode", source, "--map", empty, tmp_path / "o.ccz")
    assert_failed(result, 1, "--map", "empty palette: no colours to map to")
    assert not (tmp_path / "o.ccz").exists()


def test_map_image_with_too_many_colours_is_an_error(tmp_path):
    values = np.arange(65537, dtype=np.uint32)
    rgb = np.stack([values & 255, (values >> 8) & 255, values >> 16], -1).astype(np.uint8)
    Image.fromarray(rgb.reshape(1, -1, 3)).save(tmp_path / "many.png")
    result = run(
        "encode", _save(tmp_path / "in.png", 1), "--map", tmp_path / "many.png", tmp_path / "o.ccz"
    )
    assert_failed(result, 1, "65,537 colours; a palette holds at most 65,536")
    assert not (tmp_path / "o.ccz").exists()


def test_map_image_that_is_no_image_is_an_error(tmp_path):
    (tmp_path / "junk.png").write_bytes(b"junk")
    result = run(
        "encode", _save(tmp_path / "in.png", 1), "--map", tmp_path / "junk.png", tmp_path / "o.ccz"
    )
    assert_failed(result, 1, "--map ", "junk.png: not an image")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-k", "4"], "--map takes its colours from IMAGE"),
        (["--max-mse", "0.01"], "--map takes its colours from IMAGE"),
        (["--quality", "50-80"], "--map takes its colours from IMAGE"),
        (["--shared-palette"], "give --map or --shared-palette, not both"),
    ],
)
def test_map_refuses_options_it_excludes(tmp_path, extra, message):
    source = _save(tmp_path / "in.png", 1)
    result = run("encode", source, "--map", source, *extra, tmp_path / "o.ccz")
    assert_failed(result, 2, message)


# -- --shared-palette ----------------------------------------------------------------------------


def test_shared_palette_gives_every_file_one_palette_with_jobs(tmp_path):
    inputs = [_save(tmp_path / f"{n}.png", n) for n in range(4)]
    outputs = []
    for jobs, folder in [(1, "one"), (2, "two")]:
        result = run(
            "encode", *inputs, "-k", 12, "--shared-palette", "-o", tmp_path / folder, "-j", jobs
        )
        assert_ok(result)
        outputs.append([_decoded(tmp_path / folder / f"{n}.ccz") for n in range(4)])
    expected = ccodec.quantize_many([Image.open(p) for p in inputs], 12)
    for one, two, want in zip(*outputs, expected, strict=True):
        assert one == two == want
        assert np.array_equal(one.palette, want.palette) and np.array_equal(
            two.palette, want.palette
        )


@pytest.mark.parametrize("method", METHODS)
def test_shared_palette_with_dither_and_mixed_modes(tmp_path, method):
    inputs = [_save(tmp_path / "a.png", 1, "L"), _save(tmp_path / "b.png", 2, "RGBA")]
    assert_ok(
        run(
            "encode", *inputs, "-k", 8, "--shared-palette", "--dither", method, "-o", tmp_path / "o"
        )
    )
    expected = ccodec.quantize_many([Image.open(p) for p in inputs], 8, dither=method)
    results = [_decoded(tmp_path / "o" / name) for name in ("a.ccz", "b.ccz")]
    assert results == expected
    assert all(q.mode == "RGBA" for q in results)  # the widest of L and RGBA


def test_shared_palette_with_a_broken_file_writes_nothing(tmp_path):
    good = [_save(tmp_path / f"{n}.png", n) for n in range(2)]
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    result = run(
        "encode",
        good[0],
        tmp_path / "broken.png",
        good[1],
        "-k",
        8,
        "--shared-palette",
        "-o",
        tmp_path / "o",
    )
    assert_failed(result, 1, "broken.png", "--shared-palette needs every input: 1 of 3 files")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["IN", "OUT.ccz", "-k", "4", "--shared-palette"], "--shared-palette is for several files"),
        (["IN", "-o", "DIR", "--max-mse", "0.01", "--shared-palette"], "not a quality target"),
        (["IN", "-o", "DIR", "--quality", "50-80", "--shared-palette"], "not a quality target"),
    ],
)
def test_shared_palette_usage_errors(tmp_path, args, message):
    source = _save(tmp_path / "in.png", 1)
    names = {"IN": source, "OUT.ccz": tmp_path / "o.ccz", "DIR": tmp_path / "d"}
    assert_failed(run("encode", *[names.get(a, a) for a in args]), 2, message)


# -- the MSE the command reports -------------------------------------------------------------


def test_reported_mse_ignores_colour_under_alpha_0(tmp_path):
    source = _save(tmp_path / "in.png", 5, "RGBA")
    result = run("encode", source, "-k", 256, tmp_path / "o.ccz")
    assert_ok(result)
    reported = float(re.search(r"MSE ([0-9.]+)", result.output).group(1))
    pixels, q = _pixels(source), _decoded(tmp_path / "o.ccz")
    visible = ccodec.mse(pixels, q.to_array(), ignore_transparent=True)
    assert reported == pytest.approx(visible, abs=1e-6)
    assert ccodec.mse(pixels, q.to_array()) > visible + 1e-3
