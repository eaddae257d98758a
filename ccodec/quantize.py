"""Colour quantization: weighted k-means++ and Lloyd on an image's colour histogram.

`quantize` validates its arguments and runs the steps of `ccodec.kmeans`.
Clustering runs on the distinct colours of the image weighted by their pixel
counts, which gives exactly the same k-means objective as clustering every
pixel, at a fraction of the work.

1. histogram: each pixel's bits interleaved into a uint32 key, sorted, counted;
2. coarse levels: colours that agree in their top 4-7 bits merged;
3. restarts: greedy weighted k-means++ and rough plain Lloyd on the
   coarsest level, several times at small K; the two best go on to the next
   level, which keeps the better. Above K = 256 one run, started by
   splitting clusters along their widest axis;
4. Lloyd on each finer level from the previous centres, with Yinyang group
   bounds and over-relaxed steps; on the full histogram until at most `tol`
   of the pixels change label in a step. Above K = 1024 a finer level
   inherits labels and bounds from the coarser one;
5. rounding: centres to 8 bits, colours re-assigned to the rounded palette,
   re-centred while that lowers the error; pixel labels by table look-up.

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
from .kmeans.histogram import histogram, pixel_labels, unpack
from .kmeans.levels import coarse_bins, level_means, parents
from .kmeans.lloyd import LloydState
from .kmeans.restarts import best_of_restarts
from .kmeans.rounding import round_palette, to_points
from .kmeans.seeding import SPLIT_ABOVE, split_centers
from .model import MAX_COLORS, Quantized, label_dtype
from .transparency import clear_hidden
from .validate import check_int, check_pixels

__all__ = ["DEFAULT_TOL", "SPACES", "quantize", "quantize_colors", "validate_space"]

#: The colour spaces `quantize` can cluster in.
SPACES = ("rgb", "oklab")

#: quantize's default stopping fraction (`tol`), which the target search passes on too.
DEFAULT_TOL = 3e-4

# Up to this many distinct colours Lloyd runs on the full histogram until at
# most `tol` of the pixels change label; above it each step costs too much,
# and the 7-bit level's centres only get the re-centring steps of the rounding.
_EXACT_UP_TO = 1 << 18
# Above this K finer levels take labels and bounds from the coarser one
# (`LloydState.finer`); below it the inherited labels need more steps than a
# fresh search costs.
_INHERIT_ABOVE = 1024


def quantize(
    pixels: np.ndarray,
    k: int,
    *,
    seed: int | None = 0,
    max_iter: int = 300,
    tol: float = DEFAULT_TOL,
    space: str = "rgb",
    on_progress: Callable[[float], None] | None = None,
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
        unique_keys, colors, counts, k, rng, max_iter, tol, space, report
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
) -> tuple[np.ndarray, np.ndarray]:
    """Palette (K', C) uint8 and each distinct colour's label, from `histogram`'s keys and
    counts and the (M, C) uint8 colours of the keys (`unpack`); `report` gets the fraction
    done (the start, then each level by its Lloyd steps, then the rounding: equal shares)."""
    if len(colors) <= k:
        return colors, np.arange(len(colors), dtype=label_dtype(len(colors)))

    points = to_points(colors, space)
    weights = counts.astype(np.float64)
    # Coarse to fine: restarts on the coarsest histogram, then each finer one
    # starts from the previous centres and only polishes.
    bin_levels = coarse_bins(unique_keys, colors.shape[1], k)
    levels = level_means(bin_levels, points, weights)
    levels.append((points, weights))
    parent_bins = parents(bin_levels)
    if k > SPLIT_ABOVE:
        candidates = [split_centers(*levels[0], k)]
    else:
        candidates = best_of_restarts(*levels[0], k, rng, max_iter)
    shares = len(levels) + 2
    report(1 / shares)
    states = []
    for level, (level_points, level_weights) in enumerate(levels):
        # A level's share fills with its steps, up to max_iter; it ends early when it settles.
        def step(done: int, level: int = level) -> None:
            report((1 + level + min(done, max_iter) / max_iter) / shares)

        last = level == len(levels) - 1
        if level == 0 or k <= _INHERIT_ABOVE:
            states = [LloydState(level_points, level_weights, c, len(points)) for c in candidates]
        else:
            # Labels and bounds from the coarser level: no search of all K.
            states = [s.finer(level_points, level_weights, parent_bins[level - 1]) for s in states]
        exact = len(level_points) <= _EXACT_UP_TO
        # Finalists on the last level are compared once settled roughly, and
        # only the better one runs on: converging both would double the time.
        pick_rough = last and len(states) > 1
        for state in states:
            if not last or exact:
                state.iterate(max_iter, tol, rough=not last or pick_rough, on_step=step)
        # The coarsest level ranks the runs only roughly: the next one
        # decides between the finalists.
        state = min(states, key=LloydState.inertia)
        if pick_rough and exact:
            state.iterate(max_iter, tol, on_step=step)
        if level:
            states = [state]
        candidates = [s.centers for s in states]
        report((2 + level) / shares)
    return round_palette(state, space)
