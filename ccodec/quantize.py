"""Colour quantization: weighted k-means++ and Lloyd on an image's colour histogram.

The public `quantize` validates its arguments; the private helpers compute.
Clustering runs on the distinct colours of the image weighted by their pixel
counts, which gives exactly the same k-means objective as clustering every
pixel, at a fraction of the work (a photo has 30-230 thousand colours in
262 thousand pixels; a graphic far fewer).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

from .errors import OptionError

__all__ = ["MAX_COLORS", "Quantized", "quantize"]

#: The largest K a .ccz file of this version can hold.
MAX_COLORS = 256

MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}

# Distance matrices are built this many elements at a time (4 MiB of float32),
# so memory grows with the number of colours, never colours x K.
_CHUNK_ELEMENTS = 1 << 20
# Above this many distinct colours, initialise and converge on a coarse
# histogram first; the full-resolution Lloyd steps then only polish.
_COARSE_ABOVE = 1 << 15
_COARSE_BITS = 5


@dataclass(frozen=True, eq=False)
class Quantized:
    """An image reduced to a palette: ``palette[labels]`` is the image.

    ``palette`` is a (K, C) uint8 array, ``labels`` an (H, W) uint8 array of
    indices into it, and ``seed`` the seed that produced it (None when decoded).

    >>> q = quantize(np.zeros((2, 3, 3), np.uint8), 4)
    >>> q.k, q.mode, q.to_array().shape
    (1, 'RGB', (2, 3, 3))
    """

    palette: np.ndarray
    labels: np.ndarray
    seed: int | None = None

    @property
    def k(self) -> int:
        """The number of palette entries."""
        return int(self.palette.shape[0])

    @property
    def channels(self) -> int:
        return int(self.palette.shape[1])

    @property
    def mode(self) -> str:
        """The Pillow mode of the image: L, LA, RGB or RGBA."""
        return MODES[self.channels]

    @property
    def height(self) -> int:
        return int(self.labels.shape[0])

    @property
    def width(self) -> int:
        return int(self.labels.shape[1])

    def to_array(self) -> np.ndarray:
        """The quantized pixels: (H, W, C) uint8, or (H, W) for one channel."""
        pixels = np.take(self.palette, self.labels, axis=0)
        return pixels[..., 0] if self.channels == 1 else pixels

    def to_image(self):
        """The quantized pixels as a PIL image in mode `mode`."""
        from PIL import Image

        return Image.fromarray(self.to_array(), self.mode)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantized):
            return NotImplemented
        return np.array_equal(self.palette, other.palette) and np.array_equal(
            self.labels, other.labels
        )

    __hash__ = None  # type: ignore[assignment]


def quantize(
    pixels: np.ndarray,
    k: int,
    *,
    seed: int | None = 0,
    max_iter: int = 300,
    tol: float = 1e-5,
) -> Quantized:
    """Reduce an image to at most `k` colours with k-means++ and Lloyd iterations.

    `pixels` is an (H, W) or (H, W, C) uint8 array with C from 1 to 4 (L, LA,
    RGB, RGBA; alpha is clustered as one more channel). The result has exactly
    `k` palette entries, or fewer when the image has no more than `k` distinct
    colours, in which case it is exact. Iteration stops when the labels stop
    changing, when the error falls by less than `tol` (relative) in a step,
    or after `max_iter` steps. The same `seed` gives the same result;
    ``seed=None`` draws a fresh one and records it in ``result.seed``.

    >>> img = np.array([[[0, 0, 0], [0, 0, 0]], [[255, 0, 0], [250, 0, 0]]], np.uint8)
    >>> q = quantize(img, 2, seed=0)
    >>> sorted(q.palette.tolist())
    [[0, 0, 0], [252, 0, 0]]
    """
    pixels = _validate_pixels(pixels)
    k = _validate_int("k", k, 1, MAX_COLORS)
    max_iter = _validate_int("max_iter", max_iter, 1, None)
    if not (isinstance(tol, (int, float)) and 0 <= tol < 1):
        raise OptionError(f"tol={tol!r} should be a number in [0, 1).")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (1 << 32))
    else:
        seed = _validate_int("seed", seed, 0, None)

    height, width = pixels.shape[:2]
    flat = pixels.reshape(height * width, -1)
    palette, labels = _quantize(flat, k, np.random.default_rng(seed), max_iter, tol)
    return Quantized(palette, labels.reshape(height, width), seed)


def _validate_pixels(pixels: object) -> np.ndarray:
    array = np.asarray(pixels)
    if array.dtype != np.uint8:
        raise OptionError(f"pixels must be uint8, not {array.dtype}.")
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or not 1 <= array.shape[2] <= 4:
        raise OptionError(
            f"pixels must have shape (H, W) or (H, W, C) with C in 1..4, not {np.shape(pixels)}."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise OptionError(f"pixels must not be empty, got shape {np.shape(pixels)}.")
    return np.ascontiguousarray(array)


def _validate_int(name: str, value: object, low: int, high: int | None) -> int:
    if isinstance(value, bool):
        raise OptionError(f"{name}={value!r} should be an integer.")
    try:
        value = operator.index(value)
    except TypeError:
        raise OptionError(f"{name}={value!r} should be an integer.") from None
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in {low}..{high}"
        raise OptionError(f"{name}={value} should be {bounds}.")
    return value


def _quantize(
    flat: np.ndarray, k: int, rng: np.random.Generator, max_iter: int, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """Palette (K', C) uint8 and labels (N,) uint8 for flat (N, C) uint8 pixels."""
    colors, inverse, counts = _histogram(flat)
    if len(colors) <= k:
        return colors, inverse.astype(np.uint8)

    points = colors.astype(np.float32) / 255
    weights = counts.astype(np.float64)
    if len(colors) > _COARSE_ABOVE:
        coarse_points, coarse_weights = _coarse_histogram(colors, points, weights)
        if len(coarse_points) >= 4 * k:
            centers = _kmeans_plusplus(coarse_points, coarse_weights, k, rng)
            centers = _lloyd(coarse_points, coarse_weights, centers, max_iter, tol * 10)
        else:
            centers = _kmeans_plusplus(points, weights, k, rng)
    else:
        centers = _kmeans_plusplus(points, weights, k, rng)
    centers = _lloyd(points, weights, centers, max_iter, tol)
    palette, color_labels = _round_palette(colors, weights, centers)
    return palette, color_labels[inverse]


def _histogram(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct colours (M, C) uint8, the inverse index (N,), and counts (M,)."""
    channels = flat.shape[1]
    keys = np.zeros(len(flat), np.uint32)
    for c in range(channels):
        keys |= flat[:, c].astype(np.uint32) << np.uint32(8 * c)
    unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    shifts = np.arange(channels, dtype=np.uint32) * np.uint32(8)
    colors = ((unique[:, None] >> shifts) & np.uint32(0xFF)).astype(np.uint8)
    return colors, inverse.reshape(-1), counts


def _coarse_histogram(
    colors: np.ndarray, points: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Merge colours that agree in their top bits into their weighted mean."""
    drop = 8 - _COARSE_BITS
    keys = np.zeros(len(colors), np.uint32)
    for c in range(colors.shape[1]):
        keys |= (colors[:, c] >> drop).astype(np.uint32) << np.uint32(_COARSE_BITS * c)
    _, bins = np.unique(keys, return_inverse=True)
    bins = bins.reshape(-1)
    bin_weights = np.bincount(bins, weights=weights)
    sums = np.stack(
        [np.bincount(bins, weights=weights * points[:, c]) for c in range(points.shape[1])],
        axis=1,
    )
    return (sums / bin_weights[:, None]).astype(np.float32), bin_weights


def _squared_norms(points: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", points, points)


def _assign(
    points: np.ndarray, centers: np.ndarray, points_sq: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre of each point and the squared distance to it, in chunks."""
    if points_sq is None:
        points_sq = _squared_norms(points)
    centers = centers.astype(np.float32)
    centers_sq = _squared_norms(centers)
    labels = np.empty(len(points), np.intp)
    distances = np.empty(len(points), np.float32)
    step = max(1, _CHUNK_ELEMENTS // len(centers))
    for start in range(0, len(points), step):
        chunk = points[start : start + step]
        d = chunk @ (-2 * centers.T)
        d += centers_sq
        best = np.argmin(d, axis=1)
        labels[start : start + step] = best
        distances[start : start + step] = np.take_along_axis(d, best[:, None], 1)[:, 0]
    distances += points_sq
    np.maximum(distances, 0, out=distances)
    return labels, distances


def _kmeans_plusplus(
    points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """Greedy weighted k-means++: of a few candidates per step keep the best."""
    n_trials = 2 + int(np.log(k))
    points_sq = _squared_norms(points)
    first = int(np.searchsorted(np.cumsum(weights), rng.random() * weights.sum(), "right"))
    centers = [points[min(first, len(points) - 1)]]
    closest = _assign(points, centers[0][None], points_sq)[1].astype(np.float64)
    for _ in range(1, k):
        cumulative = np.cumsum(weights * closest)
        draws = rng.random(n_trials) * cumulative[-1]
        candidates = np.minimum(np.searchsorted(cumulative, draws, "right"), len(points) - 1)
        best_potential, best_closest, best_index = np.inf, closest, candidates[0]
        for index in candidates:
            dist = _assign(points, points[index][None], points_sq)[1]
            trial = np.minimum(closest, dist)
            potential = float(weights @ trial)
            if potential < best_potential:
                best_potential, best_closest, best_index = potential, trial, index
        centers.append(points[best_index])
        closest = best_closest
    return np.array(centers, np.float32)


def _weighted_means(
    points: np.ndarray, weights: np.ndarray, labels: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    totals = np.bincount(labels, weights=weights, minlength=k)
    sums = np.stack(
        [
            np.bincount(labels, weights=weights * points[:, c], minlength=k)
            for c in range(points.shape[1])
        ],
        axis=1,
    )
    return sums, totals


def _lloyd(
    points: np.ndarray, weights: np.ndarray, centers: np.ndarray, max_iter: int, tol: float
) -> np.ndarray:
    """Weighted Lloyd iterations from `centers` until stable; empty clusters re-seeded."""
    k = len(centers)
    points_sq = _squared_norms(points)
    previous_labels, previous_inertia = None, np.inf
    for _ in range(max_iter):
        labels, distances = _assign(points, centers, points_sq)
        inertia = float(weights @ distances)
        if previous_labels is not None and np.array_equal(labels, previous_labels):
            break
        if previous_inertia - inertia <= tol * previous_inertia:
            break
        sums, totals = _weighted_means(points, weights, labels, k)
        empty = np.flatnonzero(totals == 0)
        if len(empty):
            # Re-seed each empty cluster at a colour far from its centre,
            # weighted by how many pixels it stands for, as scikit-learn does.
            far = np.argsort(-(weights * distances), kind="stable")[: len(empty)]
            sums[empty], totals[empty] = points[far] * weights[far, None], weights[far]
        centers = (sums / totals[:, None]).astype(np.float32)
        previous_labels, previous_inertia = labels, inertia
    return centers


def _round_palette(
    colors: np.ndarray, weights: np.ndarray, centers: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Round centres to 8 bits, then re-assign and re-round while the error falls.

    Rounding moves every centre by up to half a level per channel; assigning
    the colours to the rounded palette (not keeping the float labels) and
    re-centring once or twice wins back most of that loss.
    """
    # Integer colour values make float32 distances exact.
    values = colors.astype(np.float32)
    values_sq = _squared_norms(values)
    palette = np.clip(np.rint(centers * 255), 0, 255)
    labels, distances = _assign(values, palette, values_sq)
    error = float(weights @ distances)
    for _ in range(3):
        sums, totals = _weighted_means(values, weights, labels, len(palette))
        used = totals > 0
        candidate = palette.copy()
        candidate[used] = np.clip(np.rint(sums[used] / totals[used, None]), 0, 255)
        new_labels, new_distances = _assign(values, candidate, values_sq)
        new_error = float(weights @ new_distances)
        if new_error >= error:
            break
        palette, labels, error = candidate, new_labels, new_error
    return palette.astype(np.uint8), labels.astype(np.uint8)
