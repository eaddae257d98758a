"""The first centres: greedy weighted k-means++, or (above `SPLIT_ABOVE`) cluster splits."""

from __future__ import annotations

import numpy as np

from .nearest import squared_norms

__all__ = ["SPLIT_ABOVE", "kmeans_plusplus", "split_centers"]

# Above this K, greedy k-means++ (K passes over the points, each with a dozen
# candidates) is too slow: the first centres come from splitting clusters
# along their widest axis instead, a dozen passes in all.
SPLIT_ABOVE = 256
# Greedy k-means++ candidates per centre: base + factor * log(K), twice
# scikit-learn's log factor (a better worst case over seeds).
_TRIALS_BASE, _TRIALS_LOG = 2, 2.0


def kmeans_plusplus(
    points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator, runs: int = 1
) -> np.ndarray:
    """Greedy weighted k-means++, `runs` independent times: centres (runs, K, C).

    Of a few candidates per step keep the one that lowers the error most.
    The runs step together, so a small level pays the per-step overhead once
    for all of them, not once per run.
    """
    n = len(points)
    n_trials = _TRIALS_BASE + int(_TRIALS_LOG * np.log(k))
    # Candidates x points, so every product, minimum and weighted sum runs
    # along contiguous rows.
    points_t = np.ascontiguousarray(points.T)
    points_sq = squared_norms(points)
    weights32 = weights.astype(np.float32)
    every_run = np.arange(runs)
    # Each run's draws are one stretch of the stream, as if the runs ran one
    # after another: the same seed picks the same centres however they step.
    uniform = rng.random((runs, 1 + (k - 1) * n_trials))
    cumulative = np.cumsum(weights)
    first = np.searchsorted(cumulative, uniform[:, 0] * cumulative[-1], "right")
    chosen = np.empty((runs, k), np.intp)
    chosen[:, 0] = np.minimum(first, n - 1)
    closest = _distances_from(points[chosen[:, 0]], points_t, points_sq)
    for step in range(1, k):
        cumulative = np.cumsum(weights * closest, axis=1)
        draws = uniform[:, 1 + (step - 1) * n_trials : 1 + step * n_trials] * cumulative[:, -1:]
        candidates = np.minimum(
            [np.searchsorted(c, d, "right") for c, d in zip(cumulative, draws, strict=True)], n - 1
        )
        trials = _distances_from(points[candidates.ravel()], points_t, points_sq)
        trials = trials.reshape(runs, n_trials, n)
        np.minimum(trials, closest[:, None, :], out=trials)
        best = np.argmin(trials @ weights32, axis=1)
        chosen[:, step] = candidates[every_run, best]
        closest = trials[every_run, best]
    return points[chosen]


def _distances_from(centers: np.ndarray, points_t: np.ndarray, points_sq: np.ndarray) -> np.ndarray:
    """Squared distances (len(centers), N) from a few centres to points given as (C, N)."""
    d = (-2 * centers) @ points_t
    d += points_sq
    d += squared_norms(centers)[:, None]
    return np.maximum(d, 0, out=d)


def split_centers(points: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """K centres by splitting clusters at their mean along their widest axis.

    Every round splits the clusters with the largest error (all of them
    until the last rounds), so it takes about log2(K) passes over the points
    however large K is. Needs more than K distinct points.
    """
    n, channels = points.shape
    labels = np.zeros(n, np.intp)
    values = points.astype(np.float64)
    weighted = [weights * values[:, c] for c in range(channels)]
    squares = [w * values[:, c] for c, w in enumerate(weighted)]
    count = 1
    while True:
        totals = np.bincount(labels, weights, count)
        sums = np.stack([np.bincount(labels, w, count) for w in weighted], axis=1)
        means = sums / totals[:, None]
        if count == k:
            return means.astype(np.float32)
        spread: np.ndarray = np.stack([np.bincount(labels, q, count) for q in squares], axis=1)
        spread -= sums * means
        # A single point has no spread, whatever rounding says.
        spread[np.bincount(labels, minlength=count) < 2] = 0
        error = spread.sum(axis=1)
        order = np.argsort(-error, kind="stable")[: min(count, k - count)]
        order = order[error[order] > 0]
        new_ids = np.full(count, -1, np.intp)
        new_ids[order] = np.arange(count, count + len(order))
        axis = np.argmax(spread, axis=1)
        point_axis = axis[labels]
        right = values[np.arange(n), point_axis] > means[labels, point_axis]
        right &= new_ids[labels] >= 0
        labels[right] = new_ids[labels[right]]
        # A split that rounding left one-sided would leave an empty cluster.
        present = np.bincount(labels, minlength=count + len(order)) > 0
        if not present.all():
            labels = (np.cumsum(present) - 1)[labels]
        if int(present.sum()) == count:
            k = count  # nothing left to split: fewer distinct points than K
        count = int(present.sum())
