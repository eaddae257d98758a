"""The progress bar: drawn on a terminal, silent everywhere else."""

from __future__ import annotations

import io

from ccodec.progress import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_draws_a_bar_on_a_terminal():
    terminal = _Terminal()
    with progress(3, "quantizing", file=terminal) as step:
        for _ in range(3):
            step()
    output = terminal.getvalue()
    assert "quantizing" in output
    assert "3/3" in output


def test_silent_when_not_a_terminal():
    pipe = io.StringIO()
    with progress(3, "quantizing", file=pipe) as step:
        step()
    assert pipe.getvalue() == ""


def test_silent_for_a_single_step():
    terminal = _Terminal()
    with progress(1, "quantizing", file=terminal) as step:
        step()
    assert terminal.getvalue() == ""
