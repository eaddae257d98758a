"""Mapping pixels to a given palette: nearest entry, Floyd-Steinberg, or ordered dithering.

`dither` only chooses labels; the palette is the one k-means found, so a
.ccz written from its result decodes to exactly ``palette[labels]``.

How each method runs (the choices are measured by benchmarks/dither.py):

- ``none``: every pixel to its nearest entry by squared Euclidean distance
  (ties to the lower index), from ``-2 x.c + |c|^2`` in chunks of 256 KiB,
  so memory never grows with pixels x K. Integer inputs make the float32
  sums exact.
- ``floyd-steinberg``: the textbook error diffusion, compiled
  (``ccodec._core.floyd_steinberg``) for every mode and K, defined to the
  bit so that it and the loop in tests/test_dither.py agree on whole
  images: pixels in raster order (left to right on every row, not
  serpentine); values in float32, starting as the pixel; each value clipped
  to 0..255 (float32); its entry the nearest by squared distance in float64,
  ``(c - v)^2`` summed over the channels in order (ties to the lower
  index); the error ``v - c`` in float32, and each share (7/16 right, 3/16
  below-left, 5/16 below, 1/16 below-right) rounded to float32 before it is
  added (so no fused multiply-add: setup.py builds with -ffp-contract=off).
  The search starts from the previous pixel's entry and looks only at the
  entries that can be nearest inside the value's cell of 32 levels a
  channel, listed the first time a value falls there.
- ``ordered``: an 8 x 8 Bayer threshold offset added to every channel,
  scaled to the palette's typical spacing (the median distance from an
  entry to its nearest other) over sqrt(C), since the same offset on C
  channels moves a pixel sqrt(C) times as far; rounded, then mapped like
  ``none``. (The full spacing gave a higher error, blurred or not.)
"""

from __future__ import annotations

import numpy as np

from . import _core
from .errors import OptionError
from .model import MAX_COLORS, label_dtype
from .validate import check_pixels

__all__ = ["METHODS", "dither"]

#: The names `dither` accepts.
METHODS = ("none", "floyd-steinberg", "ordered")

# Distance blocks of this many float32 elements stay in cache, and OpenBLAS
# runs products this small on one thread (see kmeans.nearest.CHUNK_ELEMENTS).
_CHUNK_ELEMENTS = 1 << 16
# Distance chunks have at least this many rows (at K = 65,536 one row a chunk
# would spend its time in Python).
_MIN_ROWS = 64
# Added to every distance in _nearest so that all are positive.
_LIFT = np.float32(1 << 20)
# The ordered pattern's scale is measured on at most this many entries.
_SPACING_ENTRIES = 256


def dither(pixels: np.ndarray, palette: np.ndarray, method: str = "floyd-steinberg") -> np.ndarray:
    """Labels (H, W) that map `pixels` onto `palette` with the given `method`.

    Parameters
    ----------
    pixels : numpy.ndarray
        (H, W) or (H, W, C) uint8, C from 1 to 4 (alpha is one more channel,
        as in the quantizer).
    palette : numpy.ndarray
        (K, C) uint8, K from 1 to `MAX_COLORS`.
    method : {"none", "floyd-steinberg", "ordered"}
        See the module's description; every method is deterministic.

    Returns
    -------
    numpy.ndarray
        Labels, uint8 up to 256 entries and uint16 above, as the quantizer's.

    Raises
    ------
    OptionError
        Pixels, palette or method that do not fit.

    >>> img = np.array([[[10, 10, 10], [200, 190, 250]]], np.uint8)
    >>> dither(img, np.array([[0, 0, 0], [255, 255, 255]], np.uint8), "none")
    array([[0, 1]], dtype=uint8)
    """
    pixels = check_pixels(pixels)
    palette = _validate_palette(palette, pixels.shape[2])
    if method == "none":
        return _nearest(pixels.reshape(-1, pixels.shape[2]), palette).reshape(pixels.shape[:2])
    if method == "floyd-steinberg":
        return _floyd_steinberg(pixels, palette)
    if method == "ordered":
        return _ordered(pixels, palette)
    raise OptionError(f"method={method!r} is not one of {', '.join(METHODS)}.")


def _validate_palette(palette: object, channels: int) -> np.ndarray:
    array = np.asarray(palette)
    if array.dtype != np.uint8:
        raise OptionError(f"palette must be uint8, not {array.dtype}.")
    if array.ndim != 2 or array.shape[1] != channels:
        raise OptionError(
            f"palette must have shape (K, {channels}) to match the pixels, not {array.shape}."
        )
    if not 1 <= array.shape[0] <= MAX_COLORS:
        raise OptionError(f"palette has {array.shape[0]} entries; it needs 1 to {MAX_COLORS}.")
    return array


def _distance_terms(palette: np.ndarray) -> np.ndarray:
    """(C + 1, K): a point (x, 1) times this is ``|x - c|^2 - |x|^2`` for every entry c."""
    values = palette.astype(np.float32)
    return np.vstack([-2 * values.T, np.einsum("ij,ij->i", values, values)[None]])


def _nearest(points: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Index of the nearest palette entry for each row of `points` (integers in -128..383)."""
    n, channels = points.shape
    terms = _distance_terms(palette)
    # Lifting every distance by 2^20 (more than |x|^2 for |x| <= 383 in four
    # channels) makes them all positive, and positive float32 values order like
    # their bits read as int32, whose argmin is faster. Every sum is a
    # whole number under 2^24, so the float32 products stay exact.
    terms[-1] += _LIFT
    step = max(_MIN_ROWS, _CHUNK_ELEMENTS // len(palette))
    # Reused buffers: a fresh block per chunk costs more in page faults than the product.
    augmented = np.ones((min(step, n), channels + 1), np.float32)
    distances = np.empty((len(augmented), len(palette)), np.float32)
    bits = distances.view(np.int32)
    labels: np.ndarray = np.empty(n, label_dtype(len(palette)))
    for start in range(0, n, step):
        chunk = points[start : start + step]
        rows = len(chunk)
        augmented[:rows, :channels] = chunk
        np.matmul(augmented[:rows], terms, out=distances[:rows])
        labels[start : start + rows] = np.argmin(bits[:rows], axis=1)
    return labels


def _floyd_steinberg(pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """The compiled textbook loop, on contiguous arrays it can trust."""
    labels: np.ndarray = np.empty(pixels.shape[:2], label_dtype(len(palette)))
    _core.floyd_steinberg(np.ascontiguousarray(pixels), np.ascontiguousarray(palette), labels)
    return labels


def _bayer(size: int = 8) -> np.ndarray:
    """The size x size Bayer index matrix (0 .. size^2 - 1), size a power of two."""
    matrix = np.zeros((1, 1), np.int64)
    while len(matrix) < size:
        matrix = np.block([[4 * matrix, 4 * matrix + 2], [4 * matrix + 3, 4 * matrix + 1]])
    return matrix


def _typical_spacing(palette: np.ndarray) -> float:
    """Median distance from an entry to its nearest other entry (0 for one entry).

    Over at most _SPACING_ENTRIES evenly spread entries, each against all:
    at K = 65,536 all pairs would be 4 G distances.
    """
    if len(palette) < 2:
        return 0.0
    values = palette.astype(np.float64)
    queries = np.unique(np.linspace(0, len(values) - 1, _SPACING_ENTRIES).astype(np.intp))
    nearest = np.empty(len(queries))
    rows = max(1, _CHUNK_ELEMENTS // len(values))
    for start in range(0, len(queries), rows):
        index = queries[start : start + rows]
        between = np.sum((values[index, None, :] - values[None, :, :]) ** 2, axis=2)
        between[np.arange(len(index)), index] = np.inf
        nearest[start : start + rows] = between.min(axis=1)
    return float(np.median(np.sqrt(nearest)))


def _ordered(pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Bayer 8 x 8 offsets in (-s/2, s/2), s the palette's spacing over sqrt(C), then nearest."""
    height, width, channels = pixels.shape
    matrix = _bayer(8)
    spread = _typical_spacing(palette) / np.sqrt(channels)
    thresholds = ((matrix + 0.5) / matrix.size - 0.5) * spread
    offsets = np.rint(thresholds).astype(np.int16)
    tiled = offsets[np.arange(height)[:, None] % 8, np.arange(width)[None, :] % 8]
    # Rounded offsets keep the values whole, so the distances stay exact in float32.
    values = pixels.astype(np.int16) + tiled[..., None]
    return _nearest(values.reshape(-1, channels), palette).reshape(height, width)
