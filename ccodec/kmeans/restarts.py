"""Restarts: k-means++ and rough Lloyd from several seeds on a coarse level; the best go on."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .lloyd import LloydState, plain_lloyd_batch
from .seeding import kmeans_plusplus

__all__ = ["best_of_restarts"]

# Restarts on at most this many points x clusters run plain Lloyd steps.
_PLAIN_UP_TO = 1 << 20
# Restarts end early when a run's error is within this fraction of the best
# one's: at K=2 every run finds the same split.
_SAME_RUN = 1e-6
# The best runs on the coarsest level that go on to the next level (the
# coarse level ranks runs only roughly).
_FINALISTS = 2


def best_of_restarts(
    points: np.ndarray,
    weights: np.ndarray,
    k: int,
    rng: np.random.Generator,
    max_iter: int,
    share: float = 1.0,
    finalists: int = _FINALISTS,
) -> list[np.ndarray]:
    """k-means++ then rough Lloyd from several seeds; the centres of the best runs, best first.

    `share` scales the usual number of restarts (at least one runs); the best
    `finalists` runs are returned.
    """
    restarts = max(1, round(_restarts(k) * share))
    if len(points) * k <= _PLAIN_UP_TO:
        # All runs' Lloyd steps at once: on a few hundred points each step
        # is mostly per-call overhead, paid once instead of once per run.
        starts = kmeans_plusplus(points, weights, k, rng, restarts)
        found: Iterable[tuple[np.ndarray, float]] = zip(
            *plain_lloyd_batch(points, weights, starts, max_iter), strict=True
        )
    else:
        found = (_rough_run(points, weights, k, rng, max_iter) for _ in range(restarts))
    runs: list[tuple[float, np.ndarray]] = []
    for centers, inertia in found:
        if any(abs(inertia - other) <= _SAME_RUN * other for other, _ in runs):
            break  # two runs found the same minimum: more would very likely too
        runs.append((float(inertia), centers))
    runs.sort(key=lambda run: run[0])
    return [centers for _, centers in runs[:finalists]]


def _restarts(k: int) -> int:
    # Single runs vary by a few per cent at small K; at large K the many
    # clusters average out and a restart costs more.
    return 8 if k <= 20 else 4 if k <= 64 else 2 if k <= 128 else 1


def _rough_run(
    points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator, max_iter: int
) -> tuple[np.ndarray, float]:
    """One restart with Yinyang bounds, for levels too large for `plain_lloyd_batch`."""
    state = LloydState(points, weights, kmeans_plusplus(points, weights, k, rng)[0])
    state.iterate(max_iter, 0.0, rough=True)
    return state.centers, state.inertia()
