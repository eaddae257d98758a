"""A progress bar on stderr for long runs, shown only to a person at a terminal."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

import click

__all__ = ["progress"]


@contextlib.contextmanager
def progress(total: int, label: str, *, file: TextIO | None = None) -> Iterator[Callable[[], None]]:
    """Yield a function to call once per finished step; draws a bar on `file` (stderr).

    Draws nothing when `file` is not a terminal, so pipes, logs and captured
    output stay clean, and nothing for a single step.

    >>> import io
    >>> with progress(3, "working", file=io.StringIO()) as step:
    ...     step()
    """
    file = sys.stderr if file is None else file
    if total < 2 or not file.isatty():
        yield lambda: None
        return
    with click.progressbar(length=total, label=label, file=file, show_pos=True) as bar:
        yield lambda: bar.update(1)
