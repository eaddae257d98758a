"""write_all and checked_stdout: standard output written whole or not at all, in-process."""

from __future__ import annotations

import io
import os
import signal
import sys
import time

import pytest

from ccodec.errors import OutputError
from ccodec.interrupts import Terminated, terminate_as_interrupt
from ccodec.stdout import checked_stdout, write_all


class _ShortWriter(io.RawIOBase):
    """A raw stream that takes at most `step` bytes a call, and None (would block) every third."""

    def __init__(self, step: int) -> None:
        self.step = step
        self.calls = 0
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int | None:
        self.calls += 1
        if self.calls % 3 == 0:
            return None
        taken = bytes(data[: self.step])
        self.data += taken
        return len(taken)


def test_write_all_loops_over_short_writes(monkeypatch):
    import ccodec.stdout

    monkeypatch.setattr(ccodec.stdout, "_wait_writable", lambda stream: None)
    stream = _ShortWriter(step=7)
    data = bytes(range(256)) * 3
    write_all(stream, data)
    assert bytes(stream.data) == data


def test_write_all_fails_on_a_stream_that_takes_nothing():
    with pytest.raises(OSError, match="accepted no data"):
        write_all(_ShortWriter(step=0), b"data")


def test_checked_stdout_turns_write_errors_into_one_output_error(tmp_path, monkeypatch):
    """A real file descriptor as stdout: /dev/full fails every write with ENOSPC."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        monkeypatch.setattr(sys, "stdout", full)
        error = "standard output: No space left on device"
        with pytest.raises(OutputError, match=error), checked_stdout():
            print("x" * 100_000)
        assert sys.stdout is full


def test_sigterm_raises_terminated_within_the_block_only():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated), terminate_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler runs at once and ends the sleep
    assert signal.getsignal(signal.SIGTERM) is before
    assert issubclass(Terminated, KeyboardInterrupt)
