"""ccodec.workers: a function over items in worker processes, in order, and stopped cleanly."""

from __future__ import annotations

import multiprocessing
import os

from ccodec.workers import ProcessRun


def square_or_die(n: int) -> int:
    if n == 2:
        os._exit(3)  # as the out-of-memory killer would end it, without a word
    return n * n


def died(item: int, exitcode: int | None) -> tuple[str, int, int | None]:
    return ("died", item, exitcode)


def test_results_come_in_order_and_a_dead_worker_fails_only_its_item():
    with ProcessRun(square_or_die, list(range(6)), 2, died) as run:
        results = list(run)
    assert results == [0, 1, ("died", 2, 3), 9, 16, 25]
    assert multiprocessing.active_children() == []


def test_stop_ends_the_workers_and_returns_what_finished_unseen():
    run = ProcessRun(square_or_die, [0, 1, 3, 4, 5], 2, died)
    assert next(run) == 0
    late = run.stop()
    assert set(late) <= {1, 9, 16, 25}
    assert list(run) == []
    assert run.stop() == []
    assert multiprocessing.active_children() == []
