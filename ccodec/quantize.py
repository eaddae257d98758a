"""Colour quantization: weighted k-means++ and Lloyd on an image's colour histogram.

`quantize` validates its arguments and runs the steps of `ccodec.kmeans`.
Clustering runs on the distinct colours of the image weighted by their pixel
counts, which gives exactly the same k-means objective as clustering every
pixel, at a fraction of the work.

1. histogram: each pixel's bits interleaved into a uint32 key, sorted, counted;
2. coarse levels: colours that agree in their top 4-7 bits merged;
3. restarts: greedy weighted k-means++ and rough plain Lloyd on the
   coarsest level, several times at small K; the two best are finalists.
   Above K = 256 one run, started by splitting clusters along their widest
   axis;
4. each finalist, on its own thread: Lloyd on each finer level from the
   previous centres, with Yinyang group bounds and over-relaxed steps; on
   the full histogram until at most `tol` of the pixels change label in a
   step. Above K = 1024 a finer level inherits labels and bounds from the
   coarser one;
5. rounding: centres to 8 bits, colours re-assigned to the rounded palette,
   re-centred while that lowers the error, then (RGB, K <= 50) each entry's
   channels moved +-1 while the exact error falls; the finalist with the
   lowest rounded error wins; pixel labels by table look-up.

`speed` (`ccodec.kmeans.effort`) trades these steps for time: slower
settings also restart on the second level and run the last Lloyd to the
end; faster ones carry one finalist, skip the +-1 search, stop Lloyd on
the coarse levels or cap its steps, and start by splitting above K = 64.

With ``space="oklab"`` steps 2-5 run on the colours' OKLab coordinates
instead of sRGB values in [0, 1]. Alpha stays one more channel, on [0, 1]
like OKLab's L, so going from opaque to transparent weighs as much as black
to white. Grey images cluster on OKLab L alone (a = b = 0 for every grey).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np

from .errors import OptionError
from .kmeans.effort import DEFAULT_SPEED, FASTEST, effort_for
from .kmeans.finalists import Finalist, Levels, best_finalist
from .kmeans.histogram import histogram, pixel_labels, unpack
from .kmeans.levels import coarse_bins, level_means, parents
from .kmeans.restarts import best_of_restarts
from .kmeans.rounding import to_points
from .kmeans.seeding import split_centers
from .model import MAX_COLORS, Quantized, label_dtype
from .transparency import clear_hidden
from .validate import check_int, check_pixels

__all__ = [
    "DEFAULT_SPEED",
    "DEFAULT_TOL",
    "FASTEST",
    "SPACES",
    "quantize",
    "quantize_colors",
    "validate_space",
    "validate_speed",
]

#: The colour spaces `quantize` can cluster in.
SPACES = ("rgb", "oklab")

#: quantize's default stopping fraction (`tol`), which the target search passes on too.
DEFAULT_TOL = 3e-4


def quantize(
    pixels: np.ndarray,
    k: int,
    *,
    seed: int | None = 0,
    max_iter: int = 300,
    tol: float = DEFAULT_TOL,
    space: str = "rgb",
    on_progress: Callable[[float], None] | None = None,
    speed: int = DEFAULT_SPEED,
) -> Quantized:
    """Reduce an image to at most `k` colours with k-means++ and Lloyd iterations.

    Parameters
    ----------
    pixels : numpy.ndarray
        (H, W) or (H, W, C) uint8, C from 1 to 4 (L, LA, RGB, RGBA); alpha is
        clustered as one more channel. The colour of fully transparent pixels
        (alpha 0) is free: they are all taken as (0, 0, 0, 0) first.
    k : int
        Palette size, 1 to `MAX_COLORS`. An image with no more than `k`
        distinct colours gets them all, exactly, and a smaller palette.
    seed : int or None
        Seed of the k-means++ start; the same seed gives the same result, and
        None draws one and records it in ``result.seed``. Above K = 256 the
        start is cluster splitting, which takes no seed.
    max_iter : int
        The most Lloyd steps on each level.
    tol : float
        Lloyd stops when at most this fraction of the pixels changes label in
        a step (``tol * K / 256`` above K = 256, where more clusters have more
        borders); 0 runs until no label changes. The default skips the long
        tail of steps that each move a few dozen pixels.
    space : {"rgb", "oklab"}
        Where distances are measured: sRGB values (what `ccodec.mse`
        measures) or OKLab (perceptual). The palette is sRGB bytes either way.
    on_progress : callable, optional
        Called with the fraction of the work done (0 to 1) after each Lloyd
        step and level, for a progress bar; it changes nothing in the result.
    speed : int
        1 (slowest, lowest error) to `FASTEST` (pngquant's convention); see
        `ccodec.kmeans.effort` for what each setting does. Every setting is
        deterministic per seed and independent of the number of cores.

    Returns
    -------
    Quantized
        The palette, and labels (uint8 up to 256 entries, uint16 above).

    Raises
    ------
    OptionError
        An argument of the wrong kind or out of its range.

    Notes
    -----
    Time grows roughly with K times the number of distinct colours. Above
    262,144 distinct colours the last Lloyd steps run on a 7-bit histogram,
    and only the rounding's re-centring steps see every colour.

    >>> img = np.array([[[0, 0, 0], [0, 0, 0]], [[255, 0, 0], [251, 0, 0]]], np.uint8)
    >>> q = quantize(img, 2, seed=0)
    >>> sorted(q.palette.tolist())
    [[0, 0, 0], [253, 0, 0]]
    """
    pixels = check_pixels(pixels)
    k = check_int("k", k, 1, MAX_COLORS)
    max_iter = check_int("max_iter", max_iter, 1, None)
    if not (isinstance(tol, (int, float)) and 0 <= tol < 1):
        raise OptionError(f"tol={tol!r} should be a number in [0, 1).")
    space = validate_space(space)
    speed = validate_speed(speed)
    if seed is None:
        seed = cast(int, np.random.SeedSequence().entropy) % (1 << 32)  # an int when not given
    else:
        seed = check_int("seed", seed, 0, None)

    height, width, channels = pixels.shape
    # Colour under alpha 0 is invisible: one colour for all of it, so no entry is spent there.
    flat = clear_hidden(pixels.reshape(height * width, channels))
    rng = np.random.default_rng(seed)
    report = on_progress or _ignore
    keys, unique_keys, counts = histogram(flat)
    colors = unpack(unique_keys, channels)
    palette, color_labels = quantize_colors(
        unique_keys, colors, counts, k, rng, max_iter, tol, space, report, speed
    )
    labels = pixel_labels(keys, unique_keys, color_labels, channels)
    report(1.0)
    return Quantized(palette, labels.reshape(height, width), seed)


def _ignore(fraction: float) -> None:
    pass


def validate_space(space: object) -> str:
    """`space` if it is one of `SPACES`, else an OptionError naming them."""
    if not isinstance(space, str) or space not in SPACES:
        raise OptionError(f"space={space!r} is not one of {', '.join(SPACES)}.")
    return space


def validate_speed(speed: object) -> int:
    """`speed` if it is a whole number from 1 to `FASTEST`, else an OptionError."""
    if (
        isinstance(speed, bool)
        or not isinstance(speed, (int, np.integer))
        or not (1 <= speed <= FASTEST)
    ):
        raise OptionError(f"speed={speed!r} should be a whole number from 1 to {FASTEST}.")
    return int(speed)


def quantize_colors(
    unique_keys: np.ndarray,
    colors: np.ndarray,
    counts: np.ndarray,
    k: int,
    rng: np.random.Generator,
    max_iter: int,
    tol: float,
    space: str,
    report: Callable[[float], None] = _ignore,
    speed: int = DEFAULT_SPEED,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Palette (K', C) uint8 and each distinct colour's label, from `histogram`'s keys and
    counts and the (M, C) uint8 colours of the keys (`unpack`); `report` gets the fraction
    done (the start, then the finalists' Lloyd steps, then the rounding)."""
    if len(colors) <= k:
        return colors, np.arange(len(colors), dtype=label_dtype(len(colors)))

    effort = effort_for(speed)
    points = to_points(colors, space)
    weights = counts.astype(np.float64)
    # Coarse to fine: restarts on the coarsest histogram, then each finer one
    # starts from the previous centres and only polishes.
    split = k > effort.split_above
    bin_levels = coarse_bins(unique_keys, colors.shape[1], k, split)
    levels = level_means(bin_levels, points, weights)
    levels.append((points, weights))
    found = Levels(levels, parents(bin_levels), colors, space)
    if split:
        finalists = [Finalist(split_centers(*levels[0], k), 0)]
    else:
        finalists = []
        for level in (0, *effort.restart_levels):
            if level < len(levels):
                runs = best_of_restarts(
                    *levels[level], k, rng, max_iter, effort.restart_share, effort.finalists
                )
                finalists += [Finalist(centers, level) for centers in runs]
    report(1 / 3)

    def step(fraction: float) -> None:
        # The finalists' Lloyd steps fill the middle third.
        report((1 + fraction) / 3)

    palette, color_labels = best_finalist(found, finalists, max_iter, tol, effort, step, threads)
    report(2 / 3)
    return palette, color_labels
