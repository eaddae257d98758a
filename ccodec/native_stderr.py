"""Catching what C libraries (libtiff) write straight to file descriptor 2.

Pillow's libtiff decoder reports problems by writing to the process's
standard error at the C level, past Python's ``sys.stderr``. The command
line promises one line per problem, so while it reads an image it points
fd 2 at a temporary file and turns what arrived there into one note.
Redirecting a file descriptor affects every thread of the process: only
a single-threaded caller (the ``ccodec`` command) may use this.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

__all__ = ["captured_stderr", "summary"]

# Enough for any message worth showing; a library looping on errors cannot fill the disk.
_MAX_BYTES = 1 << 16
_STDERR = 2


@contextlib.contextmanager
def captured_stderr(enabled: bool = True) -> Iterator[list[str]]:
    """Point fd 2 at a temporary file while the block runs; the list yielded gets its lines.

    The lines (stripped, repeats dropped) are added when the block ends, also
    when it raises. Disabled, or when fd 2 cannot be redirected (closed, no
    temporary folder), the block runs as it would without this.
    """
    lines: list[str] = []
    if not enabled:
        yield lines
        return
    try:
        sink = tempfile.TemporaryFile()  # noqa: SIM115 -- closed below, once fd 2 is back
    except OSError:
        yield lines
        return
    with sink:
        try:
            _flush_python_stderr()
            saved = os.dup(_STDERR)
        except OSError:  # no fd 2 to redirect
            yield lines
            return
        os.dup2(sink.fileno(), _STDERR)
        try:
            yield lines
        finally:
            os.dup2(saved, _STDERR)
            os.close(saved)
            sink.seek(0)
            lines.extend(_distinct_lines(sink.read(_MAX_BYTES)))


def _flush_python_stderr() -> None:
    if sys.stderr is not None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()


def _distinct_lines(data: bytes) -> list[str]:
    lines: list[str] = []
    for raw in data.decode("utf-8", "replace").splitlines():
        line = " ".join(raw.split())
        if line and line not in lines:
            lines.append(line)
    return lines


def summary(lines: list[str]) -> str:
    """`lines` as one line: the first, and how many more there were.

    >>> summary(["tempfile.tif: bad strip", "another"])
    'bad strip (and 1 more message)'
    >>> summary([])
    ''
    """
    if not lines:
        return ""
    # Pillow hands libtiff a made-up file name; it names nothing the user knows.
    first = lines[0].removeprefix("tempfile.tif: ")
    more = len(lines) - 1
    tail = "" if not more else f" (and {more} more message{'s' if more > 1 else ''})"
    return f"{first}{tail}"
