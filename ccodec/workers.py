"""A function over many items in worker processes, stopped cleanly by Ctrl-C.

A worker gets its next item only when it is idle, so nothing waits inside a
worker: once the main process stops (it reacts to a KeyboardInterrupt, the
workers ignore SIGINT), items not started are never sent. The items in
progress are abandoned: SIGTERM makes a worker raise SystemExit, so a file it
was writing is removed on the way out (`output.write_atomic`); a worker that
does not end within `GRACE` seconds, or at a second Ctrl-C, is killed. A
worker whose parent is gone stops itself, so none outlives the command.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Generic, TypeVar

__all__ = ["GRACE", "ProcessRun", "Run", "exit_description"]

Item = TypeVar("Item")
Result = TypeVar("Result")

GRACE = 5.0  # seconds a stopped worker has to remove its temporary file and exit
_PARENT_POLL = 0.5  # seconds between a worker's checks that its parent lives
_BLOCKED = {signal.SIGINT, signal.SIGTERM}


class Run(Generic[Result]):
    """Results in the items' order; `stop` ends the run early. A context manager that stops it."""

    def __init__(self, results: Iterator[Result] | None = None) -> None:
        self._results = results
        self._stopped = False

    def __iter__(self) -> Run[Result]:
        return self

    def __next__(self) -> Result:
        if self._stopped or self._results is None:
            raise StopIteration
        return next(self._results)

    def stop(self) -> list[Result]:
        """Stop the work not yet done; return the results finished but not yet returned."""
        if self._stopped:
            return []
        self._stopped = True
        return self._stop()

    def _stop(self) -> list[Result]:
        return []

    def __enter__(self) -> Run[Result]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Worker:
    def __init__(self, fn: Callable) -> None:
        self.conn, theirs = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=_serve, args=(theirs, fn), daemon=True)
        self.index: int | None = None  # the item in progress
        self.process.start()
        theirs.close()


class ProcessRun(Run[Result], Generic[Item, Result]):
    """``fn(item)`` for each item in `workers` processes, results in the items' order.

    A worker that dies gives ``on_death(item, exitcode)`` as its item's result,
    and a new worker takes its place.
    """

    def __init__(
        self,
        fn: Callable[[Item], Result],
        items: list[Item],
        workers: int,
        on_death: Callable[[Item, int | None], Result],
    ) -> None:
        super().__init__()
        self._fn = fn
        self._items = items
        self._on_death = on_death
        self._size = workers
        self._workers: list[_Worker] = []
        self._done: dict[int, Result] = {}
        self._next_result = 0
        self._next_item = 0

    def __next__(self) -> Result:
        if self._stopped or self._next_result >= len(self._items):
            self.stop()
            raise StopIteration
        while self._next_result not in self._done:
            self._hand_out()
            self._collect()
        result = self._done.pop(self._next_result)
        self._next_result += 1
        return result

    def _hand_out(self) -> None:
        # Held back until each child has its own handlers and is in the list that stop() ends.
        with _signals_blocked():
            while len(self._workers) < self._size:
                self._workers.append(_Worker(self._fn))
        for worker in self._workers:
            if worker.index is None and self._next_item < len(self._items):
                worker.index = self._next_item
                self._next_item += 1
                worker.conn.send(self._items[worker.index])

    def _collect(self) -> None:
        busy = [worker for worker in self._workers if worker.index is not None]
        ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
        for worker in busy:
            if worker.conn in ready or worker.process.sentinel in ready:
                self._receive(worker)

    def _receive(self, worker: _Worker) -> None:
        index = worker.index
        assert index is not None
        try:
            self._done[index] = worker.conn.recv()
            worker.index = None
        except (EOFError, OSError):  # died before answering: killed, out of memory, ...
            worker.process.join(GRACE)
            self._done[index] = self._on_death(self._items[index], worker.process.exitcode)
            self._workers.remove(worker)
            worker.conn.close()

    def _stop(self) -> list[Result]:
        try:
            self._end_workers()
        except KeyboardInterrupt:  # a second Ctrl-C: wait no more
            pass
        finally:
            for worker in self._workers:
                if worker.process.is_alive():
                    worker.process.kill()
        for worker in self._workers:
            worker.process.join(1)
            worker.conn.close()
        return [self._done[index] for index in sorted(self._done)]

    def _end_workers(self) -> None:
        """Keep the answers already sent, send the idle workers home, stop the busy ones."""
        for worker in self._workers:
            if worker.index is not None and worker.conn.poll():
                self._take_answer(worker)
            if worker.index is None:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
            else:
                worker.process.terminate()
        deadline = time.monotonic() + GRACE
        for worker in self._workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.index is not None:
                self._take_answer(worker)  # sent just before the SIGTERM arrived

    def _take_answer(self, worker: _Worker) -> None:
        with contextlib.suppress(EOFError, OSError):
            if worker.conn.poll():
                self._done[worker.index] = worker.conn.recv()  # type: ignore[index]
                worker.index = None


def exit_description(exitcode: int | None) -> str:
    """How a worker ended, for a message: "signal 9" or "status 1".

    >>> exit_description(-9), exit_description(1)
    ('signal 9', 'status 1')
    """
    return f"signal {-exitcode}" if exitcode is not None and exitcode < 0 else f"status {exitcode}"


def _serve(conn: Connection, fn: Callable) -> None:
    """A worker's life: ``fn`` on each item received, until None or the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the main process to handle
    signal.signal(signal.SIGTERM, _exit)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _BLOCKED)
    _follow_parent()
    while (item := conn.recv()) is not None:
        conn.send(fn(item))


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds, so temporary files are removed


def _follow_parent() -> None:
    """Stop this worker (SIGTERM) when its parent is gone, whatever killed the parent."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="ccodec-parent-watch", daemon=True).start()


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """SIGINT and SIGTERM held back while a worker starts; they arrive afterwards."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
