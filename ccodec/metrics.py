"""Error and size measures: MSE as the ClusterCompress write-up defines it, PSNR, bits per pixel."""

from __future__ import annotations

import math

import numpy as np

from .errors import OptionError

__all__ = ["bits_per_pixel", "mse", "psnr"]


def mse(a: np.ndarray, b: np.ndarray, *, ignore_transparent: bool = False) -> float:
    """Mean squared error over all H x W x C values, with pixels scaled to [0, 1].

    Parameters
    ----------
    a, b : numpy.ndarray
        Images of the same shape; (H, W) and (H, W, 1) compare as the same shape.
    ignore_transparent : bool
        For LA and RGBA images (C = 2 or 4, alpha last): a pixel fully
        transparent (alpha 0) in both images adds no error, whatever its
        colour channels hold, since nobody sees them. The mean is still over
        all H x W x C values. The command line reports this measure.

    Returns
    -------
    float
        0 for identical images, 1 for black against white everywhere.

    >>> mse(np.zeros((1, 2), np.uint8), np.full((1, 2), 255, np.uint8))
    1.0
    >>> a = np.array([[[255, 0], [0, 255]]], np.uint8)  # LA: white hidden, black seen
    >>> b = np.array([[[0, 0], [0, 255]]], np.uint8)
    >>> mse(a, b), mse(a, b, ignore_transparent=True)
    (0.25, 0.0)
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
    channels = 1 if a.ndim < 3 else a.shape[-1]
    masked = ignore_transparent and channels in (2, 4)
    flat_a, flat_b = a.reshape(-1, channels), b.reshape(-1, channels)
    rows = max(1, _BLOCK // channels)
    total = 0
    for start in range(0, len(flat_a), rows):
        block_a, block_b = flat_a[start : start + rows], flat_b[start : start + rows]
        diff = block_a.astype(np.int64) - block_b
        if masked:
            diff[(block_a[:, -1] == 0) & (block_b[:, -1] == 0)] = 0
        diff = diff.reshape(-1)
        total += int(np.dot(diff, diff))
    return total / a.size / (255.0 * 255.0)


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
