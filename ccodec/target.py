"""A quality target instead of K: the smallest K whose quantization meets an MSE or PSNR.

`quantize_to_target` runs `quantize` in full only at the K it needs: the one
it returns and K - 1, the run that shows K is the smallest, plus one or two
more when a prediction misses. The predictions come from a cheap estimate
of the error at every K: one k-means run (greedy k-means++, a few plain
Lloyd steps) on the coarse histogram of a subsample, a millisecond or a few
per K, since the k-means++ centres are drawn once per coarse level and the
first K of them start K. The estimate follows the shape of quantize's error
against K, not its scale (quantize's error is a few per cent above it),
so the first full run is one below the smallest K the estimate says
meets: if the prediction is right, that is the K - 1 run the proof needs
anyway, and the second run is the answer. After that the full runs set the
scale: the next K is where the line from the last run, with the estimate's
slope over a wide step, crosses the target, and once full runs bracket the
answer, where the log-log line through them does (the estimate's noise, a
few per cent, is a K or two at K near 50).

Work is reused in four ways: the image's colour histogram is made once
and every full run is quantize's own computation from it (`quantize_colors`,
its error summed over the distinct colours, not the pixels); estimates are
cached by K; full runs are cached by K; and the one that meets the target at
the returned K is the result (only its pixel labels are looked up at the end).

The error is not exactly monotone in K for k-means, so "smallest" means what
the full runs verified: the returned K meets the target, K - 1 was run in
full and does not (or K is 1), and every other K below it that was run
failed too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import OptionError
from .kmeans.histogram import histogram, pixel_labels, unpack
from .kmeans.seeding import SPLIT_ABOVE, split_centers
from .model import MAX_COLORS, Quantized
from .quantize import DEFAULT_SPEED, DEFAULT_TOL, quantize_colors, validate_space, validate_speed
from .transparency import clear_hidden, has_alpha
from .validate import check_int, check_pixels

__all__ = ["TargetQuantized", "quantize_to_target"]

# The estimate clusters the histogram of a subsample of at most this many
# pixels (every 2nd pixel each way of 512 x 512), its colours merged into
# coarse bins: the coarsest level with at least this many bins, and this
# many per cluster; with at most this many plain Lloyd steps, distances in
# blocks of this many elements.
_SAMPLE_PIXELS = 1 << 16
_ESTIMATE_BINS = 512
_BINS_PER_CLUSTER = 8
_ESTIMATE_STEPS = 4
_BLOCK_ELEMENTS = 1 << 16
# quantize's error over the estimate is about c K^-_DRIFT; the estimate includes
# K^-_DRIFT and c is taken as _FIRST_RATIO until a full run measures it (the ratio
# that ended the most corpus searches in two full runs).
_DRIFT = 0.048
_FIRST_RATIO = 1.07
# With a full run on one side of the answer only, the estimate's slope is
# taken between its K and this many times (or a this-th of) it.
_BASELINE = 1.5
# The default largest K: the classic 8-bit palette (quantize goes further).
_DEFAULT_K_MAX = 256


@dataclass(frozen=True, eq=False)
class TargetQuantized(Quantized):
    """A `Quantized` found by `quantize_to_target`, with how it was found.

    ``mse`` is its error, ``target`` the MSE asked for, ``reached`` whether it
    is met (False: the best there is, at the largest K allowed), and
    ``trials`` the (K, MSE) of each full `quantize` run, in order.
    """

    mse: float = math.nan
    target: float = math.nan
    reached: bool = True
    trials: tuple[tuple[int, float], ...] = ()


def quantize_to_target(
    pixels: np.ndarray,
    *,
    max_mse: float | None = None,
    min_psnr: float | None = None,
    seed: int = 0,
    max_iter: int = 300,
    k_max: int = _DEFAULT_K_MAX,
    space: str = "rgb",
    speed: int = DEFAULT_SPEED,
) -> TargetQuantized:
    """The quantization at the smallest K that meets `max_mse` or `min_psnr`.

    The result equals ``quantize(pixels, result.k, seed=seed,
    max_iter=max_iter, space=space, speed=speed)``.

    Parameters
    ----------
    pixels : numpy.ndarray
        As `quantize` takes them.
    max_mse, min_psnr : float
        Exactly one: the MSE on the [0, 1] scale of `ccodec.mse`, or the PSNR
        in dB (converted as MSE = 10^(-PSNR/10), as `ccodec.psnr` defines
        it). The MSE is measured in sRGB whatever `space` clusters in.
    seed, max_iter, space, speed
        As `quantize` takes them.
    k_max : int
        The largest K tried, up to `MAX_COLORS`.

    Returns
    -------
    TargetQuantized
        With its ``mse``; if even K = `k_max` (or the number of distinct
        colours, which is exact) misses the target, that quantization with
        ``reached=False``.

    Raises
    ------
    OptionError
        Neither or both targets, or an argument out of its range.

    >>> img = np.array([[0, 0, 100, 100, 200, 200]], np.uint8)
    >>> q = quantize_to_target(img, max_mse=0)
    >>> q.k, q.mse, q.reached
    (3, 0.0, True)
    """
    pixels = check_pixels(pixels)
    target = _target_mse(max_mse, min_psnr)
    seed = check_int("seed", seed, 0, None)
    max_iter = check_int("max_iter", max_iter, 1, None)
    k_max = check_int("k_max", k_max, 1, MAX_COLORS)
    options = {
        "seed": seed,
        "max_iter": max_iter,
        "space": validate_space(space),
        "speed": validate_speed(speed),
    }
    return _quantize_to_target(pixels, target, options, k_max)


def _target_mse(max_mse: object, min_psnr: object) -> float:
    if (max_mse is None) == (min_psnr is None):
        raise OptionError(
            f"give exactly one of max_mse and min_psnr, not max_mse={max_mse!r}, "
            f"min_psnr={min_psnr!r}."
        )
    name, value = ("max_mse", max_mse) if max_mse is not None else ("min_psnr", min_psnr)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise OptionError(f"{name}={value!r} should be a number.")
    if name == "min_psnr":
        # Capped so that a very low PSNR means "any K" instead of overflowing.
        return 10.0 ** min(-value / 10.0, 300.0)
    if not 0 <= value < math.inf:
        raise OptionError(f"max_mse={value!r} should be a finite number >= 0.")
    return float(value)


def _quantize_to_target(
    pixels: np.ndarray, target: float, options: dict[str, Any], k_max: int
) -> TargetQuantized:
    # Every full run is quantize's own computation after its histogram, made once here.
    height, width, channels = pixels.shape
    pixels = clear_hidden(pixels)  # as quantize does: colour under alpha 0 is free
    keys, unique_keys, counts = histogram(pixels.reshape(-1, channels))
    colors = unpack(unique_keys, channels)
    wide = colors.astype(np.int64)  # exact squared differences for the error
    runs: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}
    order: list[tuple[int, float]] = []
    # No K above the number of distinct colours is needed (that one is exact).
    colours = [min(k_max + 1, len(unique_keys))]

    def full(k: int) -> float:
        k = min(k, colours[0])
        if k not in runs:
            rng = np.random.default_rng(options["seed"])
            palette, labels = quantize_colors(
                unique_keys, colors, counts, k, rng, options["max_iter"], DEFAULT_TOL,
                options["space"], speed=options["speed"],
            )  # fmt: skip
            error = _histogram_mse(wide, counts, palette[labels], pixels.size)
            runs[k] = (palette, labels, error)
            order.append((k, error))
        return runs[k][2]

    if target == 0:
        # Below the number of colours some colour is off, so only an exact
        # quantization meets a zero target.
        full(k_max)
        found = min(k_max, colours[0])
    else:
        found = _find(full, _Estimate(pixels), target, k_max, colours)
    palette, labels, error = runs[found]
    labels = pixel_labels(keys, unique_keys, labels, channels).reshape(height, width)
    return TargetQuantized(
        palette,
        labels,
        options["seed"],
        mse=error,
        target=target,
        reached=error <= target,
        trials=tuple(order),
    )


def _histogram_mse(
    colors: np.ndarray, counts: np.ndarray, mapped: np.ndarray, values: int
) -> float:
    """`ccodec.mse` of the image from its colours, their counts and what each became; with
    ``ignore_transparent``: colour differences where both sides have alpha 0 do not count."""
    diff = colors - mapped
    if has_alpha(colors.shape[1]):
        diff[(colors[:, -1] == 0) & (mapped[:, -1] == 0), :-1] = 0
    return int(counts @ np.einsum("ij,ij->i", diff, diff)) / values / (255.0 * 255.0)


def _find(
    full: Callable[[int], float],
    estimate: _Estimate,
    target: float,
    k_max: int,
    colours: list[int],
) -> int:
    """The smallest K whose full run meets `target`, with K - 1's full run failing.

    Keeps a bracket of full runs: `low` fails (0 stands for "nothing below
    1"), `high` meets (None until one does). The first full run is one
    below the smallest K the estimate (times _FIRST_RATIO) says meets: when
    that is right, it is the K - 1 run the proof needs anyway. Then, with
    one side known, the next K is where the line from the last run, with the
    estimate's slope over a _BASELINE step, crosses the target; with both,
    where the line through them does; high - 1 when nothing below `high` is
    predicted to meet.
    """
    low, high = 0, None
    errors: dict[int, float] = {}
    ratio = _FIRST_RATIO
    k = max(1, estimate.smallest(target / ratio, 1, k_max) - 1)
    while True:
        error = full(k)
        k = min(k, colours[0])
        errors[k] = error
        if estimate(k) > 0:
            ratio = error / estimate(k)
        if error <= target:
            high = k
        else:
            low = k
        k_high = min(k_max, colours[0])
        if high is not None and high - low <= 1:
            return high
        if high is None and low >= k_high:
            return k_high
        upper = k_high if high is None else high - 1
        if high is not None and low > 0:
            # Both ends run in full: the line through them on log-log axes
            # is closer than the estimate, whose noise is a few per cent.
            k = _crossing(low, errors[low], high, errors[high], target)
        else:
            # One side only: the line from this run with the slope of the
            # estimate over a wide step (its noise from K to K + 1 is as
            # large as the change), toward the side the target lies on.
            other = round(k * _BASELINE) if high is None else max(1, round(k / _BASELINE))
            other = min(max(other, 1), k_high)
            if other != k and estimate(other) > 0:
                k = _crossing(k, error, other, error * estimate(other) / estimate(k), target)
            else:
                k = estimate.smallest(target / ratio, low + 1, upper + 1)
        # Past `upper` means nothing below `high` is predicted to meet: then
        # high - 1 is the run that proves it.
        k = min(max(k, low + 1), upper)


def _crossing(k0: int, e0: float, k1: int, e1: float, target: float) -> int:
    """The first integer K at which the log-log line through two trials meets `target`."""
    if k0 > k1:
        k0, e0, k1, e1 = k1, e1, k0, e0
    if e0 <= 0 or e1 <= 0 or e0 <= e1 or target <= 0:
        return (k0 + k1) // 2
    slope = math.log(e1 / e0) / math.log(k1 / k0)
    return math.ceil(k0 * (target / e0) ** (1.0 / slope) - 1e-9)


class _Estimate:
    """A cheap stand-in for quantize's MSE at any K: one k-means run on a coarse histogram.

    The histogram is a strided subsample's (at most _SAMPLE_PIXELS pixels),
    its colours merged into bins of their top bits (as quantize's coarse
    levels): the coarsest level with at least _ESTIMATE_BINS bins and
    _BINS_PER_CLUSTER per cluster. The level's first K greedy k-means++
    centres (`_GrowingStart`; quantize's split start above SPLIT_ABOVE) and
    at most _ESTIMATE_STEPS plain Lloyd steps on the bins' means give the error,
    plus the fixed error of replacing each colour by its bin's mean, times
    K^-_DRIFT. It runs in RGB whatever the space and tracks quantize's error
    only in shape: the scale comes from the last full run.
    """

    def __init__(self, pixels: np.ndarray) -> None:
        height, width, channels = pixels.shape
        step = max(1, math.ceil(math.sqrt(height * width / _SAMPLE_PIXELS)))
        flat = np.ascontiguousarray(pixels[::step, ::step]).reshape(-1, channels)
        _, self.keys, counts = histogram(flat)
        self.colors = unpack(self.keys, channels).astype(np.float64) / 255
        self.weights = counts.astype(np.float64)
        self.values = flat.size
        self.levels: list[tuple[int, np.ndarray]] = []
        for bits in range(1, 8):
            # Sorted interleaved keys: a coarse bin is a run of equal prefixes.
            prefixes = self.keys >> np.uint32(channels * (8 - bits))
            bins = np.concatenate(([0], np.cumsum(prefixes[1:] != prefixes[:-1])))
            self.levels.append((int(bins[-1]) + 1, bins))
        self.levels.append((len(self.keys), np.arange(len(self.keys))))
        self.binned: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}
        self.starts: dict[int, _GrowingStart] = {}
        self.cache: dict[int, float] = {}

    def _index(self, k: int) -> int:
        """The coarsest level fit for K."""
        wanted = max(_ESTIMATE_BINS, _BINS_PER_CLUSTER * k)
        index = next((i for i, (n, _) in enumerate(self.levels) if n >= wanted), -1)
        return index % len(self.levels)

    def _level(self, index: int) -> tuple[np.ndarray, np.ndarray, float]:
        """Bin means, weights and the error of binning, of level `index`."""
        if index not in self.binned:
            bins = self.levels[index][1]
            weights = np.bincount(bins, self.weights)
            sums = [np.bincount(bins, self.weights * c) for c in self.colors.T]
            means = np.stack(sums, axis=1) / weights[:, None]
            spread = self.colors - means[bins]
            floor = float(np.einsum("i,ij,ij->", self.weights, spread, spread))
            self.binned[index] = (means.astype(np.float32), weights, floor)
        return self.binned[index]

    def _start(self, index: int) -> _GrowingStart:
        if index not in self.starts:
            points, weights, _ = self._level(index)
            self.starts[index] = _GrowingStart(points, weights)
        return self.starts[index]

    def __call__(self, k: int) -> float:
        if k not in self.cache:
            index = self._index(k)
            points, weights, floor = self._level(index)
            # At K >= the number of bins every bin is its own centre: only
            # the binning error is left (and no start can place K centres).
            error = 0.0
            if k < len(points):
                if k > SPLIT_ABOVE:
                    # Greedy k-means++ is K passes over the points: the split
                    # start, as quantize uses there.
                    centers = split_centers(points, weights, k)
                else:
                    centers = self._start(index).centers(k)
                error = _lloyd_error(points, weights, centers, _ESTIMATE_STEPS)
            # K^-_DRIFT: the estimate falls a little slower than quantize's error.
            self.cache[k] = (max(error, 0.0) + floor) / self.values * k**-_DRIFT
        return self.cache[k]

    def smallest(self, target: float, low: int, high: int) -> int:
        """A K in low..high whose estimate meets `target` while K - 1's does not (high if none).

        Doubling from `low` (small K cost least) until an estimate meets,
        then the log-log line through the two ends of the bracket, with a
        bisection whenever that did not halve it: the estimate is taken as
        falling with K (its small rises are noise).
        """
        fails, meets, step = low - 1, low, 1
        while self(meets) > target:
            if meets >= high:
                return high
            fails, meets, step = meets, min(high, meets + step), step * 2
        halve = False
        while meets - fails > 1:
            width = meets - fails
            if halve:
                k = (fails + meets) // 2
            else:
                k = _crossing(fails, self(fails), meets, self(meets), target)
                k = min(max(k, fails + 1), meets - 1)
            if self(k) <= target:
                meets = k
            else:
                fails = k
            # A line step that left more than half the bracket is followed by
            # a bisection, so a bent or noisy stretch costs at most twice as many calls.
            halve = not halve and 2 * (meets - fails) > width
        return meets


def _lloyd_error(points: np.ndarray, weights: np.ndarray, centers: np.ndarray, steps: int) -> float:
    """The weighted squared error after at most `steps` plain Lloyd steps from `centers`.

    Distances in blocks of _BLOCK_ELEMENTS: larger products make OpenBLAS
    go multi-threaded, which on a shared machine costs more than it saves.
    """
    norms = float(np.einsum("i,ij,ij->", weights, points, points.astype(np.float64)))
    labels = np.full(len(points), -1)
    rows = max(1, _BLOCK_ELEMENTS // len(centers))
    error = math.inf
    for _ in range(steps + 1):
        minus_two_t = -2 * centers.T
        centers_sq = np.einsum("ij,ij->i", centers, centers)
        nearest = np.empty(len(points), np.float32)
        new_labels = np.empty(len(points), np.intp)
        for start in range(0, len(points), rows):
            block = points[start : start + rows] @ minus_two_t + centers_sq
            new_labels[start : start + rows] = block.argmin(axis=1)
            nearest[start : start + rows] = block.min(axis=1)
        error = norms + float(np.einsum("i,i->", weights, nearest.astype(np.float64)))
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        totals = np.bincount(labels, weights, len(centers))
        sums = np.stack([np.bincount(labels, weights * p, len(centers)) for p in points.T], 1)
        # An empty cluster keeps its centre.
        filled = totals > 0
        centers = centers.copy()
        centers[filled] = (sums[filled] / totals[filled, None]).astype(np.float32)
    return error


class _GrowingStart:
    """Greedy k-means++ centres on one level, drawn one more at a time as larger K ask.

    The first K centres are the start for K, so the estimates of every K on
    a level share one k-means++ run: its passes are paid once, up to the
    largest K asked, not again for each K the search tries.
    """

    def __init__(self, points: np.ndarray, weights: np.ndarray) -> None:
        self.points, self.weights = points, weights.astype(np.float32)
        self.points_t = np.ascontiguousarray(points.T)
        self.points_sq = np.einsum("ij,ij->i", points, points)
        self.rng = np.random.default_rng(0)
        self.chosen = [self._draw(np.asarray(weights, np.float64), 1)[0]]
        self.closest = self._distances([self.chosen[0]])[0]

    def _draw(self, mass: np.ndarray, count: int) -> np.ndarray:
        cumulative = np.cumsum(mass)
        draws = self.rng.random(count) * cumulative[-1]
        return np.minimum(np.searchsorted(cumulative, draws, "right"), len(mass) - 1)

    def _distances(self, index: list[int] | np.ndarray) -> np.ndarray:
        centers = self.points[index]
        d = (-2 * centers) @ self.points_t + self.points_sq
        d += np.einsum("ij,ij->i", centers, centers)[:, None]
        return np.maximum(d, 0, out=d)

    def centers(self, k: int) -> np.ndarray:
        """The first K centres (K below the number of points)."""
        while len(self.chosen) < k:
            # As quantize's k-means++: of a few candidates, the one leaving the least error.
            trials = 2 + int(2 * math.log(len(self.chosen) + 1))
            candidates = self._draw(self.weights.astype(np.float64) * self.closest, trials)
            distances = np.minimum(self._distances(candidates), self.closest)
            best = int(np.argmin(np.einsum("ij,j->i", distances, self.weights)))
            self.chosen.append(int(candidates[best]))
            self.closest = distances[best]
        return self.points[self.chosen[:k]]
