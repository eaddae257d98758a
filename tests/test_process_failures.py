"""The ccodec command as a real process: closed pipes, full disks, SIGTERM, memory limits.

Each failure must be one ``ccodec: error:`` line, a non-zero exit, no traceback
or "Exception ignored" noise, and nothing left in the output folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import ccodec
from ccodec.ccz import encode_quantized

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120  # seconds; only for a hang

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and devices")


def _env(*, unbuffered: bool = False, path: tuple[Path, ...] = ()) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(map(str, (ROOT, *path)))
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    return env


def _ccodec(*args: object) -> list[str]:
    return [sys.executable, "-m", "ccodec", *map(str, args)]


def _assert_one_error_line(stderr: str, *fragments: str) -> None:
    assert stderr.startswith("ccodec: error: "), stderr
    assert stderr.count("\n") == 1, stderr
    for fragment in fragments:
        assert fragment in stderr, stderr


@pytest.fixture
def noisy_ccz(tmp_path: Path) -> Path:
    """16 random colours: its TIFF (786 KB) and its .ccz again (131 KB) overflow a pipe."""
    rng = np.random.default_rng(0)
    q = ccodec.Quantized(
        rng.integers(0, 256, (16, 3), dtype=np.uint8),
        rng.integers(0, 16, (512, 512)).astype(np.uint8),
    )
    path = tmp_path / "noisy.ccz"
    path.write_bytes(encode_quantized(q, coding="zstd"))
    return path


# -- standard output: every write whole, or one error line ---------------------------------

UNBUFFERED = pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])


@UNBUFFERED
@pytest.mark.parametrize(
    "command",
    [
        ["decode", "{ccz}", "-", "--format", "tiff"],
        ["encode", "{png}", "-k", "16", "-"],
        ["stats", "{big_palette}", "--json"],
    ],
    ids=["decode", "encode", "stats"],
)
def test_a_pipe_closed_early_is_an_error(tmp_path, noisy_ccz, unbuffered, command):
    args = _command(command, tmp_path, noisy_ccz)
    child = subprocess.Popen(
        _ccodec(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(unbuffered=unbuffered),
    )
    assert child.stdout is not None and child.stderr is not None
    assert len(child.stdout.read(10)) == 10  # then leave, as `head -c 10` does
    child.stdout.close()
    with child.stderr:
        stderr = child.stderr.read().decode()
    assert child.wait(timeout=TIMEOUT) == 1, stderr
    _assert_one_error_line(stderr, "standard output was closed before all data was written")


@UNBUFFERED
@pytest.mark.parametrize(
    "command",
    [
        ["decode", "{ccz}", "-", "--format", "tiff"],
        ["encode", "{png}", "-k", "16", "-"],
        ["stats", "{big_palette}", "--json"],
        ["stats", "{big_palette}"],
        ["writers"],
    ],
    ids=["decode", "encode", "stats-json", "stats", "writers"],
)
def test_a_full_disk_is_an_error(tmp_path, noisy_ccz, unbuffered, command):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    args = _command(command, tmp_path, noisy_ccz)
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            _ccodec(*args),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(unbuffered=unbuffered),
            timeout=TIMEOUT,
            check=False,
        )
    assert result.returncode == 1, result.stderr
    _assert_one_error_line(result.stderr, "cannot write to standard output: No space left")


def test_a_closed_stdout_is_an_error(tmp_path, noisy_ccz):
    result = subprocess.run(
        _ccodec("decode", noisy_ccz, "-", "--format", "png"),
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        preexec_fn=lambda: os.close(1),  # as `ccodec ... >&-` starts it
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    _assert_one_error_line(result.stderr, "standard output is closed")


def _command(template: list[str], tmp_path: Path, ccz: Path) -> list[str]:
    png = tmp_path / "noisy.png"
    big_palette = tmp_path / "palette.ccz"
    if "{png}" in template:
        ccodec.decode(ccz.read_bytes()).to_image().save(png)
    if "{big_palette}" in template:
        # 65,536 colours: 2 MB of JSON, or 44 lines of text, more than a pipe holds.
        rng = np.random.default_rng(1)
        q = ccodec.Quantized(
            rng.integers(0, 256, (65_536, 3), dtype=np.uint8),
            np.arange(65_536, dtype=np.uint16).reshape(256, 256),
        )
        big_palette.write_bytes(encode_quantized(q, coding="zstd"))
    names = {"{ccz}": str(ccz), "{png}": str(png), "{big_palette}": str(big_palette)}
    return [names.get(arg, arg) for arg in template]


# -- SIGTERM: treated as Ctrl-C, so no temporary file stays ---------------------------------

SLOW_WRITER = '''\
"""A ccodec writer plugin that starts its file and then waits: time to be sent a signal."""
import time

name = "slow"
extensions = (".slow",)


def write(q, fp):
    fp.write(b"partial")
    fp.flush()
    time.sleep(600)
'''


def _slow_writer_plugin(folder: Path) -> Path:
    """A folder that, on sys.path, declares the `slow` writer as an installed plugin."""
    folder.mkdir()
    (folder / "slow_writer.py").write_text(SLOW_WRITER)
    info = folder / "slow_writer-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: slow-writer\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[ccodec.writers]\nslow = slow_writer\n")
    return folder


def test_sigterm_removes_the_temporary_file_and_exits_143(tmp_path, noisy_ccz):
    plugin = _slow_writer_plugin(tmp_path / "plugin")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    child = subprocess.Popen(
        _ccodec("decode", noisy_ccz, out_dir / "image.slow"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(path=(plugin,)),
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while not list(out_dir.glob(".image.slow.*.tmp")):
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the temporary file never appeared"
            time.sleep(0.02)
        child.send_signal(signal.SIGTERM)
        stdout, stderr = child.communicate(timeout=TIMEOUT)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 143, stderr
    assert stdout == ""
    assert stderr == "ccodec: error: terminated\n"
    assert list(out_dir.iterdir()) == []


# -- out of memory: one line naming the file -----------------------------------------------


def _address_space_in_use() -> int:
    """Bytes of address space a child has once ccodec and its writers are imported."""
    probe = (
        "import ccodec.cli, PIL.TiffImagePlugin\n"
        "status = open('/proc/self/status').read()\n"
        "print(int(status.split('VmPeak:')[1].split()[0]) * 1024)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
        timeout=TIMEOUT,
    )
    return int(result.stdout)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize(
    ("command", "named"),
    [
        (["decode", "{ccz}", "{out}/huge.tif"], "huge.ccz"),
        (["encode", "{ccz}", "-k", "4", "{out}/huge.ccz"], "huge.ccz"),
        (["stats", "{png}", "-k", "2"], "huge.png"),
    ],
    ids=["decode", "encode", "stats"],
)
def test_out_of_memory_is_one_line_and_leaves_nothing(tmp_path, command, named):
    import resource

    # 8000x8000 RGB: 256 MB as labels and pixels, more in any writer or k-means; tiny files.
    q = ccodec.Quantized(np.array([[10, 20, 30]], np.uint8), np.zeros((8000, 8000), np.uint8))
    if "{ccz}" in command:
        (tmp_path / "huge.ccz").write_bytes(encode_quantized(q, coding="zstd"))
    else:
        q.to_image().save(tmp_path / "huge.png")
    del q
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = [
        arg.format(ccz=tmp_path / "huge.ccz", png=tmp_path / "huge.png", out=out_dir)
        for arg in command
    ]
    limit = _address_space_in_use() + 450_000_000

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    result = subprocess.run(
        _ccodec(*args),
        capture_output=True,
        text=True,
        env=_env(),
        preexec_fn=limit_memory,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    _assert_one_error_line(result.stderr, named, "memory")
    assert result.stdout == ""
    assert list(out_dir.iterdir()) == []
