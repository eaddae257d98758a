"""Nearest-centre searches: each point's nearest centre and the distances its bounds need.

`nearest_two` serves Lloyd with bounds (`ccodec.kmeans.lloyd.LloydState`),
`nearest_batch` the plain Lloyd of several restarts at once. Distances come
from matrix products a chunk of points at a time, so memory grows with the
number of points, never points x K.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CHUNK_ELEMENTS",
    "group_columns",
    "nearest_batch",
    "nearest_two",
    "root",
    "squared_norms",
]

# Up to this K, distance searches of at least this many points per centre
# run one centre at a time over blocks of at most this many points, and
# this many distances (a larger product goes to two BLAS threads)
# (`_nearest_two_by_centre`).
_BY_CENTRE_UP_TO = 20
_BY_CENTRE_ROWS = 64
_BY_CENTRE_BLOCK = 1 << 14
_BY_CENTRE_ELEMENTS = 1 << 18
# Distance matrices are built this many elements at a time (256 KiB of
# float32: it stays in cache, and BLAS runs products this small on one thread).
CHUNK_ELEMENTS = 1 << 16
# ...but at least this many rows: at K = 65,536 one row a chunk would spend
# its time in Python.
_MIN_ROWS = 64
# Up to this K the restarts' search takes one packed minimum (`_nearest_batch_packed`).
_PACKED_UP_TO = 50


# Weighted sums go through einsum, not `@`: BLAS would spread these
# memory-bound vector products over threads, which only adds waiting.


def squared_norms(points: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", points, points)


def root(squared: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(squared, 0, out=squared), out=squared)


def nearest_two(
    points: np.ndarray,
    centers: np.ndarray,
    starts: np.ndarray,
    layout: tuple[np.ndarray, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest centre of each point, the distance to it, and to the nearest other per group.

    Groups are the runs of centres beginning at `starts`; the result's last
    array is (N, len(starts)). Distances come from one matrix product per
    chunk of a few MiB, so memory grows with the number of points, never
    points x K. `layout` is `group_columns(starts, K)`, which a state
    makes once and keeps.
    """
    n, k = len(points), len(centers)
    if k <= _BY_CENTRE_UP_TO and n >= _BY_CENTRE_ROWS * k:
        return _nearest_two_by_centre(points, centers, starts)
    columns, depth = layout
    n_groups = len(starts)
    labels = np.empty(n, np.intp)
    first = np.empty(n, np.float32)
    others = np.full((n, n_groups), np.inf, np.float32)
    # Padding columns (index k) get an infinite norm: never nearest.
    padded = np.concatenate([centers, np.zeros((1, centers.shape[1]), np.float32)])
    minus_two_t = np.ascontiguousarray(-2 * padded[columns].T)
    centers_sq = np.append(squared_norms(centers), np.float32(np.inf))[columns]
    step = max(_MIN_ROWS, CHUNK_ELEMENTS // len(columns))
    rows = np.arange(min(step, n))
    # One buffer for every chunk: a fresh 256 KiB array each time costs
    # more than the product itself.
    buffer = np.empty((min(step, n), len(columns)), np.float32)
    for start in range(0, n, step):
        chunk = points[start : start + step]
        d = np.matmul(chunk, minus_two_t, out=buffer[: len(chunk)])
        d += centers_sq
        r = rows[: len(chunk)]
        best = np.argmin(d, axis=1)
        end = start + len(chunk)
        labels[start:end] = columns[best]
        first[start:end] = d[r, best]
        if k > 1:
            d[r, best] = np.inf
            others[start:end] = _fold_min(d, depth, n_groups)
    points_sq = squared_norms(points)
    first += points_sq
    others += points_sq[:, None]
    return labels, root(first), root(others)


def _nearest_two_by_centre(
    points: np.ndarray, centers: np.ndarray, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`nearest_two` for small K: one pass per centre over a block of points.

    Distances come as centres x points, and each centre's row updates a
    running minimum, its index and a second minimum per group, every call
    over thousands of points. Searching each point's row of only 2-20
    columns instead pays NumPy's per-row overhead, most of the time there.
    """
    n, k = len(points), len(centers)
    n_groups = len(starts)
    ends = np.append(starts[1:], k)
    labels = np.empty(n, np.intp)
    first = np.empty(n, np.float32)
    # (groups, points), returned transposed: `LloydState` keeps it this way round.
    others = np.empty((n_groups, n), np.float32)
    minus_two = np.ascontiguousarray(-2 * centers)
    centers_sq = squared_norms(centers)[:, None]
    points_t = np.ascontiguousarray(points.T)
    width = min(n, _BY_CENTRE_BLOCK, _BY_CENTRE_ELEMENTS // k)
    distances = np.empty(k * width, np.float32)
    best = np.empty((n_groups, width), np.float32)
    second = np.empty((n_groups, width), np.float32)
    best_of = np.empty((n_groups, width), np.intp)
    larger = np.empty(width, np.float32)
    closer = np.empty(width, bool)
    for start in range(0, n, width):
        end = min(start + width, n)
        w = end - start
        d = distances[: k * w].reshape(k, w)
        np.matmul(minus_two, points_t[:, start:end], out=d)
        d += centers_sq
        for g in range(n_groups):
            low, high = best[g, :w], second[g, :w]
            index = best_of[g, :w]
            low[:] = d[starts[g]]
            high.fill(np.inf)
            index.fill(starts[g])
            for j in range(starts[g] + 1, ends[g]):
                # The second smallest so far: the least of it and max(best, this row).
                np.maximum(low, d[j], out=larger[:w])
                np.minimum(high, larger[:w], out=high)
                # Strictly closer: ties keep the lower index, as argmin does.
                np.less(d[j], low, out=closer[:w])
                np.copyto(index, j, where=closer[:w])
                np.minimum(low, d[j], out=low)
        if n_groups == 1:
            labels[start:end], first[start:end] = best_of[0, :w], best[0, :w]
            others[0, start:end] = second[0, :w]
            continue
        group = np.argmin(best[:, :w], axis=0)
        columns = np.arange(w)
        labels[start:end] = best_of[group, columns]
        first[start:end] = best[group, columns]
        # Every other group's nearest member, and the nearest group's second.
        others[:, start:end] = best[:, :w]
        others[group, start + columns] = second[group, columns]
    points_sq = squared_norms(points)
    first += points_sq
    others += points_sq
    return labels, root(first), root(others).T


def group_columns(starts: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    """Columns for the distance matrix: member s of group g at column s * groups + g.

    Groups shorter than the longest are padded with index `k`. In this
    layout the minimum per group is a few element-wise minima of column
    blocks (`_fold_min`), faster than np.minimum.reduceat over rows.
    """
    sizes = np.diff(np.append(starts, k))
    depth = int(sizes.max())
    columns = np.full((depth, len(starts)), k, np.intp)
    for g, (begin, size) in enumerate(zip(starts, sizes, strict=True)):
        columns[:size, g] = np.arange(begin, begin + size)
    return columns.reshape(-1), depth


def _fold_min(d: np.ndarray, depth: int, width: int) -> np.ndarray:
    """The minimum over s of d[:, s * width + g], (rows, width), by folding halves."""
    while depth > 1:
        half = depth // 2
        folded = np.minimum(d[:, : half * width], d[:, (depth - half) * width : depth * width])
        if depth % 2:
            middle = d[:, half * width : (half + 1) * width]
            np.minimum(folded[:, :width], middle, out=folded[:, :width])
        d, depth = folded, half
    return d


def nearest_batch(points: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest of R sets of K centres (R, K, C) for each point: labels, distances, both (R, N).

    The distances leave out |x|^2, the same for every centre.
    """
    runs, k, _ = centers.shape
    if k <= _PACKED_UP_TO:
        return _nearest_batch_packed(points, centers)
    flat = centers.reshape(runs * k, -1)
    minus_two_t = -2 * flat.T
    centers_sq = squared_norms(flat)
    n = len(points)
    labels = np.empty((runs, n), np.intp)
    nearest = np.empty((runs, n), np.float32)
    step = max(1, CHUNK_ELEMENTS // (runs * k))
    for start in range(0, n, step):
        d = points[start : start + step] @ minus_two_t
        d += centers_sq
        d = d.reshape(len(d), runs, k)
        best = np.argmin(d, axis=2)
        labels[:, start : start + len(d)] = best.T
        nearest[:, start : start + len(d)] = np.take_along_axis(d, best[..., None], 2)[..., 0].T
    return labels, nearest


def _nearest_batch_packed(points: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`nearest_batch` for small K: one minimum over blocks, not an argmin per point.

    Each squared distance (made non-negative with |x|^2, taken off again at
    the end) carries its centre's index in its lowest mantissa bits:
    non-negative floats order as their bits do, so the minimum over a run's
    K rows of a centres x points block is the nearest centre and its
    distance, to 2^(log2 K - 23) relative. The restarts only need to rank
    runs roughly, and their centres are polished exactly later (`LloydState`);
    an argmin per point and run over so few columns costs more.
    """
    runs, k, channels = centers.shape
    mask = np.int32((1 << max(1, (k - 1).bit_length())) - 1)
    flat = centers.reshape(runs * k, channels)
    minus_two = -2 * flat
    centers_sq = squared_norms(flat)[:, None]
    index = np.tile(np.arange(k, dtype=np.int32), runs)[:, None]
    points_t = np.ascontiguousarray(points.T)
    points_sq = squared_norms(points)
    n = len(points)
    labels = np.empty((runs, n), np.intp)
    nearest = np.empty((runs, n), np.float32)
    step = max(1, CHUNK_ELEMENTS // (runs * k))
    for start in range(0, n, step):
        end = min(start + step, n)
        d = minus_two @ points_t[:, start:end]
        d += centers_sq
        d += points_sq[start:end]
        packed = np.maximum(d, 0, out=d).view(np.int32)
        packed &= ~mask
        packed |= index
        best = packed.reshape(runs, k, end - start).min(axis=1)
        labels[:, start:end] = best & mask
        nearest[:, start:end] = (best & ~mask).view(np.float32)
    nearest -= points_sq
    return labels, nearest
