"""encode to PNG and WebP, pngquant's conventions (--quality, --skip-if-larger, --ext, exit
statuses 98 and 99), decode INPUT... -o DIR, the oxipng step, and shell completion."""

from __future__ import annotations

import io
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

import ccodec
from ccodec import cli
from ccodec.batch_decode import DecodeJob, decode_file
from ccodec.errors import OptionError
from ccodec.metrics import mse
from ccodec.quality import parse_quality, quality_to_mse
from ccodec.workers import ProcessRun
from ccodec.writers import png


def run(*args: object) -> Result:
    return CliRunner().invoke(cli.main, [str(a) for a in args])


def photo(path: Path, seed: int = 0, size: tuple[int, int] = (40, 32), noise: int = 40) -> Path:
    """A noisy gradient: many colours, so K and quality matter."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[0], 0 : size[1]]
    base = np.stack([x * 6, y * 6, (x + y) * 3], axis=-1)
    pixels = np.clip(base + rng.integers(0, noise + 1, base.shape), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def pixels_of(path: Path, mode: str = "RGB") -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert(mode))


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("ccodec: error:")]


# -- encode to other formats ---------------------------------------------------------------


def test_encode_to_png_is_the_palette_of_the_ccz(tmp_path):
    source = photo(tmp_path / "in.png")
    assert run("encode", source, "-k", 16, tmp_path / "a.ccz").exit_code == 0
    result = run("encode", source, "-k", 16, tmp_path / "a.png")
    assert result.exit_code == 0, result.output
    assert ", png, " in result.stdout
    with Image.open(tmp_path / "a.png") as image:
        assert image.format == "PNG" and image.mode == "P"
    q = ccodec.decode((tmp_path / "a.ccz").read_bytes())
    assert np.array_equal(pixels_of(tmp_path / "a.png"), q.to_array())


def test_encode_to_png_is_byte_identical_run_to_run(tmp_path):
    source = photo(tmp_path / "in.png")
    for name in ("a.png", "b.png"):
        assert run("encode", source, "-k", 8, "--seed", 3, tmp_path / name).exit_code == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_encode_to_webp_is_lossless(tmp_path):
    source = photo(tmp_path / "in.png")
    assert run("encode", source, "-k", 8, tmp_path / "a.webp").exit_code == 0
    assert run("encode", source, "-k", 8, tmp_path / "a.ccz").exit_code == 0
    q = ccodec.decode((tmp_path / "a.ccz").read_bytes())
    assert np.array_equal(pixels_of(tmp_path / "a.webp"), q.to_array())


def test_encode_format_overrides_the_extension_and_unknown_names_stay_ccz(tmp_path):
    source = photo(tmp_path / "in.png")
    assert run("encode", source, "-k", 4, tmp_path / "a.bin", "--format", "png").exit_code == 0
    assert (tmp_path / "a.bin").read_bytes()[:4] == b"\x89PNG"
    assert run("encode", source, "-k", 4, tmp_path / "b.bin").exit_code == 0
    assert (tmp_path / "b.bin").read_bytes()[:4] == b"\x89CCZ"


def test_encode_png_to_stdout_with_format(tmp_path):
    source = photo(tmp_path / "in.png")
    result = run("encode", source, "-k", 4, "-", "--format", "png")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes[:4] == b"\x89PNG"


def test_encode_batch_format_png_names_outputs_png(tmp_path):
    sources = [photo(tmp_path / "a.png"), photo(tmp_path / "b.jpg", seed=1)]
    result = run("encode", *sources, "-k", 4, "-o", tmp_path / "out", "--format", "png", "-q")
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path / "out")) == ["a.png", "b.png"]


# -- --quality -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60-80", (60, 80)),
        ("80", (72, 80)),
        ("-80", (0, 80)),
        ("60-", (60, 100)),
        ("0-100", (0, 100)),
    ],
)
def test_parse_quality_takes_pngquants_forms(text, expected):
    assert parse_quality(text) == expected


@pytest.mark.parametrize("text", ["", "x", "80-60", "101", "60-101", "1-2-3", "60 - 80"])
def test_parse_quality_refuses_the_rest(text):
    with pytest.raises(OptionError):
        parse_quality(text)


def test_quality_to_mse_follows_libimagequant():
    assert quality_to_mse(100) == 0
    assert quality_to_mse(0) == math.inf
    # libimagequant's curve at 80, in its units, times 65536/6, on the 0-1 scale.
    internal = 2.5 / 290**1.2 * 20.1 / 100 + max(0, 0.016 / 80.001 - 0.001)
    assert quality_to_mse(80) == pytest.approx(internal * 65536 / 6 / 255**2)
    values = [quality_to_mse(q) for q in range(1, 101)]
    assert values == sorted(values, reverse=True)


def test_quality_max_is_the_target_as_max_mse(tmp_path):
    source = photo(tmp_path / "in.png")
    target = quality_to_mse(70)
    assert run("encode", source, "--quality", "0-70", tmp_path / "q.ccz").exit_code == 0
    assert run("encode", source, "--max-mse", repr(target), tmp_path / "m.ccz").exit_code == 0
    assert (tmp_path / "q.ccz").read_bytes() == (tmp_path / "m.ccz").read_bytes()


def test_quality_below_min_writes_nothing_and_exits_99(tmp_path):
    source = photo(tmp_path / "in.png")
    result = run("encode", source, "-k", 2, "--quality", "90-100", tmp_path / "out.png")
    assert result.exit_code == 99
    assert result.stdout == ""
    (line,) = error_lines(result)
    assert "misses the --quality minimum" in line and "nothing written" in line
    assert not (tmp_path / "out.png").exists()
    assert sorted(os.listdir(tmp_path)) == ["in.png"]


def test_quality_min_met_below_max_is_written(tmp_path):
    source = photo(tmp_path / "in.png")
    result = run("encode", source, "-k", 2, "--quality", "0-100", tmp_path / "out.png")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.png").exists()
    assert result.stderr == ""  # between MIN and MAX is a result, not a missed target


def test_batch_quality_too_low_for_one_file_exits_99_and_writes_the_others(tmp_path):
    flat = tmp_path / "flat.png"
    Image.new("RGB", (8, 8), (10, 20, 30)).save(flat)
    noisy = photo(tmp_path / "noisy.png")
    result = run("encode", flat, noisy, "-k", 2, "--quality", "90-100", "-o", tmp_path / "o")
    assert result.exit_code == 99
    assert os.listdir(tmp_path / "o") == ["flat.ccz"]
    assert "below the --quality minimum" in result.stderr


# -- --skip-if-larger ----------------------------------------------------------------------


def test_skip_if_larger_keeps_the_input_and_exits_98(tmp_path):
    source = photo(tmp_path / "in.png")
    assert run("encode", source, "-k", 4, tmp_path / "small.png").exit_code == 0
    small = tmp_path / "small.png"
    before = small.read_bytes()
    result = run("encode", small, "-k", 4, "--skip-if-larger", tmp_path / "again.png")
    assert result.exit_code == 98
    assert "not written" in result.stderr and "--skip-if-larger" in result.stderr
    assert "error" not in result.stderr
    assert not (tmp_path / "again.png").exists()
    assert small.read_bytes() == before


def test_skip_if_larger_writes_a_smaller_result(tmp_path):
    source = photo(tmp_path / "in.png", size=(80, 80))
    result = run("encode", source, "-k", 2, "--skip-if-larger", tmp_path / "out.png")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.png").stat().st_size < source.stat().st_size


def test_skip_if_larger_in_place_keeps_the_input(tmp_path):
    source = photo(tmp_path / "in.png")
    assert run("encode", source, "-k", 4, tmp_path / "small.png").exit_code == 0
    small = tmp_path / "small.png"
    before = small.read_bytes()
    result = run("encode", small, "-k", 4, "--ext", ".png", "--force", "--skip-if-larger")
    assert result.exit_code == 98
    assert "1 not smaller (input kept)" in result.stdout
    assert small.read_bytes() == before


# -- --ext and in place -----------------------------------------------------------------------


def test_ext_writes_beside_each_input(tmp_path):
    (tmp_path / "sub").mkdir()
    a, b = photo(tmp_path / "a.png"), photo(tmp_path / "sub" / "b.png", seed=1)
    result = run("encode", a, b, "-k", 4, "--ext", "-or8.png", "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a-or8.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "sub" / "b-or8.png").exists()


def test_ext_with_o_dir(tmp_path):
    a = photo(tmp_path / "a.png")
    result = run("encode", a, "-k", 4, "--ext", ".webp", "-o", tmp_path / "o", "-q")
    assert result.exit_code == 0, result.output
    assert os.listdir(tmp_path / "o") == ["a.webp"]


def test_in_place_needs_force_and_replaces_the_input(tmp_path):
    a = photo(tmp_path / "a.png")
    original = a.read_bytes()
    refused = run("encode", a, "-k", 4, "--ext", ".png")
    assert refused.exit_code == 1
    assert "would overwrite the input" in refused.stderr and "--force" in refused.stderr
    assert a.read_bytes() == original
    result = run("encode", a, "-k", 4, "--ext", ".png", "--force", "-q")
    assert result.exit_code == 0, result.output
    with Image.open(a) as image:
        assert image.mode == "P"
    assert sorted(os.listdir(tmp_path)) == ["a.png"]  # no temporary file left


def test_in_place_never_writes_over_another_input(tmp_path):
    a = photo(tmp_path / "a.png")
    a_fs8 = photo(tmp_path / "a-fs8.png", seed=2)
    before = a_fs8.read_bytes()
    result = run("encode", a, a_fs8, "-k", 4, "--ext", "-fs8.png", "--force")
    assert result.exit_code == 1
    assert "would overwrite the input" in result.stderr
    assert a_fs8.read_bytes() == before


def test_ext_refuses_a_path(tmp_path):
    a = photo(tmp_path / "a.png")
    result = run("encode", a, "-k", 4, "--ext", "x/.png")
    assert result.exit_code == 1
    assert "--ext" in result.stderr


# -- decode INPUT... -o DIR ------------------------------------------------------------------


def ccz_files(folder: Path, count: int = 3) -> list[Path]:
    folder.mkdir(exist_ok=True)
    files = []
    for index in range(count):
        source = photo(folder / f"i{index}.png", seed=index)
        target = folder / f"f{index}.ccz"
        target.write_bytes(ccodec.encode(Image.open(source), 4))
        source.unlink()
        files.append(target)
    return files


def test_batch_decode_with_a_broken_file_writes_the_others_and_exits_1(tmp_path):
    good = ccz_files(tmp_path / "in", 2)
    broken = tmp_path / "in" / "broken.ccz"
    broken.write_bytes(good[0].read_bytes()[:60])
    result = run("decode", *good, broken, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert sorted(os.listdir(tmp_path / "out")) == ["f0.png", "f1.png"]
    assert "broken.ccz" in result.stderr
    assert result.stdout.splitlines()[-1].startswith("ccodec: 3 files: 2 written")
    q = ccodec.decode(good[1].read_bytes())
    assert np.array_equal(pixels_of(tmp_path / "out" / "f1.png"), q.to_array())


def test_batch_decode_takes_folders_of_ccz_and_a_format(tmp_path):
    ccz_files(tmp_path / "in", 2)
    photo(tmp_path / "in" / "not-a-ccz.png")
    result = run("decode", tmp_path / "in", "-o", tmp_path / "out", "--format", "webp", "-q")
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path / "out")) == ["f0.webp", "f1.webp"]


def test_batch_decode_existing_outputs(tmp_path):
    files = ccz_files(tmp_path / "in", 2)
    out = tmp_path / "out"
    out.mkdir()
    (out / "f0.png").write_bytes(b"old")
    refused = run("decode", *files, "-o", out)
    assert refused.exit_code == 1
    assert "already exists" in refused.stderr
    assert (out / "f0.png").read_bytes() == b"old"
    assert (out / "f1.png").exists()  # the other file is written
    skipped = run("decode", *files, "-o", out, "--skip-existing")
    assert skipped.exit_code == 0
    assert (out / "f0.png").read_bytes() == b"old"
    assert "2 skipped" in skipped.stdout
    forced = run("decode", *files, "-o", out, "--force", "-q")
    assert forced.exit_code == 0
    assert (out / "f0.png").read_bytes()[:4] == b"\x89PNG"


def test_batch_decode_jobs_give_the_same_files(tmp_path):
    files = ccz_files(tmp_path / "in", 3)
    assert run("decode", *files, "-o", tmp_path / "one", "-q").exit_code == 0
    assert run("decode", *files, "-o", tmp_path / "two", "-j", 2, "-q").exit_code == 0
    for name in os.listdir(tmp_path / "one"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_batch_decode_interrupted_exits_130(tmp_path, monkeypatch):
    files = ccz_files(tmp_path / "in", 2)

    class InterruptedRun:
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
                return decode_file(self.jobs[0])
            raise KeyboardInterrupt

        def stop(self):
            return []

    monkeypatch.setattr(cli, "run_jobs", InterruptedRun)
    result = run("decode", *files, "-o", tmp_path / "out")
    assert result.exit_code == 130
    assert result.stdout.splitlines()[-1].endswith("1 not decoded (interrupted)")
    assert os.listdir(tmp_path / "out") == ["f0.png"]


def test_decode_single_form_refuses_batch_options(tmp_path):
    (one,) = ccz_files(tmp_path / "in", 1)
    result = run("decode", one, tmp_path / "o.png", "-j", 2)
    assert result.exit_code == 1
    assert "-j" in result.stderr and "-o DIR" in result.stderr
    assert run("decode", one, tmp_path / "a.png", tmp_path / "b.png").exit_code == 2


def test_decode_file_quality_for_webp(tmp_path):
    (one,) = ccz_files(tmp_path / "in", 1)
    job = DecodeJob(str(one), str(tmp_path / "o.webp"), "webp", quality=50)
    assert decode_file(job).status == "written"


# -- the PNG optimizer -------------------------------------------------------------------------


def _square(index: int) -> bytes:
    q = ccodec.quantize(np.full((8, 8, 3), index * 40, np.uint8), 1)
    buffer = io.BytesIO()
    png.write(q, buffer, optimize=True)
    return buffer.getvalue()


def _died(item: int, exitcode: int | None) -> bytes:
    return b""


def test_png_writer_works_in_a_fork_of_a_process_that_ran_oxipng():
    pytest.importorskip("oxipng")
    here = [_square(index) for index in range(3)]  # starts oxipng's threads in this process
    with ProcessRun(_square, [0, 1, 2], 2, _died) as run_:
        assert list(run_) == here


def test_png_writer_without_oxipng_is_still_exact(monkeypatch):
    q = ccodec.quantize(np.random.default_rng(1).integers(0, 256, (9, 7, 3), np.uint8), 5)
    monkeypatch.setitem(sys.modules, "oxipng", None)  # import fails
    buffer = io.BytesIO()
    png.write(q, buffer, optimize=True)
    with Image.open(io.BytesIO(buffer.getvalue())) as image:
        assert image.mode == "P"
        assert np.array_equal(np.asarray(image.convert("RGB")), q.to_array())


def test_oxipng_makes_the_png_no_larger(monkeypatch):
    pytest.importorskip("oxipng")
    sample = Path(ccodec.__file__).parent / "data" / "astronaut.png"
    with Image.open(sample) as image:
        q = ccodec.quantize(ccodec.to_pixels(image.resize((96, 96))), 16)
    optimized = io.BytesIO()
    png.write(q, optimized, optimize=True)
    plain = io.BytesIO()
    png.write(q, plain)
    monkeypatch.setitem(sys.modules, "oxipng", None)
    pillow_only = io.BytesIO()
    png.write(q, pillow_only, optimize=True)
    assert plain.getvalue() == pillow_only.getvalue()
    assert len(optimized.getvalue()) <= len(pillow_only.getvalue())
    assert optimized.getvalue() != pillow_only.getvalue()


# -- shell completion --------------------------------------------------------------------------


def test_bash_completion_script_and_answers():
    env = {**os.environ, "_CCODEC_COMPLETE": "bash_source"}
    script = subprocess.run(
        [sys.executable, "-m", "ccodec"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "_ccodec_completion" in script and "complete -o nosort -F" in script
    env.update(_CCODEC_COMPLETE="bash_complete", COMP_WORDS="ccodec enc", COMP_CWORD="1")
    answer = subprocess.run(
        [sys.executable, "-m", "ccodec"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert answer.split() == ["plain,encode"]


def test_mse_of_a_quality_result_meets_the_target(tmp_path):
    source = photo(tmp_path / "in.png", noise=2)
    assert run("encode", source, "--quality", "50-60", tmp_path / "o.png").exit_code == 0
    assert mse(pixels_of(source), pixels_of(tmp_path / "o.png")) <= quality_to_mse(60)
    result = run("encode", source, "--quality", "50-60", tmp_path / "p.png")
    assert "(smallest K for --quality 50-60)" in result.stdout


def _oxipng_calls(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = png.optimized

    def counting(data: bytes) -> bytes:
        calls.append(len(data))
        return real(data)

    monkeypatch.setattr(png, "optimized", counting)
    return calls


def test_decode_writes_a_plain_png_unless_asked_to_optimize(tmp_path, monkeypatch):
    (one,) = ccz_files(tmp_path / "in", 1)
    calls = _oxipng_calls(monkeypatch)
    assert run("decode", one, tmp_path / "plain.png").exit_code == 0
    assert calls == []
    assert run("decode", one, tmp_path / "small.png", "--optimize").exit_code == 0
    assert len(calls) == 1
    with Image.open(tmp_path / "plain.png") as a, Image.open(tmp_path / "small.png") as b:
        assert np.array_equal(np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB")))


def test_batch_decode_optimize_and_encode_to_png_use_oxipng(tmp_path, monkeypatch):
    files = ccz_files(tmp_path / "in", 2)
    calls = _oxipng_calls(monkeypatch)
    assert run("decode", *files, "-o", tmp_path / "out", "--optimize").exit_code == 0
    assert len(calls) == 2
    assert run("encode", photo(tmp_path / "p.png"), "-k", "4", tmp_path / "e.png").exit_code == 0
    assert len(calls) == 3


def test_decode_optimize_is_for_png_only(tmp_path):
    (one,) = ccz_files(tmp_path / "in", 1)
    result = run("decode", one, tmp_path / "o.webp", "--optimize")
    assert result.exit_code != 0
    assert "--optimize applies to png output, not webp" in result.output
    assert not (tmp_path / "o.webp").exists()
