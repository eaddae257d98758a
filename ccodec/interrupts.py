"""SIGTERM handled like Ctrl-C: the same cleanup runs, so no temporary file is left behind.

`timeout`, `kill` and `docker stop` send SIGTERM, whose default action ends
the process at once, before `write_atomic` can remove its temporary file.
Within `terminate_as_interrupt` SIGTERM raises `Terminated`, a
`KeyboardInterrupt`, wherever Ctrl-C's would be raised.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

__all__ = ["Terminated", "ignore_interrupts", "terminate_as_interrupt"]


class Terminated(KeyboardInterrupt):
    """The process got SIGTERM; handled wherever Ctrl-C is."""


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises `Terminated` in this process's main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers
        return
    owner = os.getpid()

    def raise_terminated(signum: int, frame: object) -> None:
        if os.getpid() != owner:  # a forked worker: end as SIGTERM's default does
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise Terminated

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        # None: a handler set outside Python, which cannot be put back; the default is closest.
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def ignore_interrupts() -> None:
    """From now on Ctrl-C and SIGTERM do nothing: the command is already on its way out.

    Without this a second press during the exit (Python's atexit handlers, the
    summary being printed) ends the process by SIGINT instead of status 130.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
