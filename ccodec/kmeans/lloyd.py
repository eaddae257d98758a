"""Weighted Lloyd iterations: `LloydState` with Yinyang group bounds, and a plain batch form.

Steps start over-relaxed (past the mean) and turn plain at the first step
that raises the error.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .nearest import group_columns, nearest_batch, nearest_two, root, squared_norms
from .seeding import SPLIT_ABOVE

__all__ = ["LloydState", "plain_lloyd_batch"]

# Yinyang groups hold about this many centres, and cost one float per point
# and group, capped at this many floats in all.
_GROUP_SIZE = 8
_MAX_GROUP_ELEMENTS = 1 << 25
# Over-relaxed Lloyd steps go this far towards (and past) the mean.
_RELAX = 1.9
# A coarse level counts as settled when at most this fraction of points move.
_ROUGH_CHANGES = 1e-2


def _groups(centers: np.ndarray, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """An order of the centres that puts nearby ones in runs, and where each run starts.

    The runs are the groups of Yinyang k-means's bounds.
    A point's lower bound per group then only falls by the largest step
    within that group, not the largest of all K (Hamerly), so far fewer
    points are looked at again when one centre jumps. Groups come from
    median splits along the widest axis, so their sizes differ by at most
    one and the distance matrix needs almost no padding.
    """
    k = len(centers)
    n_groups = min(k // _GROUP_SIZE, _MAX_GROUP_ELEMENTS // max(n_points, 1))
    if n_groups <= 1:
        return np.arange(k), np.zeros(1, np.intp)
    runs = _median_split(centers, np.arange(k), n_groups)
    order = np.concatenate(runs)
    return order, np.cumsum([0] + [len(run) for run in runs[:-1]])


def _median_split(centers: np.ndarray, index: np.ndarray, parts: int) -> list[np.ndarray]:
    if parts == 1:
        return [index]
    values = centers[index]
    axis = int(np.argmax(values.max(axis=0) - values.min(axis=0)))
    index = index[np.argsort(values[:, axis], kind="stable")]
    left = parts // 2
    cut = len(index) * left // parts
    return _median_split(centers, index[:cut], left) + _median_split(
        centers, index[cut:], parts - left
    )


def _half_gaps(centers: np.ndarray) -> np.ndarray:
    """Half the distance from each centre to the nearest other (Hamerly's s).

    A point closer than that to its centre cannot be closer to any other.
    """
    k = len(centers)
    if k == 1:
        return np.full(1, np.inf, np.float32)
    norms = squared_norms(centers)
    minus_two_t = -2 * centers.T
    nearest = np.empty(k, np.float32)
    # Rows at a time: K x K would be 16 GiB at K = 65,536.
    step = max(1, (1 << 20) // k)
    for start in range(0, k, step):
        between = centers[start : start + step] @ minus_two_t
        between += norms
        between += norms[start : start + step, None]
        rows = np.arange(len(between))
        between[rows, rows + start] = np.inf
        nearest[start : start + len(between)] = between.min(axis=1)
    return root(nearest) / 2


class LloydState:
    """Weighted Lloyd iterations with Yinyang's group bounds.

    Each point keeps an upper bound on the distance to its centre and, per
    group of nearby centres, a lower bound on the distance to any other in
    the group; after the centres move, only points whose bounds cross are
    looked at again.
    """

    def __init__(
        self,
        points: np.ndarray,
        weights: np.ndarray,
        centers: np.ndarray,
        n_groups_for: int | None = None,
    ) -> None:
        self.points, self.weights = points, weights
        # Groups sized for the finest level, so finer levels can inherit the bounds.
        order, self.starts = _groups(centers, n_groups_for or len(points))
        self.centers = centers[order].astype(np.float32)
        self.k = len(centers)
        # The distance matrix's column layout, the same for every re-assignment.
        self.layout = group_columns(self.starts, len(centers))
        self.labels, self.upper, lower = nearest_two(points, self.centers, self.starts, self.layout)
        # (groups, points): the per-point minimum then runs along whole rows.
        self.lower = np.ascontiguousarray(lower.T)
        self.norm_total = float(np.einsum("i,ij,ij->", weights, points, points.astype(np.float64)))
        self._recount()

    def finer(self, points: np.ndarray, weights: np.ndarray, parent: np.ndarray) -> LloydState:
        """A state on a finer level whose point i lies in this level's bin parent[i].

        Each point starts with its bin's label; a group's lower bound is the
        bin's less the distance from the point to the bin's mean (the
        triangle inequality), and the upper bound is exact. The first move
        re-assigns only points whose bounds cross, instead of a search of
        every point against all K centres.
        """
        state = object.__new__(LloydState)
        state.points, state.weights = points, weights
        state.starts, state.centers, state.k = self.starts, self.centers, self.k
        state.layout = self.layout
        state.labels = self.labels[parent]
        diff = points - self.centers[state.labels]
        state.upper = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        shift = points - self.points[parent]
        state.lower = self.lower[:, parent]
        state.lower -= np.sqrt(np.einsum("ij,ij->i", shift, shift))
        state.norm_total = float(np.einsum("i,ij,ij->", weights, points, points.astype(np.float64)))
        state._recount()
        return state

    def _recount(self) -> None:
        w, labels = self.weights, self.labels
        self.totals = np.bincount(labels, weights=w, minlength=self.k)
        self.sums = np.stack(
            [
                np.bincount(labels, weights=w * self.points[:, c], minlength=self.k)
                for c in range(self.points.shape[1])
            ],
            axis=1,
        )

    def inertia(self) -> float:
        """The weighted sum of squared distances, from the cluster sums in O(K)."""
        # sum w|x - c|^2 = sum w|x|^2 - 2 c.S + W|c|^2 per cluster, in float64.
        centers = self.centers.astype(np.float64)
        cross = np.einsum("kc,kc->", centers, self.sums)
        return float(
            self.norm_total - 2 * cross + np.einsum("k,kc,kc->", self.totals, centers, centers)
        )

    def means(self) -> tuple[np.ndarray, np.ndarray]:
        """The weighted mean of each cluster; empty ones re-seeded far away."""
        totals = self.totals
        empty = np.flatnonzero(totals <= 0)
        means = self.sums / np.where(totals > 0, totals, 1)[:, None]
        if len(empty):
            # As scikit-learn does: at the points that cost the most.
            cost = self.weights * self.upper.astype(np.float64) ** 2
            far = np.argsort(-cost, kind="stable")[: len(empty)]
            means[empty] = self.points[far]
        return means.astype(np.float32), empty

    def move(self, centers: np.ndarray, weights: np.ndarray | None = None) -> float:
        """Move the centres, restore exact labels; how many points (or how much weight) changed."""
        centers = centers.astype(np.float32)
        delta = np.sqrt(np.einsum("ij,ij->i", centers - self.centers, centers - self.centers))
        self.centers = centers
        labels = self.labels
        self.upper += delta[labels]
        self.lower -= np.maximum.reduceat(delta, self.starts)[:, None]
        bound = np.maximum(np.min(self.lower, axis=0), _half_gaps(centers)[labels])
        check = np.flatnonzero(self.upper > bound)
        if len(check) == 0:
            return 0
        # np.take, not points[check]: NumPy's fancy indexing of whole rows is slower.
        diff = np.take(self.points, check, axis=0)
        diff -= np.take(centers, labels[check], axis=0)
        upper = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        self.upper[check] = upper
        check = check[upper > bound[check]]
        if len(check) == 0:
            return 0
        old = labels[check]
        self._reassign(check)
        moved = self.labels[check] != old
        changed, old = check[moved], old[moved]
        if len(changed) > len(labels) // 8:
            self._recount()
        elif len(changed):
            w = self.weights[changed]
            new = self.labels[changed]
            points = np.take(self.points, changed, axis=0)
            self.totals += np.bincount(new, w, self.k) - np.bincount(old, w, self.k)
            for c in range(self.points.shape[1]):
                wx = w * points[:, c]
                self.sums[:, c] += np.bincount(new, wx, self.k) - np.bincount(old, wx, self.k)
        return len(changed) if weights is None else float(weights[changed].sum())

    def _reassign(self, index: np.ndarray) -> None:
        """Exact nearest centre and bounds for points[index]."""
        self.labels[index], self.upper[index], lower = nearest_two(
            np.take(self.points, index, axis=0), self.centers, self.starts, self.layout
        )
        self.lower[:, index] = lower.T

    def iterate(
        self,
        max_iter: int,
        tol: float,
        rough: bool = False,
        on_step: Callable[[int], None] | None = None,
    ) -> None:
        """Lloyd steps until at most `tol` of the weight changes label in a step, or max_iter.

        `on_step`, if given, is called with the number of steps done after each.

        Steps start over-relaxed (past the mean, which cuts the long creep of
        plain Lloyd on dense colour data) and turn plain at the first step
        that raises the error. A `rough` run, on a coarse level that a finer
        one will polish, stops once almost no points change.
        """
        relax, error = _RELAX, self.inertia()
        if rough:
            settled, total = _ROUGH_CHANGES * len(self.points), None
        else:
            # More clusters, more borders: above SPLIT_ABOVE the fraction
            # allowed to change grows with K.
            scale = max(1.0, self.k / SPLIT_ABOVE)
            settled, total = tol * scale * float(self.weights.sum()), self.weights
        for done in range(1, max_iter + 1):
            if on_step is not None and done > 1:  # once per step: milliseconds to seconds each
                on_step(done - 1)
            means, empty = self.means()
            if relax != 1:
                target = self.centers + relax * (means - self.centers)
                target[empty] = means[empty]
                means = target
            changed = self.move(means, total)
            if relax != 1:
                new_error = self.inertia()
                if new_error > error or changed <= settled:
                    relax = 1
                error = new_error
            elif changed <= settled and not len(empty):
                break


def plain_lloyd_batch(
    points: np.ndarray, weights: np.ndarray, centers: np.ndarray, max_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    """`LloydState.iterate(rough=True)` without bounds, R runs at once: centres (R, K, C), errors.

    Each step is one distance matrix and a few bincounts: on a small level
    the bounds' bookkeeping costs more than the distances it saves. A run
    that has settled keeps its centres while the others go on.
    """
    runs, k, channels = centers.shape
    n = len(points)
    offsets = np.arange(runs) * k
    flat_weights = np.repeat(weights, runs)
    weighted = [flat_weights * np.repeat(points[:, c], runs) for c in range(channels)]
    norms = float(np.einsum("i,ij,ij->", weights, points, points.astype(np.float64)))
    settled = _ROUGH_CHANGES * n

    def assign(centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        labels, nearest = nearest_batch(points, centers)
        # Run by run, so each error sums exactly as a run on its own would.
        return labels, np.array([norms + float(weights @ row) for row in nearest])

    labels, error = assign(centers)
    relax = np.full(runs, _RELAX, np.float32)
    active = np.ones(runs, bool)
    for _ in range(max_iter):
        flat = (labels.T + offsets).ravel()
        totals = np.bincount(flat, flat_weights, runs * k).reshape(runs, k)
        sums = np.stack([np.bincount(flat, w, runs * k) for w in weighted], axis=1)
        sums = sums.reshape(runs, k, channels)
        means = (sums / np.where(totals > 0, totals, 1)[..., None]).astype(np.float32)
        empty = totals <= 0
        for r in np.flatnonzero(empty.any(axis=1)):
            # As LloydState.means: at the points that cost the most.
            diff = points - centers[r][labels[r]]
            cost = weights * np.einsum("ij,ij->i", diff, diff)
            means[r, empty[r]] = points[np.argsort(-cost, kind="stable")[: empty[r].sum()]]
        relaxed = (relax != 1)[:, None, None]
        target = np.where(relaxed, centers + relax[:, None, None] * (means - centers), means)
        target[empty] = means[empty]
        centers = np.where(active[:, None, None], target, centers)
        new_labels, new_error = assign(centers)
        changed = np.count_nonzero(new_labels != labels, axis=1)
        labels = new_labels
        quiet = changed <= settled
        done = (relax == 1) & quiet & ~empty.any(axis=1)
        relax[(relax != 1) & ((new_error > error) | quiet)] = 1
        error = np.where(active, new_error, error)
        active &= ~done
        if not active.any():
            break
    return centers, error
