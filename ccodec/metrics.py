"""Error and size measures: MSE as the ClusterCompress write-up defines it, PSNR, bits per pixel."""

from __future__ import annotations

import math

import numpy as np

from .errors import OptionError

__all__ = ["bits_per_pixel", "mse", "psnr"]


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error over all H x W x C values, with pixels scaled to [0, 1].

    (H, W) and (H, W, 1) arrays compare as the same shape.

    >>> mse(np.zeros((1, 2), np.uint8), np.full((1, 2), 255, np.uint8))
    1.0
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        if a.size != b.size or a.shape[:2] != b.shape[:2]:
            raise OptionError(f"cannot compare images of shapes {a.shape} and {b.shape}.")
        a, b = a.reshape(b.shape[:2] + (-1,)), b.reshape(b.shape[:2] + (-1,))
    if a.size == 0:
        raise OptionError("cannot compare empty images.")
    # Exact integer sums, a block at a time: float64 copies of a 24-megapixel
    # RGB image and their difference took over 1 GiB at once.
    flat_a, flat_b = a.reshape(-1), b.reshape(-1)
    total = 0
    for start in range(0, flat_a.size, _BLOCK):
        diff = flat_a[start : start + _BLOCK].astype(np.int64) - flat_b[start : start + _BLOCK]
        total += int(np.dot(diff, diff))
    return total / flat_a.size / (255.0 * 255.0)


_BLOCK = 1 << 22


def psnr(error: float) -> float:
    """Peak signal-to-noise ratio in dB for an MSE on the [0, 1] scale (inf when exact).

    >>> round(psnr(0.001), 1)
    30.0
    """
    return math.inf if error <= 0 else -10.0 * math.log10(error)


def bits_per_pixel(nbytes: int, width: int, height: int) -> float:
    """File size in bits divided by the number of pixels."""
    return 8.0 * nbytes / (width * height)
