"""Ctrl-C in a batch: real `ccodec encode ... -o DIR` processes, interrupted as a terminal does.

The first input is tiny, the others take seconds each: once the tiny one's
output appears, the interrupt lands while big files are in progress and
others wait their turn.
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
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
BOUND = 60  # seconds; only a hang or a batch that ignores Ctrl-C reaches it
pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    paths = []
    for name, side in [("a0", 16), ("b1", 800), ("b2", 800), ("b3", 800), ("b4", 800)]:
        path = folder / f"{name}.png"
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def start(inputs: list[Path], out: Path, *options: str) -> subprocess.Popen:
    """The batch in its own session, as a shell runs a command: Ctrl-C goes to its group."""
    command = [sys.executable, "-m", "ccodec", "encode", *map(str, inputs), "-k", "256"]
    return subprocess.Popen(
        [*command, "-o", str(out), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )


def wait_for_first_output(process: subprocess.Popen, out: Path) -> None:
    deadline = time.monotonic() + BOUND
    while not (out / "a0.ccz").exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no output appeared"
        time.sleep(0.02)


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_until_gone(pids: list[int], seconds: float = 10) -> list[int]:
    deadline = time.monotonic() + seconds
    while any(map(alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def interrupt(
    process: subprocess.Popen, presses: int = 1, spacing: float = 0.05
) -> tuple[str, str]:
    for _ in range(presses):
        if process.poll() is not None:
            break
        os.killpg(process.pid, signal.SIGINT)
        time.sleep(spacing)
    try:
        return process.communicate(timeout=BOUND)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def assert_stopped_cleanly(process, stdout: str, stderr: str, out: Path, total: int) -> None:
    """Exit 130, the written files listed and summed up, nothing else left in `out`."""
    assert process.returncode == 130, stderr
    assert stderr == "ccodec: error: interrupted\n"
    lines = stdout.splitlines()
    listed = sorted(Path(line.split(":")[0]).name for line in lines[:-1])
    assert listed == sorted(os.listdir(out)), "every file written is listed, and only those"
    assert "a0.ccz" in listed
    assert len(listed) < total - 1, "files waiting their turn were not started"
    assert lines[-1].startswith(f"ccodec: {total} files: {len(listed)} written (")
    assert lines[-1].endswith(f", {total - len(listed)} not encoded (interrupted)")


@pytest.mark.parametrize("quiet", [True, False], ids=["quiet", "verbose"])
def test_ctrl_c_in_worker_processes_stops_at_once_and_lists_what_was_written(
    inputs, tmp_path, quiet
):
    out = tmp_path / "out"
    process = start(inputs, out, "-j", "2", *(["-q"] if quiet else []))
    wait_for_first_output(process, out)
    workers = children(process.pid)
    pressed = time.monotonic()
    stdout, stderr = interrupt(process)
    assert time.monotonic() - pressed < BOUND / 2
    assert_stopped_cleanly(process, stdout, stderr, out, len(inputs))
    assert len(workers) == 2
    assert wait_until_gone(workers) == []


def test_ctrl_c_in_one_process_lists_what_was_written(inputs, tmp_path):
    out = tmp_path / "out"
    process = start(inputs, out)
    wait_for_first_output(process, out)
    stdout, stderr = interrupt(process)
    assert_stopped_cleanly(process, stdout, stderr, out, len(inputs))


def test_a_second_ctrl_c_exits_at_once_without_tracebacks(inputs, tmp_path):
    out = tmp_path / "out"
    process = start(inputs, out, "-j", "2")
    wait_for_first_output(process, out)
    workers = children(process.pid)
    stdout, stderr = interrupt(process, presses=2)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    assert stderr.endswith("ccodec: error: interrupted\n")
    assert wait_until_gone(workers) == []


def test_ctrl_c_pressed_on_the_way_out_changes_nothing(inputs, tmp_path):
    out = tmp_path / "out"
    process = start(inputs, out, "-j", "2")
    wait_for_first_output(process, out)
    stdout, stderr = interrupt(process, presses=400, spacing=0.005)
    assert process.returncode == 130, stderr
    assert stderr.endswith("ccodec: error: interrupted\n")
    assert "Traceback" not in stderr and "Exception ignored" not in stderr


def test_workers_do_not_outlive_a_killed_command(inputs, tmp_path):
    out = tmp_path / "out"
    process = start(inputs, out, "-j", "2")
    wait_for_first_output(process, out)
    workers = children(process.pid)
    assert len(workers) == 2
    process.kill()
    process.communicate(timeout=BOUND)
    assert wait_until_gone(workers) == []
    assert [name for name in os.listdir(out) if name.endswith(".tmp")] == []
