"""Finalists: each restart finalist runs through every finer level and is rounded; the best wins.

A coarse level ranks runs only roughly (two finalists' order can flip on the
full histogram), so none is dropped before the end: each runs on its own,
and the lowest error of the rounded palettes decides. The runs share
nothing, so they go to two threads (NumPy's products and sorts release the
GIL) with the same result on any number of threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

from .effort import Effort
from .lloyd import LloydState
from .rounding import palette_error, round_palette, round_search, search_pays

__all__ = ["Finalist", "Levels", "best_finalist"]

# Up to this many distinct colours Lloyd runs on the full histogram until at
# most `tol` of the pixels change label; above it each step costs too much,
# and the 7-bit level's centres only get the re-centring steps of the rounding.
_EXACT_UP_TO = 1 << 18
# Above this K finer levels take labels and bounds from the coarser one
# (`LloydState.finer`); below it the inherited labels need more steps than a
# fresh search costs.
_INHERIT_ABOVE = 1024
# Threads the finalists share: the machine's cores, at most this many.
_MAX_THREADS = 2
# How often the calling thread passes the workers' progress on.
_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Levels:
    """The histogram's levels, coarsest first (the full one last), and each one's parent bins."""

    levels: list[tuple[np.ndarray, np.ndarray]]
    parent_bins: list[np.ndarray]
    colors: np.ndarray
    space: str

    @property
    def full(self) -> tuple[np.ndarray, np.ndarray]:
        return self.levels[-1]


@dataclass(frozen=True)
class Finalist:
    """A restart's centres and the level (index into `Levels.levels`) they were found on."""

    centers: np.ndarray
    level: int


def best_finalist(
    levels: Levels,
    finalists: list[Finalist],
    max_iter: int,
    tol: float,
    effort: Effort,
    report: Callable[[float], None] | None = None,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The palette and colour labels of the finalist with the lowest error once rounded.

    `report` gets the fraction of the finalists' Lloyd work done, always on
    this thread; `threads` defaults to the cores, at most two.
    """
    done = [0.0] * len(finalists)

    def run(index: int) -> tuple[float, np.ndarray, np.ndarray]:
        def progress(fraction: float) -> None:
            done[index] = fraction
            if workers <= 1 and report is not None:
                report(sum(done) / len(done))

        state = _polish(levels, finalists[index], max_iter, tol, effort, progress)
        return _rounded(levels, state, effort)

    workers = min(threads or _MAX_THREADS, os.cpu_count() or 1, len(finalists))
    if workers <= 1:
        results = [run(i) for i in range(len(finalists))]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pending = [pool.submit(run, i) for i in range(len(finalists))]
            _report_until_done(pending, done, report)
            results = [future.result() for future in pending]
    # The first of equal errors: the same choice whatever finished first.
    error, palette, labels = min(results, key=lambda result: result[0])
    return palette, labels


def _report_until_done(
    pending: list[Future], done: list[float], report: Callable[[float], None] | None
) -> None:
    """Pass the workers' progress to `report` from this thread (a progress bar's) until done."""
    last = 0.0
    while wait(pending, timeout=_POLL_SECONDS).not_done:
        fraction = sum(done) / len(done)
        if report is not None and fraction > last:
            report(fraction)
            last = fraction
    if report is not None:
        report(1.0)


def _polish(
    levels: Levels,
    finalist: Finalist,
    max_iter: int,
    tol: float,
    effort: Effort,
    report: Callable[[float], None],
) -> LloydState:
    """Lloyd on each level from the finalist's to the full histogram; its state there.

    `report` gets the fraction done: levels in equal shares, each filled by
    its steps up to the cap."""
    n_points = len(levels.full[0])
    last = len(levels.levels) - 1
    steps = min(max_iter, effort.step_cap) if effort.step_cap else max_iter
    state = None
    shares = last + 1 - finalist.level
    for level in range(finalist.level, last + 1):

        def on_step(count: int, level: int = level) -> None:
            report((level - finalist.level + min(count, steps) / steps) / shares)

        points, weights = levels.levels[level]
        if state is None:
            state = LloydState(points, weights, finalist.centers, n_points)
        elif len(state.centers) > _INHERIT_ABOVE:
            # Labels and bounds from the coarser level: no search of all K.
            state = state.finer(points, weights, levels.parent_bins[level - 1])
        else:
            state = LloydState(points, weights, state.centers, n_points)
        if level < last:
            state.iterate(steps, tol, rough=True, on_step=on_step)
        elif effort.full_lloyd and len(points) <= _EXACT_UP_TO:
            state.iterate(steps, tol * effort.final_tol_scale, on_step=on_step)
        report((level + 1 - finalist.level) / shares)
    assert state is not None
    return state


def _rounded(
    levels: Levels, state: LloydState, effort: Effort
) -> tuple[float, np.ndarray, np.ndarray]:
    """(error in the clustered space, palette, colour labels) of a state rounded to 8 bits."""
    palette, labels = round_palette(state, levels.space)
    points, weights = levels.full
    if (
        effort.round_search
        and len(palette) <= effort.search_up_to_k
        and levels.space == "rgb"
        and search_pays(len(palette), len(levels.colors))
    ):
        palette, labels = round_search(levels.colors, weights, palette)
    return palette_error(points, weights, palette, labels, levels.space), palette, labels
