"""Standard output that is written whole or fails loudly, buffered or not.

Under ``python -u`` (PYTHONUNBUFFERED, set by our Dockerfile) stdout's binary
layer is a raw file whose ``write`` may take only part of the data, and
`io.TextIOWrapper` drops the rest without a word: a pipe's reader that left
or a disk that filled up would turn into a short output and exit status 0.
`checked_stdout` puts a buffered writer that raises `OutputError` under
stdout for the length of a command, and `write_stdout` writes binary data
through it.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import select
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

from .errors import OutputError

__all__ = ["checked_stdout", "write_all", "write_stdout"]


def write_stdout(data: bytes) -> None:
    """Write all of `data` to standard output, or raise `OutputError`."""
    if sys.stdout is None:  # started with stdout closed (>&-)
        raise OutputError("-: standard output is closed")
    stream: Any = getattr(sys.stdout, "buffer", sys.stdout)
    try:
        sys.stdout.flush()  # text printed before goes first
        write_all(stream, data)
        stream.flush()
    except OutputError:
        raise
    except OSError as exc:
        raise _stdout_error(exc, stream) from None


def write_all(stream: BinaryIO, data: bytes) -> None:
    """Call ``stream.write`` until it has taken all of `data`; a raw stream may take part."""
    view = memoryview(data).cast("B")
    while view:
        try:
            written = stream.write(view)
        except BlockingIOError as exc:  # a non-blocking stdout, full for now
            written = exc.characters_written
            _wait_writable(stream)
        if written is None:  # the same, from a raw stream
            _wait_writable(stream)
            continue
        if written == 0:  # a raw stream that takes nothing would loop forever
            raise OSError(errno.EIO, "the stream accepted no data")
        view = view[written:]


@contextlib.contextmanager
def checked_stdout() -> Iterator[None]:
    """Within the block, sys.stdout is buffered and raises `OutputError` for a failed write.

    Only the process's real stdout is replaced (a test runner's capture is left
    alone); it is put back, flushed, at the end.
    """
    original = sys.stdout
    try:
        fd = original.fileno()
        original.flush()
    except (AttributeError, OSError, ValueError):
        yield
        return
    raw = io.FileIO(fd, "wb", closefd=False)
    checked = io.TextIOWrapper(
        _CheckedWriter(raw),
        encoding=original.encoding,
        errors=original.errors,
        line_buffering=bool(original.line_buffering),
    )
    sys.stdout = checked
    try:
        yield
        checked.flush()
    finally:
        sys.stdout = original
        with contextlib.suppress(OSError):
            checked.flush()  # an error was already reported; what is left goes nowhere
        checked.detach()


class _CheckedWriter(io.BufferedWriter):
    """stdout's bytes: short writes retried (by the buffer), errors as one `OutputError`."""

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        size = len(view)
        while True:
            try:
                super().write(view)
                return size
            except BlockingIOError as exc:  # a non-blocking stdout, full for now
                view = view[exc.characters_written :]
                _wait_writable(self.raw)
            except OSError as exc:
                raise _stdout_error(exc, self.raw) from None

    def flush(self) -> None:
        while True:
            try:
                super().flush()
                return
            except BlockingIOError:
                _wait_writable(self.raw)
            except OSError as exc:
                raise _stdout_error(exc, self.raw) from None


def _stdout_error(exc: OSError, stream: object) -> OutputError:
    _discard(stream)
    if isinstance(exc, BrokenPipeError):
        return OutputError("-: standard output was closed before all data was written")
    return OutputError(f"-: cannot write to standard output: {exc.strerror or exc}")


def _discard(stream: object) -> None:
    """Point the failed stream's file at the null device, so the exit's flush of the rest is silent.

    Otherwise Python prints "Exception ignored ... BrokenPipeError" as it exits.
    """
    with contextlib.suppress(AttributeError, OSError, ValueError):
        fd = stream.fileno()  # type: ignore[attr-defined]
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)


def _wait_writable(stream: Any) -> None:
    select.select([], [stream], [])
