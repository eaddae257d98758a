"""Issue 13's smaller CLI defects: inputs read once, outputs named as folders, GIF from RGBA,
--quality per writer, one exit-status rule, progress for long quantizations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import ccodec
from ccodec.cli import main

ROOT = Path(__file__).resolve().parents[1]


def ccodec_process(*args: object, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "ccodec", *map(str, args)],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=60,
    )


@pytest.fixture
def rgba_pixels() -> np.ndarray:
    pixels = np.random.default_rng(3).integers(0, 256, (10, 12, 4), dtype=np.uint8)
    pixels[..., 3] = np.where(pixels[..., 3] < 100, 0, 255)
    return pixels


@pytest.fixture
def png_file(tmp_path, rgba_pixels) -> Path:
    path = tmp_path / "a.png"
    Image.fromarray(rgba_pixels[..., :3]).save(path)
    return path


@pytest.fixture
def ccz_file(tmp_path, png_file) -> Path:
    path = tmp_path / "a.ccz"
    path.write_bytes(ccodec.encode(np.asarray(Image.open(png_file)), 4))
    return path


# -- 8a: an input that can be read only once -----------------------------------------------


@pytest.mark.parametrize("name", ["/dev/stdin", "-"])
def test_stats_reads_a_ccz_from_a_pipe(ccz_file, name):
    done = ccodec_process("stats", name, stdin=ccz_file.read_bytes())
    assert done.returncode == 0, done.stderr
    assert b".ccz file" in done.stdout
    assert b"K               4" in done.stdout


@pytest.mark.parametrize("name", ["/dev/stdin", "-"])
def test_stats_reads_an_image_from_a_pipe(png_file, name):
    done = ccodec_process("stats", name, "-k", "2", stdin=png_file.read_bytes())
    assert done.returncode == 0, done.stderr
    size = f"{png_file.stat().st_size:,} file bytes".encode()
    assert size in done.stdout


def test_decode_and_encode_read_dev_stdin_from_a_pipe(tmp_path, png_file, ccz_file):
    decoded = ccodec_process(
        "decode", "/dev/stdin", tmp_path / "d.png", stdin=ccz_file.read_bytes()
    )
    assert decoded.returncode == 0, decoded.stderr
    encoded = ccodec_process(
        "encode", "/dev/stdin", "-k", "2", tmp_path / "e.ccz", stdin=png_file.read_bytes()
    )
    assert encoded.returncode == 0, encoded.stderr
    assert ccodec.decode((tmp_path / "e.ccz").read_bytes()).k == 2


# -- 8b: an output named as a folder -------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["encode", "{png}", "-k", "2", "{out}"],
        ["decode", "{ccz}", "{out}", "--format", "png"],
        ["stats", "{png}", "-k", "2", "--sheet", "{out}"],
    ],
)
@pytest.mark.parametrize("name", ["newdir/", "new.png/"])
def test_an_output_ending_in_a_slash_is_refused_not_made_a_file(
    tmp_path, png_file, ccz_file, args, name
):
    out = tmp_path / name.rstrip("/")
    given = [a.format(png=png_file, ccz=ccz_file, out=f"{out}/") for a in args]
    result = CliRunner().invoke(main, given)
    assert result.exit_code == 1, result.output
    # Refused by the name check, or earlier by its extension (encode: .png; --sheet: none).
    assert f"folder {out} does not exist" in result.output or "writes" in result.output
    assert len(result.output.splitlines()) == 1
    assert not out.exists()


def test_decode_to_a_file_name_with_a_slash_is_refused(tmp_path, ccz_file, png_file):
    result = CliRunner().invoke(main, ["decode", str(ccz_file), f"{png_file}/", "--force"])
    assert result.exit_code == 1, result.output
    assert f"{png_file} is not a folder" in result.output
    assert Image.open(png_file).size == (12, 10)  # not replaced


# -- 8c: RGBA to GIF -----------------------------------------------------------------------


def _alpha_ccz(folder: Path, alpha: list[int]) -> Path:
    colours = np.array([[200, 10, 10], [10, 200, 10], [10, 10, 200], [90, 90, 90]], np.uint8)
    palette = np.column_stack([colours[: len(alpha)], alpha]).astype(np.uint8)
    labels = np.random.default_rng(4).integers(0, len(alpha), (9, 11)).astype(np.uint8)
    path = folder / "alpha.ccz"
    path.write_bytes(ccodec.encode_quantized(ccodec.Quantized(palette, labels)))
    return path


def test_rgba_to_gif_with_one_transparent_colour_is_exact(tmp_path):
    source = _alpha_ccz(tmp_path, [255, 0, 255, 255])
    result = CliRunner().invoke(main, ["decode", str(source), str(tmp_path / "a.gif")])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "a.gif") as image:
        pixels = np.asarray(image.convert("RGBA"))
    assert np.array_equal(pixels, ccodec.decode(source.read_bytes()).to_array())


def test_rgba_to_gif_with_partial_alpha_says_why_in_one_line(tmp_path):
    source = _alpha_ccz(tmp_path, [255, 0, 128, 30])
    result = CliRunner().invoke(main, ["decode", str(source), str(tmp_path / "a.gif")])
    assert result.exit_code == 1
    assert "GIF keeps one fully transparent colour" in result.output
    assert "operand" not in result.output
    assert len(result.output.splitlines()) == 1
    assert not (tmp_path / "a.gif").exists()


# -- 8d: --quality per writer --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "quality", "message"),
    [
        ("o.webp", 101, "quality=101 should be an integer in 0..100 for WEBP"),
        ("o.webp", -1, "quality=-1 should be an integer in 0..100 for WEBP"),
        ("o.jpg", 96, "quality=96 should be an integer in 1..95 for JPEG"),
        ("o.tiff", 50, "--quality applies to jpeg, webp and avif output; the tiff writer takes"),
        ("o.png", 50, "--quality applies to jpeg, webp and avif output; the png writer takes"),
        ("o.ccz", 50, "--quality applies to jpeg, webp and avif output; the ccz writer takes"),
    ],
)
def test_decode_quality_is_checked_per_writer(tmp_path, ccz_file, name, quality, message):
    result = CliRunner().invoke(
        main, ["decode", str(ccz_file), str(tmp_path / name), "--quality", str(quality)]
    )
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert len(result.output.splitlines()) == 1
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("quality", [0, 100])
def test_decode_webp_takes_quality_0_to_100(tmp_path, ccz_file, quality):
    out = tmp_path / "o.webp"
    result = CliRunner().invoke(
        main, ["decode", str(ccz_file), str(out), "--quality", str(quality)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[12:16] == b"VP8 "


# -- 8e: one exit-status rule --------------------------------------------------------------


@pytest.fixture
def unreadable(monkeypatch, tmp_path, ccz_file):
    """`ccz_file`, unreadable even for root: click's check (os.access) and open() both fail."""
    real_access, real_open = os.access, open

    def access(path, mode, *args, **kwargs):
        if os.fspath(path) == str(ccz_file) and mode & os.R_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    def refuse(path, *args, **kwargs):
        if os.fspath(path) == str(ccz_file):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(ccodec.images, "open", refuse, raising=False)
    return ccz_file


@pytest.mark.parametrize(
    "args",
    [
        ["encode", "{f}", "-k", "2", "{out}.ccz"],
        ["encode", "{f}", "-k", "2", "-o", "{out}"],
        ["decode", "{f}", "{out}.png"],
        ["stats", "{f}"],
        ["stats", "{png}", "-k", "2", "--sheet", "{f}", "--force"],
    ],
)
def test_an_unreadable_file_is_exit_1_for_every_command(tmp_path, unreadable, png_file, args):
    given = [a.format(f=unreadable, out=tmp_path / "out", png=png_file) for a in args]
    result = CliRunner().invoke(main, given)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("ccodec: error: ") or "1 failed" in result.output


def test_o_naming_a_file_is_exit_1(tmp_path, png_file):
    result = CliRunner().invoke(main, ["encode", str(png_file), "-k", "2", "-o", str(png_file)])
    assert result.exit_code == 1, result.output
    assert "-o needs a folder" in result.output


def test_a_malformed_command_line_is_exit_2(png_file):
    assert CliRunner().invoke(main, ["encode", str(png_file), "-k", "0", "x.ccz"]).exit_code == 2
    assert CliRunner().invoke(main, ["decode", str(png_file)]).exit_code == 2
    assert "Exit status: 0 done; 1 " in CliRunner().invoke(main, ["--help"]).output


# -- 8f: progress for long quantizations ---------------------------------------------------


@pytest.fixture
def photo() -> np.ndarray:
    """Many distinct colours, so that k-means runs on several levels."""
    with Image.open(ROOT / "ccodec" / "data" / "astronaut.png") as image:
        return np.asarray(image.convert("RGB"))[:96, :128]


@pytest.mark.parametrize("k", [16, 300, 1500])
def test_quantize_reports_rising_progress_and_the_same_result(photo, k):
    seen: list[float] = []
    q = ccodec.quantize(photo, k, on_progress=seen.append)
    assert q == ccodec.quantize(photo, k)
    assert len(seen) >= 4  # the start, each level, the end
    assert seen == sorted(seen) and seen[0] > 0 and seen[-1] == 1.0


def test_quantize_of_few_colours_reports_done():
    seen: list[float] = []
    ccodec.quantize(np.zeros((2, 2, 3), np.uint8), 4, on_progress=seen.append)
    assert seen == [1.0]


def test_encode_draws_a_quantizing_bar_and_writes_the_same_bytes(tmp_path, photo, monkeypatch):
    import contextlib

    from ccodec import cli

    source = tmp_path / "photo.png"
    Image.fromarray(photo).save(source)
    plain = tmp_path / "plain.ccz"
    assert CliRunner().invoke(main, ["encode", str(source), "-k", "64", str(plain)]).exit_code == 0
    bars = []

    @contextlib.contextmanager
    def fake_progress(total, label):
        bars.append([total, label, 0])
        yield lambda: bars[-1].__setitem__(2, bars[-1][2] + 1)

    monkeypatch.setattr(cli, "progress", fake_progress)
    monkeypatch.setattr(cli, "PROGRESS_AFTER_SECONDS", 0.0)
    drawn = tmp_path / "drawn.ccz"
    result = CliRunner().invoke(main, ["encode", str(source), "-k", "64", str(drawn)])
    assert result.exit_code == 0, result.output
    assert bars == [[100, "quantizing", 100]]
    assert drawn.read_bytes() == plain.read_bytes()


def test_encode_help_says_what_large_k_costs():
    help_text = " ".join(CliRunner().invoke(main, ["encode", "--help"]).output.split())
    assert "Time grows with K times the image's distinct colours" in help_text
