"""A quality target instead of K: the smallest K whose quantization meets an MSE or PSNR.

`quantize_to_target` searches K with `quantize` as the only quantizer. The
error falls smoothly with K (roughly as K^-0.9 on the corpus photos), so each
next trial is predicted from the last two on a log-log line, inside a
bracket [a K that fails, a K that meets], with bisection when the predictions
stop halving the bracket. Work is reused in two ways:

1. on images of more than 65,536 pixels the search first tries three K on
   a strided subsample of at most that many pixels (every 2nd or 3rd pixel
   each way on the corpus), where a trial costs a fraction of a full one;
   its next guess and local slope seed the full search;
2. full trials are cached by K, and the one that meets the target at the
   returned K is the result (it is never recomputed).

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
from .metrics import mse
from .quantize import (
    MAX_COLORS,
    Quantized,
    _histogram,
    _validate_int,
    _validate_pixels,
    quantize,
    validate_space,
)

__all__ = ["TargetQuantized", "quantize_to_target"]

# Above this many pixels the first search runs on a strided subsample of at
# most this many (512 x 512 -> 256 x 256).
_SAMPLE_PIXELS = 1 << 16
# The first trial's K, and the slope of log MSE against log K assumed until
# two trials give one (the corpus photos measure -0.8 to -1.0).
_FIRST_K = 16
_DEFAULT_SLOPE = -0.9
# Subsample trials: this many, stopping at this tolerance (the fraction of
# pixels that change label in a Lloyd step), which is 30 times the full one:
# their answer is only a starting point, off by one or two K anyway.
_PROBES = 3
_PROBE_TOL = 1e-2
# Brackets at most this wide are searched by prediction only.
_NARROW = 8


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
    k_max: int = MAX_COLORS,
    space: str = "rgb",
) -> TargetQuantized:
    """The quantization at the smallest K that meets `max_mse` or `min_psnr`.

    Give exactly one of `max_mse` (on the [0, 1] scale of `ccodec.mse`) or
    `min_psnr` in dB (converted as MSE = 10^(-PSNR/10), as `ccodec.psnr`
    defines it). The result equals ``quantize(pixels, result.k, seed=seed,
    max_iter=max_iter, space=space)``; the MSE is measured in sRGB whatever
    the `space` k-means clusters in. If even K = `k_max` (or the number of distinct
    colours, which is exact) misses the target, it is that quantization with
    ``reached=False``.

    >>> img = np.array([[0, 0, 100, 100, 200, 200]], np.uint8)
    >>> q = quantize_to_target(img, max_mse=0)
    >>> q.k, q.mse, q.reached
    (3, 0.0, True)
    """
    pixels = _validate_pixels(pixels)
    target = _target_mse(max_mse, min_psnr)
    seed = _validate_int("seed", seed, 0, None)
    max_iter = _validate_int("max_iter", max_iter, 1, None)
    k_max = _validate_int("k_max", k_max, 1, MAX_COLORS)
    options = {"seed": seed, "max_iter": max_iter, "space": validate_space(space)}
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
    colors = _distinct_colors(pixels)
    # At K >= the number of colours the result is exact, so that K always meets.
    k_high = min(k_max, colors)
    runs: dict[int, tuple[Quantized, float]] = {}
    order: list[tuple[int, float]] = []

    def full(k: int) -> float:
        if k not in runs:
            q = quantize(pixels, k, **options)
            runs[k] = (q, mse(pixels, q.to_array()))
            order.append((k, runs[k][1]))
        return runs[k][1]

    if target == 0:
        # Below the number of colours some colour is off, so only an exact
        # quantization meets a zero target.
        full(k_high)
        found = k_high
    else:
        found = _find(full, pixels, target, options, k_high)
    q, error = runs[found]
    return TargetQuantized(
        q.palette,
        q.labels,
        q.seed,
        mse=error,
        target=target,
        reached=error <= target,
        trials=tuple(order),
    )


def _find(
    full: Callable[[int], float],
    pixels: np.ndarray,
    target: float,
    options: dict[str, Any],
    k_high: int,
) -> int:
    """The K to return: searched on a subsample first (if large), then in full."""
    first, slope = min(_FIRST_K, k_high), _DEFAULT_SLOPE
    sample = _subsample(pixels)
    if sample is not None:

        def probe(k: int) -> float:
            q = quantize(sample, k, tol=_PROBE_TOL, **options)
            return mse(sample, q.to_array())

        first, slope = _search(probe, target, first, k_high, slope, _PROBES)
    return _search(full, target, first, k_high, slope)[0]


def _search(
    error_at: Callable[[int], float],
    target: float,
    first: int,
    k_high: int,
    slope: float,
    max_trials: int | None = None,
) -> tuple[int, float]:
    """The smallest K in 1..k_high found to meet `target` (or k_high), and the local slope.

    Keeps a bracket: `low` fails (0 stands for "nothing below 1"), `high`
    meets (None until one does). Each next K is where the line through the
    last two trials (or the last one with `slope`) crosses the target.
    After `max_trials` trials, the next K it would try is the answer.
    """
    low, high = 0, None
    tried: list[tuple[int, float]] = []
    widths: list[int] = []
    k = first
    while True:
        error = error_at(k)
        tried.append((k, error))
        if error <= target:
            high = k
        else:
            low = k
        if high is not None and high - low <= 1:
            return high, slope
        if high is None and low >= k_high:
            return k_high, slope
        slope = _local_slope(tried, slope)
        upper = k_high if high is None else high - 1
        widths.append(upper - low)
        guess = _crossing(k, error, target, slope)
        # Predictions that stop halving a wide bracket give way to bisection
        # (in a narrow one the error's noise is what keeps it from halving).
        if len(widths) >= 3 and widths[-1] > _NARROW and widths[-1] * 2 > widths[-3]:
            guess = (low + 1 + upper) // 2
        k = min(max(guess, low + 1), upper)
        if max_trials is not None and len(tried) >= max_trials:
            return k, slope


def _local_slope(tried: list[tuple[int, float]], fallback: float) -> float:
    """The log-log slope between the last two trials, if it is a usable (negative) one."""
    if len(tried) < 2:
        return fallback
    (k0, e0), (k1, e1) = tried[-2], tried[-1]
    if k0 == k1 or e0 <= 0 or e1 <= 0:
        return fallback
    slope = (math.log(e1) - math.log(e0)) / (math.log(k1) - math.log(k0))
    return slope if -4.0 < slope < -0.1 else fallback


def _crossing(k: int, error: float, target: float, slope: float) -> int:
    """The first integer K at which a line of `slope` through (k, error) is at or below target."""
    if error <= 0:
        return 1
    if target <= 0:
        return k + 1
    return math.ceil(k * (target / error) ** (1.0 / slope) - 1e-9)


def _subsample(pixels: np.ndarray) -> np.ndarray | None:
    """Every s-th pixel each way, with at most _SAMPLE_PIXELS pixels; None if small already."""
    height, width = pixels.shape[:2]
    if height * width <= _SAMPLE_PIXELS:
        return None
    step = math.ceil(math.sqrt(height * width / _SAMPLE_PIXELS))
    return np.ascontiguousarray(pixels[::step, ::step])


def _distinct_colors(pixels: np.ndarray) -> int:
    return len(_histogram(pixels.reshape(-1, pixels.shape[2]))[1])
