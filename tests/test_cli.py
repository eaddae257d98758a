"""The ccodec command, through click's CliRunner: every path and every error."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image, PngImagePlugin

import ccodec
from ccodec import batch, cli, images
from ccodec.cli import main

SUMMARY = re.compile(
    r"^(?P<name>\S+): (?P<w>\d+)x(?P<h>\d+) (?P<mode>\w+), K=(?P<k>\d+), MSE (?P<mse>[\d.]+), "
    r"PSNR (?P<psnr>[\d.]+|inf) dB, (?P<bytes>[\d,]+) bytes, (?P<bpp>[\d.]+) bpp$"
)


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def load(path: Path) -> tuple[str, tuple[int, int], np.ndarray]:
    """Format, size and RGB pixels of an image file, closed again."""
    with Image.open(path) as image:
        return image.format, image.size, np.asarray(image.convert("RGB"))


def assert_ok(result: Result) -> None:
    assert result.exit_code == 0, result.output
    assert result.exception is None


def assert_error(result: Result, *fragments: str, code: int = 1) -> None:
    """One `ccodec: error:` line on stderr (after click's usage line for code 2), no
    traceback, nothing on stdout."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    if code == 1 or code == 130:
        assert result.stderr.startswith("ccodec: error: ")
        assert result.stderr.count("\n") == 1
        message = result.stderr
    else:
        message = result.stderr.splitlines()[-1]
        assert message.startswith("ccodec: error: ")
        assert "Error: " not in result.stderr
    for fragment in fragments:
        assert fragment in message, message


@pytest.fixture
def ccz_file(image_file, tmp_path) -> Path:
    out = tmp_path / "in.ccz"
    assert_ok(run("encode", image_file(), out, "-k", 8, "-q"))
    return out


# -- top level ---------------------------------------------------------------------------


def test_version():
    result = run("--version")
    assert_ok(result)
    assert result.output == f"ccodec, version {ccodec.__version__}\n"


@pytest.mark.parametrize("command", [[], ["encode"], ["decode"], ["stats"], ["writers"]])
def test_help(command):
    result = run(*command, "--help")
    assert_ok(result)
    assert result.output.startswith(f"Usage: ccodec {' '.join(command)}".rstrip())


def test_decode_help_says_jpeg_is_lossy():
    assert "JPEG is lossy" in run("decode", "--help").output


def test_python_dash_m():
    result = subprocess.run(
        [sys.executable, "-m", "ccodec", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: ccodec ")
    assert "encode" in result.stdout


def test_no_command_shows_usage():
    result = run()
    assert result.exit_code in (0, 2)
    assert "Usage: ccodec" in result.output


# -- encode ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_encode_writes_a_ccz_and_prints_one_summary_line(image_file, tmp_path, mode):
    source = image_file(mode=mode)
    out = tmp_path / "out.ccz"
    result = run("encode", source, out, "-k", 16)
    assert_ok(result)
    assert result.stderr == ""
    match = SUMMARY.match(result.stdout.rstrip("\n"))
    assert match, result.stdout
    assert result.stdout.count("\n") == 1
    q = ccodec.decode(out.read_bytes())
    size = out.stat().st_size
    assert (match["name"], match["mode"], match["w"], match["h"]) == (str(out), mode, "24", "16")
    assert int(match["k"]) == q.k == 16
    assert int(match["bytes"].replace(",", "")) == size
    assert float(match["bpp"]) == pytest.approx(8 * size / (24 * 16), abs=1e-3)
    pixels = ccodec.to_pixels(ccodec.open_image(source))
    error = ccodec.mse(pixels, q.to_array())
    assert float(match["mse"]) == pytest.approx(error, abs=1e-6)
    assert float(match["psnr"]) == pytest.approx(ccodec.psnr(error), abs=0.01)


def test_encode_matches_the_library(image_file, tmp_path):
    source = image_file()
    out = tmp_path / "out.ccz"
    assert_ok(run("encode", "-k", 5, "--seed", 3, "--max-iter", 7, "--level", 3, source, out))
    expected = ccodec.encode(ccodec.open_image(source), 5, seed=3, max_iter=7, level=3)
    assert out.read_bytes() == expected


def test_encode_is_deterministic(image_file, tmp_path):
    source = image_file(size=(64, 48))
    assert_ok(run("encode", source, "-k", 16, tmp_path / "a.ccz"))
    assert_ok(run("encode", source, tmp_path / "b.ccz", "--colors", 16))
    assert (tmp_path / "a.ccz").read_bytes() == (tmp_path / "b.ccz").read_bytes()


def test_encode_quiet_prints_nothing(image_file, tmp_path):
    result = run("encode", image_file(), tmp_path / "out.ccz", "-k", 4, "-q")
    assert_ok(result)
    assert result.output == ""
    assert (tmp_path / "out.ccz").exists()


def test_encode_exact_image_reports_infinite_psnr(tmp_path):
    source = tmp_path / "flat.png"
    Image.new("RGB", (4, 4), (10, 20, 30)).save(source)
    result = run("encode", source, tmp_path / "out.ccz", "-k", 2)
    assert_ok(result)
    assert "K=1, MSE 0.000000, PSNR inf dB" in result.output


def test_encode_reads_a_ccz_input(ccz_file, tmp_path):
    result = run("encode", ccz_file, tmp_path / "again.ccz", "-k", 8)
    assert_ok(result)
    assert "MSE 0.000000" in result.output  # 8 colours re-quantized to 8: exact


def test_encode_force_overwrites(image_file, tmp_path):
    out = tmp_path / "out.ccz"
    out.write_bytes(b"old")
    assert_error(run("encode", image_file(), out, "-k", 4), "already exists", "--force")
    assert out.read_bytes() == b"old"
    assert_ok(run("encode", image_file(), out, "-k", 4, "-f"))
    assert ccodec.decode(out.read_bytes()).k == 4


def test_encode_force_keeps_the_replaced_files_permissions(image_file, tmp_path):
    """A private file must not become world-readable by being overwritten."""
    out = tmp_path / "secret.ccz"
    out.write_bytes(b"old")
    out.chmod(0o600)
    assert_ok(run("encode", image_file(), out, "-k", 8, "--force", "-q"))
    assert out.stat().st_mode & 0o777 == 0o600
    assert ccodec.decode(out.read_bytes()).k == 8


@pytest.mark.parametrize("k", ["0", str(ccodec.MAX_COLORS + 1), "-1", "abc", "1.5"])
def test_encode_k_out_of_range_is_a_usage_error(image_file, tmp_path, k):
    result = run("encode", image_file(), tmp_path / "out.ccz", f"-k={k}")
    assert_error(result, "-k", code=2)
    assert not (tmp_path / "out.ccz").exists()


def test_encode_k_defaults_to_256_as_pngquant(tmp_path):
    source = tmp_path / "in.png"
    pixels = np.random.default_rng(3).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(source)
    assert_ok(run("encode", source, tmp_path / "d.ccz", "-q"))
    assert_ok(run("encode", source, tmp_path / "k.ccz", "-k", 256, "-q"))
    assert (tmp_path / "d.ccz").read_bytes() == (tmp_path / "k.ccz").read_bytes()
    assert ccodec.decode((tmp_path / "d.ccz").read_bytes()).k == 256


@pytest.mark.parametrize(
    ("option", "value"), [("--seed", "-1"), ("--max-iter", "0"), ("--level", "23")]
)
def test_encode_other_options_out_of_range(image_file, tmp_path, option, value):
    assert_error(run("encode", image_file(), tmp_path / "o.ccz", "-k", 2, option, value), code=2)


def test_encode_missing_input(tmp_path):
    missing = tmp_path / "missing.png"
    assert_error(run("encode", missing, tmp_path / "o.ccz", "-k", 4), f"{missing}: no such file")
    assert os.listdir(tmp_path) == []


def test_encode_input_is_a_directory(tmp_path):
    assert_error(run("encode", tmp_path, tmp_path / "o.ccz", "-k", 4), "is a directory")


def test_encode_input_is_not_an_image(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert_error(run("encode", text, tmp_path / "o.ccz", "-k", 4), "notes.txt", "not an image")
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_encode_input_is_a_truncated_image(image_file, tmp_path):
    source = image_file()
    source.write_bytes(source.read_bytes()[:60])
    assert_error(run("encode", source, tmp_path / "o.ccz", "-k", 4), str(source))
    assert not (tmp_path / "o.ccz").exists()


def test_encode_output_folder_missing(image_file, tmp_path):
    out = tmp_path / "nowhere" / "o.ccz"
    assert_error(run("encode", image_file(), out, "-k", 4), "nowhere does not exist")


def test_encode_output_folder_not_writable(image_file, tmp_path, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    if os.geteuid() == 0:  # root ignores the mode bits; simulate the refusal
        real_access = os.access
        monkeypatch.setattr(
            os, "access", lambda path, mode: Path(path) != folder and real_access(path, mode)
        )
    try:
        assert_error(run("encode", image_file(), folder / "o.ccz", "-k", 4), "permission denied")
    finally:
        folder.chmod(0o700)
    assert os.listdir(folder) == []


def test_encode_output_is_the_input(ccz_file):
    before = ccz_file.read_bytes()
    assert_error(run("encode", ccz_file, ccz_file, "-k", 2, "-f"), "same file as the input")
    assert ccz_file.read_bytes() == before


@pytest.mark.parametrize("name", ["out.jpg", "out.avif"])
def test_encode_refuses_a_lossy_format(image_file, tmp_path, name):
    result = run("encode", image_file(), tmp_path / name, "-k", 4)
    assert_error(result, "encode writes exact formats", "is lossy", "ccodec decode --quality")
    assert not (tmp_path / name).exists()


def test_encode_interrupted_leaves_nothing(image_file, tmp_path, monkeypatch):
    source = image_file()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "quantize_pixels", interrupted)
    result = run("encode", source, tmp_path / "o.ccz", "-k", 4)
    assert_error(result, "interrupted", code=130)
    assert sorted(os.listdir(tmp_path)) == ["in.png"]


# -- decode ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.png", "out.webp", "out.tiff", "out.bmp", "out.ccz"])
def test_decode_exact_formats(ccz_file, tmp_path, name):
    out = tmp_path / name
    result = run("decode", ccz_file, out)
    assert_ok(result)
    assert result.stdout.startswith(f"{out}: 24x16 RGB, K=8, ")
    assert result.stdout.endswith(f", {out.stat().st_size:,} bytes\n")
    q = ccodec.decode(ccz_file.read_bytes())
    assert np.array_equal(load(out)[2], q.to_array())


def test_decode_jpeg_with_quality(ccz_file, tmp_path):
    assert_ok(run("decode", ccz_file, tmp_path / "low.jpg", "--quality", 10, "-q"))
    assert_ok(run("decode", ccz_file, tmp_path / "high.jpg", "--quality", 95, "-q"))
    low, high = (tmp_path / "low.jpg"), (tmp_path / "high.jpg")
    assert load(low)[:2] == ("JPEG", (24, 16))
    assert low.stat().st_size < high.stat().st_size


def test_decode_format_option_overrides_the_extension(ccz_file, tmp_path):
    out = tmp_path / "picture.data"
    assert_ok(run("decode", ccz_file, out, "--format", "PNG", "-q"))
    assert load(out)[0] == "PNG"


def test_decode_unknown_extension_lists_writers(ccz_file, tmp_path):
    result = run("decode", ccz_file, tmp_path / "out.xyz")
    assert_error(result, "no writer for '.xyz'", "png (.png)", "jpeg (.jpg", "webp")
    assert not (tmp_path / "out.xyz").exists()


def test_decode_unknown_format_name(ccz_file, tmp_path):
    assert_error(run("decode", ccz_file, tmp_path / "o.png", "--format", "nope"), "'nope'")


@pytest.mark.parametrize(("name", "quality"), [("o.jpg", 0), ("o.jpg", 96), ("o.png", 50)])
def test_decode_bad_quality(ccz_file, tmp_path, name, quality):
    assert_error(run("decode", ccz_file, tmp_path / name, "--quality", quality), "quality")
    assert not (tmp_path / name).exists()


def test_decode_max_pixels(ccz_file, tmp_path):
    out = tmp_path / "o.png"
    assert_error(run("decode", ccz_file, out, "--max-pixels", 100), "above the limit of 100")
    assert not out.exists()
    assert_ok(run("decode", ccz_file, out, "--max-pixels", 384, "-q"))
    assert_ok(run("decode", ccz_file, out, "--max-pixels", 0, "-q", "-f"))


def test_decode_missing_input(tmp_path):
    assert_error(run("decode", tmp_path / "no.ccz", tmp_path / "o.png"), "no.ccz: no such file")


def test_decode_input_is_a_directory(tmp_path):
    assert_error(run("decode", tmp_path, tmp_path / "o.png"), "is a directory")


def test_decode_input_is_not_ccz(image_file, tmp_path):
    assert_error(run("decode", image_file(), tmp_path / "o.png"), "in.png: not a .ccz file")
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("length", [0, 4, 11, 39, 40, 60, -1])
def test_decode_truncated_ccz(ccz_file, tmp_path, length):
    ccz_file.write_bytes(ccz_file.read_bytes()[:length])
    assert_error(run("decode", ccz_file, tmp_path / "o.png"), f"{ccz_file}: ")
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("offset", [9, 16, 45, -5])
def test_decode_corrupt_ccz(ccz_file, tmp_path, offset):
    data = bytearray(ccz_file.read_bytes())
    data[offset] ^= 0x5A
    ccz_file.write_bytes(bytes(data))
    assert_error(run("decode", ccz_file, tmp_path / "o.png"), f"{ccz_file}: ")
    assert not (tmp_path / "o.png").exists()


def test_decode_trailing_bytes(ccz_file, tmp_path):
    ccz_file.write_bytes(ccz_file.read_bytes() + b"extra")
    assert_error(run("decode", ccz_file, tmp_path / "o.png"), "trailing bytes")


def test_decode_output_exists(ccz_file, tmp_path):
    out = tmp_path / "o.png"
    out.write_bytes(b"keep")
    assert_error(run("decode", ccz_file, out), "already exists", "--force")
    assert out.read_bytes() == b"keep"
    assert_ok(run("decode", ccz_file, out, "--force", "-q"))
    assert load(out)[0] == "PNG"


def test_decode_output_is_the_input(ccz_file):
    before = ccz_file.read_bytes()
    assert_error(run("decode", ccz_file, ccz_file, "-f"), "same file as the input")
    assert ccz_file.read_bytes() == before


def test_decode_output_folder_missing(ccz_file, tmp_path):
    assert_error(run("decode", ccz_file, tmp_path / "no" / "o.png"), "does not exist")


def test_decode_writer_failure_leaves_nothing(ccz_file, tmp_path):
    source = tmp_path / "rgba.ccz"
    q = ccodec.Quantized(
        np.array([[0, 0, 0, 0], [9, 9, 9, 255]], np.uint8), np.eye(3, dtype=np.uint8)
    )
    source.write_bytes(ccodec.encode_quantized(q))
    assert_error(run("decode", source, tmp_path / "o.bmp"), "cannot write this RGBA image as BMP")
    assert not (tmp_path / "o.bmp").exists()


def test_decode_interrupted_mid_write_leaves_nothing(ccz_file, tmp_path, monkeypatch):
    from ccodec.writers import png

    def interrupted(q, fp, **options):
        fp.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(png, "write", interrupted)
    assert_error(run("decode", ccz_file, tmp_path / "o.png"), "interrupted", code=130)
    assert sorted(os.listdir(tmp_path)) == ["in.ccz", "in.png"]


def test_a_file_written_just_before_ctrl_c_is_listed(image_file, tmp_path, monkeypatch):
    sources = [image_file("a.png"), image_file("b.png"), image_file("c.png")]
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.ccz").write_bytes(b"there before, and never started: not listed")

    class InterruptedRun:
        """a.ccz is reported; c.ccz is renamed into place, then Ctrl-C before its result."""

        def __init__(self, jobs, **where):
            self.jobs, self.step = jobs, 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def __iter__(self):
            return self

        def __next__(self):
            self.step += 1
            if self.step == 1:
                return batch.encode_file(self.jobs[0])
            Path(self.jobs[2].target).write_bytes(b"renamed into place")
            raise KeyboardInterrupt

        def stop(self):
            return []

    monkeypatch.setattr(cli, "run_jobs", InterruptedRun)
    result = run("encode", *sources, "-k", 2, "-o", out, "--force", "-q")
    assert result.exit_code == 130
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [str(out / "a.ccz"), str(out / "c.ccz")]
    assert lines[1] == f"{out / 'c.ccz'}: written (interrupted before its summary)"
    assert lines[-1].startswith("ccodec: 3 files: 2 written")


# -- stats -------------------------------------------------------------------------------

TABLE_HEADER = [
    "K",
    "MSE",
    "PSNR dB",
    ".ccz bytes",
    "bpp",
    "x raw",
    "x file",
    "PNG-8 bytes",
    "WebP bytes",
]
TABLE_ROW = re.compile(
    r"^\s*(?P<k>\d+)\s+(?P<mse>[\d.e-]+)\s+(?P<psnr>[\d.]+|inf)\s+(?P<ccz>[\d,]+)"
    r"\s+(?P<bpp>[\d.]+)\s+(?P<raw>[\d.]+)\s+(?P<file>[\d.]+)\s+(?P<png>[\d,]+)"
    r"\s+(?P<webp>[\d,]+|-)$"
)


def _table(output: str) -> list[dict[str, str]]:
    lines = output.splitlines()
    assert re.split(r"\s{2,}", lines[1].strip()) == TABLE_HEADER
    rows = [TABLE_ROW.match(line) for line in lines[2:]]
    assert all(rows), output
    return [row.groupdict() for row in rows]


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_stats_without_file_uses_the_bundled_sample_and_default_ks():
    result = run("stats")
    assert_ok(result)
    sample = Path(cli.__file__).parent / "data" / "astronaut.png"
    file_bytes = sample.stat().st_size
    assert result.output.startswith(
        f"astronaut.png: 512x512 RGB, 786,432 raw bytes, {file_bytes:,} file bytes, seed 0\n"
    )
    rows = _table(result.output)
    assert [int(r["k"]) for r in rows] == [2, 5, 10, 20, 50]
    psnrs = [float(r["psnr"]) for r in rows]
    assert psnrs == sorted(psnrs)  # more colours, less error
    for row in rows:
        ccz_bytes = _number(row["ccz"])
        assert float(row["raw"]) == pytest.approx(786432 / ccz_bytes, abs=0.05)
        assert float(row["file"]) == pytest.approx(file_bytes / ccz_bytes, abs=0.05)


def test_stats_of_an_image(image_file):
    source = image_file()
    result = run("stats", source, "-k", "1,3,256", "--seed", 2)
    assert_ok(result)
    rows = _table(result.output)
    assert [int(r["k"]) for r in rows] == [1, 3, 256]
    pixels = ccodec.to_pixels(ccodec.open_image(source))
    expected = ccodec.report.k_table(pixels, [3], seed=2, input_bytes=source.stat().st_size)[0]
    row = rows[1]
    assert float(row["mse"]) == pytest.approx(expected.mse, rel=1e-5)
    assert float(row["psnr"]) == pytest.approx(expected.psnr, abs=0.005)
    assert _number(row["ccz"]) == expected.ccz_bytes
    assert float(row["bpp"]) == pytest.approx(expected.bits_per_pixel, abs=5e-4)
    assert float(row["raw"]) == pytest.approx(24 * 16 * 3 / expected.ccz_bytes, abs=0.05)
    assert float(row["file"]) == pytest.approx(expected.ratio_input, abs=0.05)
    assert _number(row["png"]) == expected.png8_bytes
    assert _number(row["webp"]) == expected.webp_lossless_bytes


def test_stats_prints_inf_for_an_exact_k(tmp_path):
    path = tmp_path / "two.png"
    Image.fromarray(np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8)).save(path)
    result = run("stats", path, "-k", "1,2")
    assert_ok(result)
    one, two = _table(result.output)
    assert (two["mse"], two["psnr"]) == ("0", "inf")
    assert one["psnr"] != "inf"
    document = json.loads(run("stats", path, "-k", "1,2", "--json").output)
    assert [row["psnr_db"] for row in document["rows"]][1] is None


def test_stats_json_has_the_documented_schema(image_file):
    source = image_file()
    result = run("stats", source, "-k", "2,4", "--json", "--seed", 1)
    assert_ok(result)
    document = json.loads(result.stdout)
    assert result.stderr == ""
    assert document == {
        "schema": 1,
        "image": str(source),
        "width": 24,
        "height": 16,
        "channels": 3,
        "mode": "RGB",
        "seed": 1,
        "input_bytes": source.stat().st_size,
        "raw_bytes": 24 * 16 * 3,
        "rows": document["rows"],
    }
    pixels = ccodec.to_pixels(ccodec.open_image(source))
    expected = ccodec.report.k_table(pixels, [2, 4], seed=1, input_bytes=source.stat().st_size)
    assert document["rows"] == [row.to_json() for row in expected]


def test_stats_json_of_the_bundled_sample_names_it():
    document = json.loads(run("stats", "-k", "2", "--json").output)
    assert (document["image"], document["width"], document["rows"][0]["k"]) == (
        "bundled sample",
        512,
        2,
    )


def test_stats_on_several_processes_prints_what_one_process_prints(image_file):
    source = image_file(size=(30, 20))
    one = run("stats", source, "-k", "5,2,3", "--json")
    two = run("stats", source, "-k", "5,2,3", "--json", "-j", 2)
    assert_ok(two)
    assert two.output == one.output
    assert [row["k"] for row in json.loads(two.output)["rows"]] == [5, 2, 3]


def test_stats_writes_plot_and_sheet(image_file, tmp_path):
    pytest.importorskip("matplotlib")
    source = image_file(size=(300, 20))
    plot, sheet = tmp_path / "plot.png", tmp_path / "sheet.png"
    result = run("stats", source, "-k", "2,3", "--plot", plot, "--sheet", sheet)
    assert_ok(result)
    assert len(_table(result.output)) == 2
    assert load(plot)[:2] == ("PNG", (900, 360))
    cell_width = 256 + 2 * ccodec.sheet.PAD
    cell_height = 17 + ccodec.sheet.LABEL_HEIGHT + 2 * ccodec.sheet.PAD  # 20 * 256 / 300
    assert load(sheet)[:2] == ("PNG", (2 * cell_width, 2 * cell_height))
    svg = tmp_path / "plot.svg"
    assert_ok(run("stats", source, "-k", "2", "--plot", svg))
    assert svg.read_bytes().lstrip().startswith(b"<?xml")


def test_stats_plot_without_matplotlib_hints_the_extra(image_file, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    plot = tmp_path / "plot.png"
    result = run("stats", image_file(), "-k", "2", "--plot", plot)
    assert_error(result, 'pip install "ccodec[plot]"')
    assert not plot.exists()


@pytest.mark.parametrize(
    ("option", "name", "fragment"),
    [
        ("--plot", "p.pdf", "--plot writes .png or .svg"),
        ("--sheet", "s.jpg", "--sheet writes .png"),
        ("--sheet", "in.png", "same file as the input"),
        ("--sheet", "old.png", "already exists"),
        ("--sheet", "nowhere/s.png", "does not exist"),
    ],
)
def test_stats_refuses_bad_outputs_before_any_work(image_file, tmp_path, option, name, fragment):
    source = image_file()
    (tmp_path / "old.png").write_bytes(b"keep")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert_error(run("stats", source, "-k", "2", option, tmp_path / name), fragment)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_stats_overwrites_with_force(image_file, tmp_path):
    sheet = tmp_path / "old.png"
    sheet.write_bytes(b"old")
    assert_ok(run("stats", image_file(), "-k", "2", "--sheet", sheet, "--force"))
    assert load(sheet)[0] == "PNG"


def test_stats_same_file_for_plot_and_sheet(image_file, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "both.png"
    assert_error(run("stats", image_file(), "--plot", out, "--sheet", out), "same file")


def test_stats_of_a_ccz_file(ccz_file):
    result = run("stats", ccz_file)
    assert_ok(result)
    fields = dict(re.findall(r"^  (\S.*?)\s{2,}(.*)$", result.output, re.MULTILINE))
    size = ccz_file.stat().st_size
    assert fields["size"] == "24x16"
    assert (fields["mode"], fields["K"], fields["bits per index"]) == ("RGB", "8", "4")
    header = ccodec.read_header(ccz_file.read_bytes())
    assert fields["version"] == f"1.{header.minor}"
    assert fields["coding"] == header.coding
    assert fields["header+palette"] == f"{40 + 8 * 3 + 4} bytes"
    assert fields["palette"] == f"{8 * 3} bytes"
    assert fields["payload"] == f"{size - 68:,} bytes"
    assert fields["total"] == f"{size:,} bytes"
    assert float(fields["bits per pixel"]) == pytest.approx(8 * size / 384, abs=1e-3)
    assert "MSE" not in fields
    palette = ccodec.decode(ccz_file.read_bytes()).palette
    expected = ["#" + bytes(entry).hex() for entry in palette]
    assert result.output.split("colours\n")[1].split() == expected
    assert "\x1b[" not in result.output  # not a terminal: hex only


def test_stats_of_a_large_palette_shows_its_first_entries(tmp_path):
    # 300 distinct greys at K=300: a lossless 16-bit-index file.
    grey = np.arange(300 * 2, dtype=np.uint16).reshape(20, 30) // 2
    pixels = np.repeat((grey % 256).astype(np.uint8)[..., None], 3, axis=2)
    pixels[..., 1] = (grey // 256).astype(np.uint8)
    path = tmp_path / "many.ccz"
    path.write_bytes(ccodec.encode(pixels, 300))
    result = run("stats", path)
    assert_ok(result)
    swatches = result.output.split("colours\n")[1].split("...")[0].split()
    assert len(swatches) == cli.MAX_SWATCHES
    assert "... and 44 more (all of them: ccodec stats --json)" in result.output


def test_stats_of_a_ccz_file_on_a_colour_terminal(ccz_file, monkeypatch):
    monkeypatch.setattr(cli, "_use_color", lambda stream, environ: True)
    result = run("stats", ccz_file)
    assert_ok(result)
    red, green, blue = ccodec.decode(ccz_file.read_bytes()).palette[0]
    assert (
        f"\x1b[48;2;{red};{green};{blue}m  \x1b[0m #{red:02x}{green:02x}{blue:02x}" in result.output
    )


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("tty", "environ", "expected"),
    [
        (True, {}, True),
        (True, {"NO_COLOR": "1"}, False),
        (True, {"NO_COLOR": ""}, True),  # no-color.org: set and not empty
        (False, {}, False),
    ],
)
def test_colour_only_on_a_terminal_without_no_color(tty, environ, expected):
    assert cli._use_color(_Stream(tty), environ) is expected


def test_stats_of_a_ccz_file_against_its_original(image_file, tmp_path):
    source = image_file()
    out = tmp_path / "x.ccz"
    encoded = run("encode", source, out, "-k", 4)
    result = run("stats", out, "--original", source)
    assert_ok(result)
    fields = dict(re.findall(r"^  (\S.*?)\s{2,}(.*)$", result.output, re.MULTILINE))
    summary = SUMMARY.match(encoded.output.strip())
    assert float(fields["MSE"]) == pytest.approx(float(summary["mse"]), abs=1e-6)
    assert fields["PSNR"] == f"{summary['psnr']} dB"
    document = json.loads(run("stats", out, "--original", source, "--json").output)
    assert document["mse"] == pytest.approx(float(summary["mse"]), abs=1e-6)
    assert document["psnr_db"] == pytest.approx(float(summary["psnr"]), abs=0.005)


def test_stats_of_a_ccz_file_as_json(ccz_file):
    result = run("stats", ccz_file, "--json")
    assert_ok(result)
    document = json.loads(result.output)
    assert document["schema"] == 1
    assert document["file"] == str(ccz_file)
    assert (document["width"], document["height"], document["mode"], document["k"]) == (
        24,
        16,
        "RGB",
        8,
    )
    assert document["total_bytes"] == ccz_file.stat().st_size
    assert len(document["palette"]) == 8
    assert (document["mse"], document["psnr_db"]) == (None, None)


def test_stats_original_of_another_size(ccz_file, image_file):
    other = image_file("other.png", size=(10, 10))
    assert_error(run("stats", ccz_file, "--original", other), "shape")


@pytest.mark.parametrize(
    "options", [["-k", "2"], ["--plot", "p.png"], ["--sheet", "s.png"], ["-j", "2"]]
)
def test_stats_refuses_image_options_for_a_ccz_file(ccz_file, options):
    assert_error(run("stats", ccz_file, *options), "applies to an image")


def test_stats_refuses_original_for_an_image(image_file):
    source = image_file()
    assert_error(run("stats", source, "--original", source), "--original applies to a .ccz")


@pytest.mark.parametrize("ks", ["0", f"2,{ccodec.MAX_COLORS + 1}", "a,b", "2,,3", ""])
def test_stats_bad_k_list(image_file, ks):
    assert_error(run("stats", image_file(), "-k", ks), "-k", code=2)


def test_stats_missing_file(tmp_path):
    assert_error(run("stats", tmp_path / "nope.png"), "nope.png: no such file")


def test_stats_corrupt_ccz(ccz_file):
    data = bytearray(ccz_file.read_bytes())
    data[-3] ^= 0xFF
    ccz_file.write_bytes(bytes(data))
    assert_error(run("stats", ccz_file), f"{ccz_file}: ")


# -- writers -----------------------------------------------------------------------------


def test_writers_lists_builtins_and_pillow_formats():
    result = run("writers")
    assert_ok(result)
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["name", "extensions", "output", "source"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert "exact" in rows["png"] and "built-in" in rows["png"]
    assert "lossy" in rows["jpeg"] and ".jpg" in rows["jpeg"]
    assert "pillow" in rows["webp"]


def test_writers_reports_a_broken_plugin_on_stderr(monkeypatch, fresh_writer_registry):
    from importlib.metadata import EntryPoint

    from ccodec import writers

    broken = EntryPoint("broken", "no_such_module_xyz:W", writers.ENTRY_POINT_GROUP)
    monkeypatch.setattr(writers, "entry_points", lambda *, group: [broken])
    result = run("writers")
    assert_ok(result)
    assert "png" in result.stdout
    assert result.stderr.startswith("ccodec: warning: writer plugin 'broken'")


def test_encode_dither_option_changes_the_labels_and_bad_names_are_usage_errors(tmp_path):
    ramp = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (16, 1))
    source = tmp_path / "ramp.png"
    Image.fromarray(np.stack([ramp, ramp // 2, ramp], axis=2)).save(source)
    outputs = {}
    for method in ("none", "floyd-steinberg", "ordered"):
        target = tmp_path / f"{method}.ccz"
        result = CliRunner().invoke(
            main, ["encode", str(source), "-k", "4", "--dither", method, str(target), "-q"]
        )
        assert result.exit_code == 0, result.output
        outputs[method] = ccodec.decode(target.read_bytes())
    assert outputs["none"] != outputs["floyd-steinberg"]
    assert outputs["none"] != outputs["ordered"]
    bad = CliRunner().invoke(main, ["encode", str(source), "-k", "4", "--dither", "x", "o.ccz"])
    assert bad.exit_code == 2
    assert "'x' is not one of" in bad.output


def test_encode_space_oklab_stores_srgb_and_reports_rgb_mse(tmp_path):
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    source = tmp_path / "noise.png"
    Image.fromarray(pixels).save(source)
    target = tmp_path / "noise.ccz"
    result = CliRunner().invoke(
        main, ["encode", str(source), "-k", "8", "--space", "oklab", str(target)]
    )
    assert result.exit_code == 0, result.output
    q = ccodec.decode(target.read_bytes())
    assert q == ccodec.quantize(pixels, 8, seed=0, space="oklab")
    assert f"MSE {ccodec.mse(pixels, q.to_array()):.6f}" in result.output
    bad = CliRunner().invoke(
        main, ["encode", str(source), "-k", "8", "--space", "lab", str(tmp_path / "x.ccz")]
    )
    assert bad.exit_code == 2
    assert not (tmp_path / "x.ccz").exists()


def _three_colour_image(tmp_path: Path) -> Path:
    colours = np.array([[0, 0, 0], [255, 0, 0], [0, 0, 255]], np.uint8)
    labels = np.random.default_rng(6).integers(0, 3, (12, 12))
    source = tmp_path / "three.png"
    Image.fromarray(colours[labels]).save(source)
    return source


def test_encode_quality_target_finds_the_smallest_k(tmp_path):
    source = _three_colour_image(tmp_path)
    target = tmp_path / "three.ccz"
    result = CliRunner().invoke(main, ["encode", str(source), "--max-mse", "0", str(target)])
    assert result.exit_code == 0, result.output
    assert "K=3 (smallest K for MSE <= 0)" in result.output
    assert ccodec.decode(target.read_bytes()).k == 3


def test_encode_quality_target_not_reached_warns_and_keeps_the_cap(tmp_path):
    source = _three_colour_image(tmp_path)
    target = tmp_path / "three.ccz"
    result = CliRunner().invoke(
        main, ["encode", str(source), "--min-psnr", "60", "-k", "2", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert "warning: target not reached" in result.stderr
    assert "smallest K" not in result.output
    assert ccodec.decode(target.read_bytes()).k == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--max-mse", "0.01", "--min-psnr", "30"], "give one of --quality"),
        (["--quality", "60-80", "--max-mse", "0.01"], "give one of --quality"),
        (["--quality", "80-60"], "MIN <= MAX"),
        (["--quality", "60-x"], "MIN-MAX"),
        (["--min-psnr", "30", "--dither", "ordered"], "--dither cannot be combined"),
    ],
)
def test_encode_k_and_target_usage_errors(tmp_path, extra, message):
    source = _three_colour_image(tmp_path)
    target = tmp_path / "out.ccz"
    result = CliRunner().invoke(main, ["encode", str(source), str(target), *extra])
    assert result.exit_code == 2
    assert message in result.output
    assert not target.exists()


# -- encode: several files with -o DIR -----------------------------------------------------

BATCH_SUMMARY = re.compile(
    r"^ccodec: (?P<files>\d+) files?: (?P<written>\d+) written \((?P<bytes_in>[\d,]+) bytes in, "
    r"(?P<bytes_out>[\d,]+) bytes out\), (?P<skipped>\d+) skipped, (?P<failed>\d+) failed$"
)


def _images(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, name in enumerate(names):
        pixels = np.random.default_rng(index).integers(0, 256, (10, 8 + index, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / name)
        paths.append(folder / name)
    return paths


def _folder(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_batch_writes_each_file_as_the_single_form_does(tmp_path):
    sources = _images(tmp_path / "in", "a.png", "b.jpg", "c.tiff")
    out = tmp_path / "out"
    result = run("encode", *sources, "-k", 6, "-o", out)
    assert_ok(result)
    lines = result.stdout.splitlines()
    assert [SUMMARY.match(line)["name"] for line in lines[:3]] == [
        str(out / name) for name in ("a.ccz", "b.ccz", "c.ccz")
    ]
    summary = BATCH_SUMMARY.match(lines[3])
    assert summary, lines[3]
    assert (summary["files"], summary["written"], summary["skipped"], summary["failed"]) == (
        "3",
        "3",
        "0",
        "0",
    )
    assert _number(summary["bytes_in"]) == sum(path.stat().st_size for path in sources)
    assert _number(summary["bytes_out"]) == sum(len(data) for data in _folder(out).values())
    single = tmp_path / "single.ccz"
    assert_ok(run("encode", sources[1], single, "-k", 6, "-q"))
    assert (out / "b.ccz").read_bytes() == single.read_bytes()


def test_batch_takes_folders_and_quoted_globs(tmp_path):
    _images(tmp_path / "shots", "x.png", "y.png", "notes.txt.png")
    (tmp_path / "shots" / "readme.txt").write_text("not an image")
    _images(tmp_path / "more", "z.png")
    result = run(
        "encode", tmp_path / "shots", str(tmp_path / "m*" / "*.png"), "-k", 4, "-o", tmp_path / "o"
    )
    assert_ok(result)
    assert sorted(_folder(tmp_path / "o")) == ["notes.txt.ccz", "x.ccz", "y.ccz", "z.ccz"]


def test_batch_reports_each_failure_and_goes_on(tmp_path):
    good_a, good_b = _images(tmp_path, "a.png", "b.png")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    missing = tmp_path / "missing.png"
    out = tmp_path / "out"
    result = run("encode", good_a, broken, missing, good_b, "-k", 4, "-o", out)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    errors = result.stderr.splitlines()
    assert errors[0].startswith(f"ccodec: error: {broken}: ")
    assert errors[1] == f"ccodec: error: {missing}: no such file"
    assert errors[2] == "ccodec: error: 2 of 4 files failed"
    assert len(errors) == 3
    summary = BATCH_SUMMARY.match(result.stdout.splitlines()[-1])
    assert (summary["written"], summary["failed"]) == ("2", "2")
    assert sorted(_folder(out)) == ["a.ccz", "b.ccz"]


def test_batch_output_is_the_same_with_worker_processes(tmp_path):
    sources = _images(tmp_path / "in", "a.png", "b.png", "c.png", "d.png")
    one = run("encode", *sources, "-k", 8, "-o", tmp_path / "one")
    two = run("encode", *sources, "-k", 8, "-o", tmp_path / "two", "-j", 2)
    assert_ok(one)
    assert_ok(two)
    assert two.stdout.replace(str(tmp_path / "two"), str(tmp_path / "one")) == one.stdout
    assert _folder(tmp_path / "two") == _folder(tmp_path / "one")


def test_batch_refuses_two_inputs_with_one_output_name_before_writing(tmp_path):
    (a,) = _images(tmp_path / "a", "x.png")
    (b,) = _images(tmp_path / "b", "x.png")
    result = run("encode", a, b, "-k", 4, "-o", tmp_path / "out")
    assert_error(result, f"{a} and {b} would both be written to", "x.ccz")
    assert not (tmp_path / "out").exists() or _folder(tmp_path / "out") == {}


def test_batch_refuses_to_write_over_an_input(ccz_file, tmp_path):
    assert_error(run("encode", ccz_file, "-k", 4, "-o", tmp_path), "would overwrite the input")


def test_batch_existing_outputs_fail_skip_or_are_replaced(tmp_path):
    sources = _images(tmp_path / "in", "a.png", "b.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.ccz").write_bytes(b"old")
    refused = run("encode", *sources, "-k", 4, "-o", out)
    assert refused.exit_code == 1
    assert "a.ccz: already exists" in refused.stderr
    assert (out / "a.ccz").read_bytes() == b"old"
    (out / "b.ccz").unlink()
    skipped = run("encode", *sources, "-k", 4, "-o", out, "--skip-existing")
    assert_ok(skipped)
    assert f"{out / 'a.ccz'}: exists, skipped" in skipped.stdout
    assert ", 1 skipped, 0 failed" in skipped.stdout
    assert (out / "a.ccz").read_bytes() == b"old"
    assert_ok(run("encode", *sources, "-k", 4, "-o", out, "--force", "-q"))
    assert ccodec.decode((out / "a.ccz").read_bytes()).k == 4


def test_batch_quiet_prints_only_failures(tmp_path):
    (good,) = _images(tmp_path, "a.png")
    assert run("encode", good, "-k", 4, "-o", tmp_path / "o", "-q").output == ""
    one = run("encode", good, "-k", 4, "-o", tmp_path / "one")
    assert one.stdout.splitlines()[-1].startswith("ccodec: 1 file: 1 written (")
    result = run("encode", good, tmp_path / "gone.png", "-k", 4, "-o", tmp_path / "p", "-q")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a.png"], "give an OUTPUT file after INPUT, or -o DIR"),
        (["a.png", "b.png", "c.ccz"], "INPUT... -o DIR (or --ext EXT) for several"),
        (["a.png", "a.ccz", "-j", "2"], None),
        (["a.png", "-o", "o", "--force", "--skip-existing"], "--force or --skip-existing"),
        (["a.png", "-o", "o", "-j", "2", "--scheduler", "tcp://x:1"], "-j N or --scheduler"),
    ],
)
def test_batch_usage_errors(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    _images(tmp_path, "a.png")
    result = run("encode", "-k", 4, *args)
    if message is None:  # -j without -o: one line naming what it needs
        assert_error(result, "-j", "with -o DIR")
    else:
        assert_error(result, message, code=2)
    assert sorted(os.listdir(tmp_path)) == ["a.png"]


def test_batch_output_folder_is_made_but_must_not_be_a_file(tmp_path):
    (source,) = _images(tmp_path, "a.png")
    assert_ok(run("encode", source, "-k", 4, "-o", tmp_path / "new" / "deeper", "-q"))
    assert (tmp_path / "new" / "deeper" / "a.ccz").exists()
    (tmp_path / "file").write_text("x")
    assert_error(run("encode", source, "-k", 4, "-o", tmp_path / "file"), "this is a file")
    assert_error(run("encode", source, "-k", 4, "-o", tmp_path / "file" / "sub"), "file/sub")


def test_single_output_that_is_a_folder_hints_at_o(image_file, tmp_path):
    (tmp_path / "out").mkdir()
    assert_error(run("encode", image_file(), tmp_path / "out", "-k", 4), "use -o")


def test_batch_scheduler_without_dask_is_one_line(image_file, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    result = run("encode", image_file(), "-k", 4, "-o", tmp_path / "o", "--scheduler", "tcp://h:1")
    assert_error(result, "--scheduler needs Dask", 'pip install "ccodec[dask]"')
    assert not (tmp_path / "o").exists()


def test_batch_on_a_dask_cluster_writes_what_one_process_writes(tmp_path):
    if not os.environ.get("CCODEC_REQUIRE_DASK"):
        pytest.importorskip("distributed")
    from distributed import LocalCluster

    sources = _images(tmp_path / "in", "a.png", "b.png", "c.png")
    assert_ok(run("encode", *sources, "-k", 8, "-o", tmp_path / "local", "-q"))
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        result = run(
            "encode",
            *sources,
            "-k",
            8,
            "-o",
            tmp_path / "dask",
            "--scheduler",
            cluster.scheduler_address,
        )
    assert_ok(result)
    assert "3 written" in result.stdout.splitlines()[-1]
    assert _folder(tmp_path / "dask") == _folder(tmp_path / "local")


# -- standard input and output -------------------------------------------------------------


def _invoke(args: list[object], stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], input=stdin)


def test_encode_reads_stdin_and_writes_stdout(image_file, tmp_path):
    source = image_file()
    result = _invoke(["encode", "-", "-k", 8, "-"], stdin=source.read_bytes())
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == ccodec.encode(ccodec.open_image(source), 8)
    assert SUMMARY.match(result.stderr.rstrip("\n")), result.stderr  # the summary moves to stderr
    assert result.stderr.startswith("-: 24x16 RGB, K=8")


def test_encode_stdin_to_a_file_and_a_file_to_stdout(image_file, tmp_path):
    source = image_file()
    out = tmp_path / "piped.ccz"
    assert _invoke(["encode", "-", "-k", 8, out, "-q"], stdin=source.read_bytes()).exit_code == 0
    to_stdout = _invoke(["encode", source, "-k", 8, "-", "-q"])
    assert to_stdout.stdout_bytes == out.read_bytes()
    assert to_stdout.stderr == ""


def test_encode_stdin_that_is_not_an_image(tmp_path):
    result = _invoke(["encode", "-", "-k", 8, tmp_path / "o.ccz"], stdin=b"hello")
    assert_error(result, "-: not an image")
    assert os.listdir(tmp_path) == []


def test_decode_reads_stdin_and_writes_stdout_with_a_format(ccz_file):
    result = _invoke(["decode", "-", "-", "--format", "png"], stdin=ccz_file.read_bytes())
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(b"\x89PNG")
    assert result.stderr.startswith("-: 24x16 RGB, K=8, png, ")
    with Image.open(io.BytesIO(result.stdout_bytes)) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert np.array_equal(pixels, ccodec.decode(ccz_file.read_bytes()).to_array())


class _EndlessZeros(io.RawIOBase):
    """A pipe that never ends, counting what is read from it."""

    def __init__(self) -> None:
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = bytes(len(buffer))
        self.taken += len(buffer)
        return len(buffer)


def test_decode_reads_only_the_header_of_an_endless_pipe(tmp_path):
    pipe = _EndlessZeros()
    result = CliRunner().invoke(
        main, ["decode", "-", str(tmp_path / "o.png")], input=io.BufferedReader(pipe)
    )
    assert_error(result, "-: not a .ccz file")
    assert 0 < pipe.taken < 1 << 20
    assert os.listdir(tmp_path) == []


def test_encode_refuses_an_endless_pipe(monkeypatch, tmp_path):
    monkeypatch.setattr(images, "MAX_STDIN_BYTES", 3 << 20)
    pipe = _EndlessZeros()
    result = CliRunner().invoke(
        main, ["encode", "-", "-k", "2", str(tmp_path / "o.ccz")], input=io.BufferedReader(pipe)
    )
    assert_error(result, "-: standard input holds more than 3,145,728 bytes")
    assert pipe.taken <= (3 << 20) + (2 << 20)
    assert os.listdir(tmp_path) == []


def test_decode_to_stdout_needs_a_format(ccz_file):
    assert_error(_invoke(["decode", ccz_file, "-"]), "standard output needs --format")


def test_decode_bad_stdin_is_one_line(tmp_path):
    result = _invoke(["decode", "-", tmp_path / "o.png"], stdin=b"\x89CCZ\r\n")
    assert_error(result, "-: ")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "args", [["encode", "IN", "-k", 4, "-"], ["decode", "CCZ", "-", "--format", "png"]]
)
def test_binary_output_to_a_terminal_is_refused(image_file, ccz_file, monkeypatch, args):
    args = [image_file() if a == "IN" else ccz_file if a == "CCZ" else a for a in args]
    monkeypatch.setattr(cli, "_stdout_is_terminal", lambda: True)
    assert_error(run(*args), "to a terminal", "redirect standard output")


def test_stats_reads_standard_input(image_file):
    result = _invoke(["stats", "-", "-k", "2"], stdin=image_file().read_bytes())
    assert_ok(result)
    assert result.output.startswith("-: ")


def test_batch_refuses_stdin_among_several_inputs(image_file, tmp_path):
    assert_error(run("encode", image_file(), "-", "-k", 4, "-o", tmp_path / "o"), "standard input")


# -- metadata ------------------------------------------------------------------------------


def _png_with_metadata(path: Path) -> bytes:
    from PIL import ImageCms, PngImagePlugin

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    text = PngImagePlugin.PngInfo()
    text.add_text("Title", "harbour")
    text.add_itxt("Author", "Zoë")
    pixels = np.random.default_rng(1).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, pnginfo=text, icc_profile=icc)
    return icc


def test_encode_keeps_icc_profile_and_text_in_the_ccz_unless_stripped(tmp_path):
    source = tmp_path / "meta.png"
    icc = _png_with_metadata(source)
    assert_ok(run("encode", source, "-k", 4, tmp_path / "kept.ccz", "-q"))
    kept = ccodec.decode((tmp_path / "kept.ccz").read_bytes()).info
    assert kept == {"icc_profile": icc, "Title": "harbour", "Author": "Zoë"}
    assert_ok(run("encode", source, "-k", 4, tmp_path / "bare.ccz", "-q", "--strip"))
    bare = (tmp_path / "bare.ccz").read_bytes()
    assert ccodec.decode(bare).info == {}
    assert ccodec.decode(bare) == ccodec.decode((tmp_path / "kept.ccz").read_bytes())
    assert len(bare) < (tmp_path / "kept.ccz").stat().st_size


def test_encode_with_a_profile_too_big_for_the_header_says_to_strip(tmp_path):
    source, output = tmp_path / "huge-profile.png", tmp_path / "out.ccz"
    pixels = np.zeros((4, 4, 3), np.uint8)
    Image.fromarray(pixels).save(source, icc_profile=bytes(16) + b"RGB " + bytes(69_980))
    assert_error(run("encode", source, "-k", 2, output), "65,495", "--strip")
    assert not output.exists()
    assert_ok(run("encode", source, "-k", 2, output, "-q", "--strip"))


def test_stats_of_a_ccz_file_shows_its_metadata(tmp_path):
    source = tmp_path / "meta.png"
    icc = _png_with_metadata(source)
    assert_ok(run("encode", source, "-k", 4, tmp_path / "meta.ccz", "-q"))
    result = run("stats", tmp_path / "meta.ccz")
    assert_ok(result)
    fields = dict(re.findall(r"^  (\S.*?)\s{2,}(.*)$", result.output, re.MULTILINE))
    assert fields["ICC profile"] == f"{len(icc):,} bytes"
    assert (fields["text Title"], fields["text Author"]) == ("harbour", "Zoë")


def test_stats_keeps_a_long_text_key_apart_from_its_value(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("AVeryLongKeyName", "value")
    Image.new("RGB", (2, 2)).save(tmp_path / "long.png", pnginfo=info)
    assert_ok(run("encode", tmp_path / "long.png", "-k", 2, tmp_path / "long.ccz", "-q"))
    result = run("stats", tmp_path / "long.ccz")
    assert "  text AVeryLongKeyName value\n" in result.output


def test_decode_to_a_name_ending_in_a_slash_names_the_missing_folder(tmp_path):
    source = tmp_path / "a.ccz"
    source.write_bytes(ccodec.encode_quantized(ccodec.quantize(np.zeros((2, 2, 3), np.uint8), 2)))
    result = run("decode", source, f"{tmp_path / 'newdir'}/")
    assert_error(result, "folder", "does not exist")
    assert not (tmp_path / "newdir").exists()


def test_re_encoding_a_ccz_keeps_its_metadata(tmp_path):
    source = tmp_path / "meta.png"
    icc = _png_with_metadata(source)
    assert_ok(run("encode", source, "-k", 4, tmp_path / "first.ccz", "-q"))
    assert_ok(run("encode", tmp_path / "first.ccz", "-k", 2, tmp_path / "second.ccz", "-q"))
    info = ccodec.decode((tmp_path / "second.ccz").read_bytes()).info
    assert info == {"icc_profile": icc, "Title": "harbour", "Author": "Zoë"}


def test_metadata_goes_from_png_through_ccz_to_png(tmp_path):
    source = tmp_path / "meta.png"
    icc = _png_with_metadata(source)
    for name, extra in [("kept", []), ("bare", ["--strip"])]:
        assert_ok(run("encode", source, "-k", 4, tmp_path / f"{name}.ccz", "-q", *extra))
        assert_ok(run("decode", tmp_path / f"{name}.ccz", tmp_path / f"{name}.png", "-q"))
    with Image.open(tmp_path / "kept.png") as kept:
        assert kept.info["icc_profile"] == icc
        assert kept.text == {"Title": "harbour", "Author": "Zoë"}
    with Image.open(tmp_path / "bare.png") as bare:
        assert "icc_profile" not in bare.info
        assert bare.text == {}


def test_encode_applies_exif_orientation(tmp_path):
    source = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise
    Image.new("RGB", (40, 20), "red").save(source, exif=exif)
    result = run("encode", source, "-k", 2, tmp_path / "o.ccz")
    assert_ok(result)
    assert ": 20x40 RGB" in result.stdout
