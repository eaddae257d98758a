"""Mapping pixels to a given palette: nearest entry, Floyd-Steinberg, or ordered dithering.

`dither` only chooses labels; the palette is the one k-means found, so a
.ccz written from its result decodes to exactly ``palette[labels]``.

How each method runs, chosen by measurement at 512 x 512 (benchmarks/dither.py):

- ``none``: every pixel to its nearest entry by squared Euclidean distance
  (ties to the lower index), from ``-2 x.c + |c|^2`` in chunks of 256 KiB,
  so memory never grows with pixels x K. Integer inputs make the float32
  sums exact.
- ``floyd-steinberg``: error diffusion in raster order (left to right on
  every row, not serpentine; the 7/16, 3/16, 5/16, 1/16 weights), each
  value clipped to 0..255 before it is mapped, which keeps errors bounded.
  RGB and L images go through Pillow's C implementation
  (``Image.quantize(palette=..., dither=FLOYDSTEINBERG)``, 4-25 ms at
  512 x 512): it picks each entry from a cache of 4 x 4 x 4-level cells,
  so a pixel may get a near-nearest entry (plain mapping through that
  cache matched the exact nearest colour for 74 % of astronaut's pixels at
  K=256), which diffusion then corrects like any other error. Pillow has
  no joint-alpha path, so LA and RGBA (unless alpha is one value in image
  and palette alike, when it adds nothing) run in NumPy, exactly, along
  anti-diagonals: pixel (y, x) waits only for its left neighbour and three
  above, so all pixels with the same x + 2y are mapped in one vectorised
  step (W + 2H steps instead of W x H), in a ring of 64 steps, so memory
  grows with the height only. For a 500 x 500 RGBA image that is about
  21 ms at K=2 and 42-44 ms at K=256 (CPU time, best and median of 15,
  load 0.8); at K=256 the distance products and their argmin (on the
  distances' bits as int32, as for ``none``: 45-49 ms before) are most of
  it, and no pruning of the palette tried beat the dense product
  (benchmarks/README.md).
- ``ordered``: an 8 x 8 Bayer threshold offset added to every channel,
  scaled to the palette's typical spacing (the median distance from an
  entry to its nearest other) over sqrt(C), since the same offset on C
  channels moves a pixel sqrt(C) times as far; rounded, then mapped like
  ``none``. (The full spacing gave a higher MSE and a higher MSE after a
  4 x 4 box blur on astronaut at K=16 and 256.)
"""

from __future__ import annotations

import numpy as np

from .errors import OptionError

try:  # np.clip's ufunc: its Python wrapper costs four times the clipping of a few hundred pixels
    from numpy._core.umath import clip as _clip
except ImportError:  # a NumPy that moved it: the same result through the wrapper
    _clip = np.clip
from .quantize import BYTE_PALETTE_SIZE, MAX_COLORS, _validate_pixels, label_dtype

__all__ = ["METHODS", "dither"]

#: The names `dither` accepts.
METHODS = ("none", "floyd-steinberg", "ordered")

# Distance blocks of this many float32 elements stay in cache, and OpenBLAS
# runs products this small on one thread (see quantize._CHUNK_ELEMENTS).
_CHUNK_ELEMENTS = 1 << 16
# Exact Floyd-Steinberg keeps this many steps (anti-diagonals) in its ring;
# more rows mean fewer moves of the last three to the front.
_RING = 64
# Distance chunks have at least this many rows (at K = 65,536 one row a chunk
# would spend its time in Python).
_MIN_ROWS = 64
# Added to every distance in _nearest so that all are positive.
_LIFT = np.float32(1 << 20)
# ...and in Floyd-Steinberg, whose values are clipped to 0..255: more than
# |x|^2 <= 4 x 255^2, the least that makes them positive (a larger lift
# would round the distances more coarsely).
_FS_LIFT = np.float32(1 << 18)
# The ordered pattern's scale is measured on at most this many entries.
_SPACING_ENTRIES = 256
# Floyd-Steinberg weights in sixteenths: right, below-left, below, below-right.
_FS_RIGHT, _FS_BELOW_LEFT, _FS_BELOW, _FS_BELOW_RIGHT = 7 / 16, 3 / 16, 5 / 16, 1 / 16
_FS_WEIGHTS = np.array([_FS_RIGHT, _FS_BELOW_LEFT, _FS_BELOW, _FS_BELOW_RIGHT], np.float32)[
    :, None, None
]


def dither(pixels: np.ndarray, palette: np.ndarray, method: str = "floyd-steinberg") -> np.ndarray:
    """Labels (H, W) that map `pixels` onto `palette` with the given `method`.

    `pixels` is (H, W) or (H, W, C) uint8, C from 1 to 4 (alpha is one more
    channel, as in the quantizer); `palette` is (K, C) uint8 with K from 1
    to `MAX_COLORS`. Labels are uint8 up to 256 entries and uint16 above,
    as the quantizer's. `method` is one of ``none``, ``floyd-steinberg`` or
    ``ordered``. The result is deterministic.

    >>> img = np.array([[[10, 10, 10], [200, 190, 250]]], np.uint8)
    >>> dither(img, np.array([[0, 0, 0], [255, 255, 255]], np.uint8), "none")
    array([[0, 1]], dtype=uint8)
    """
    pixels = _validate_pixels(pixels)
    palette = _validate_palette(palette, pixels.shape[2])
    if method == "none":
        return _nearest(pixels.reshape(-1, pixels.shape[2]), palette).reshape(pixels.shape[:2])
    if method == "floyd-steinberg":
        if len(palette) > BYTE_PALETTE_SIZE:
            return _floyd_steinberg(pixels, palette)
        if pixels.shape[2] in (1, 3):
            return _floyd_steinberg_pillow(pixels, palette)
        if _one_alpha(pixels, palette):
            # Alpha equal everywhere adds nothing to any distance or error.
            return _floyd_steinberg_pillow(pixels[..., :-1], palette[:, :-1])
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
    # their bits read as int32, whose argmin is 1.7x as fast. Every sum is a
    # whole number under 2^24, so the float32 products stay exact.
    terms[-1] += _LIFT
    step = max(_MIN_ROWS, _CHUNK_ELEMENTS // len(palette))
    # Reused buffers: a fresh block per chunk costs more in page faults than the product.
    augmented = np.ones((min(step, n), channels + 1), np.float32)
    distances = np.empty((len(augmented), len(palette)), np.float32)
    bits = distances.view(np.int32)
    labels = np.empty(n, label_dtype(len(palette)))
    for start in range(0, n, step):
        chunk = points[start : start + step]
        rows = len(chunk)
        augmented[:rows, :channels] = chunk
        np.matmul(augmented[:rows], terms, out=distances[:rows])
        labels[start : start + rows] = np.argmin(bits[:rows], axis=1)
    return labels


def _one_alpha(pixels: np.ndarray, palette: np.ndarray) -> bool:
    """Whether every pixel and every entry have the same alpha (an opaque RGBA image, say)."""
    alpha = palette[0, -1]
    return bool(np.all(palette[:, -1] == alpha) and np.all(pixels[..., -1] == alpha))


def _floyd_steinberg_pillow(pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Pillow's Floyd-Steinberg for RGB, and for L as grey RGB."""
    from PIL import Image

    if pixels.shape[2] == 1:
        pixels, palette = np.repeat(pixels, 3, axis=2), np.repeat(palette, 3, axis=1)
    # A palette of K entries, not padded to 256: Pillow searches only these
    # (padding with copies of one entry made its cache 2-4x slower at K <= 16).
    target = Image.new("P", (1, 1))
    target.putpalette(np.ascontiguousarray(palette).tobytes())
    image = Image.fromarray(np.ascontiguousarray(pixels), "RGB")
    labels = np.asarray(image.quantize(palette=target, dither=Image.Dither.FLOYDSTEINBERG))
    if labels.max() >= len(palette):
        # A Pillow that fills unused slots with black and searches them too.
        return _floyd_steinberg(pixels, palette)
    return labels


def _floyd_steinberg(pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Exact Floyd-Steinberg in raster order, one anti-diagonal at a time.

    Pixel (y, x) needs only its left neighbour and three above, so all
    pixels with the same t = x + 2y are mapped in one vectorised step.
    Values live in a skewed ring of steps, ``ring[t - base, y] = pixel(y,
    t - 2y)`` plus the error received so far, so the four neighbours that
    receive error are slices of steps t+1..t+3, and writes that fall outside
    the image land in cells that are never read. Step t + 3 takes its
    pixels just before step t adds error to it (the sums then run in the
    textbook's order); when the ring is full its last three steps move to
    the front. A last channel of ones (whose palette value is also one, so
    it carries no error) gives each step's distances from one product.
    """
    height, width, channels = pixels.shape
    k = len(palette)
    colors = np.hstack([palette, np.ones((k, 1))]).astype(np.float32)
    terms = _distance_terms(palette)
    # As in _nearest: every distance lifted positive, so the argmin runs on
    # the bits as int32. Values are clipped to 0..255, so |x|^2 is under
    # _FS_LIFT; the lift adds no rounding beyond the product's own.
    terms[-1] += _FS_LIFT
    # In rows padded to width + 2 pixels, the pixels of a step are `width`
    # apart in the flat array (y * (width + 2) + t - 2y); the padding keeps
    # that stride positive for images one or two pixels wide.
    source = np.zeros((height, width + 2, channels), np.uint8)
    source[:, :width] = pixels
    source = source.reshape(-1, channels)
    labels = np.zeros((height, width + 2), label_dtype(k))
    flat_labels = labels.reshape(-1)
    steps = width + 2 * (height - 1)
    plan = []
    for t in range(steps):
        lo, hi = max(0, (t - width + 2) // 2), min(height, t // 2 + 1)
        start = t + lo * width
        # An image one pixel wide has no pixel on odd steps: an empty slice.
        stop = start + (hi - lo - 1) * width + 1 if hi > lo else start
        plan.append((lo, hi, slice(start, stop, width)))
    # Zeros, not empty: cells outside the image take error too and must stay finite.
    ring = np.zeros((max(_RING, 4), height + 1, channels + 1), np.float32)
    ring[..., channels] = 1
    for t, (lo, hi, where) in enumerate(plan[:3]):
        ring[t, lo:hi, :channels] = source[where]
    # Preallocated outputs and plain ufuncs: with some 1,500 steps of a few
    # hundred pixels each, the per-call overhead is most of the time
    # (np.clip costs five times its ufunc; one view per count is cheaper
    # than six slices per step). A step holds at most `widest` pixels; a
    # product wider than _CHUNK_ELEMENTS (a wide image, or K over 256) runs
    # in blocks of rows, which keeps the distances small and OpenBLAS on one
    # thread.
    widest = min(height, width // 2 + 1)
    block = max(_MIN_ROWS, _CHUNK_ELEMENTS // k)
    distances = np.empty((min(widest, block), k), np.float32)
    nearest = np.empty(widest, np.intp)
    picked = np.empty((widest, channels + 1), np.float32)
    error = np.empty((widest, channels + 1), np.float32)
    # The four shares of each error in one product: right, then below-left,
    # below, below-right. The three below are added first, the order in which
    # raster-order diffusion adds them to a cell.
    shares = np.empty((4, widest, channels + 1), np.float32)
    bits = distances.view(np.int32)
    views = [
        (distances[:n], bits[:n], picked[:n], error[:n])
        + (shares[:, :n], shares[1:, :n], shares[0, :n])
        for n in range(widest + 1)
    ]
    low, high = np.float32(0), np.float32(255)
    base = 0
    for t, (lo, hi, where) in enumerate(plan):
        row = t - base
        if row + 3 == len(ring):
            ring[:3] = ring[row : row + 3]
            base, row = t, 0
        if t + 3 < steps:
            lo3, hi3, where3 = plan[t + 3]
            np.copyto(ring[row + 3, lo3:hi3, :channels], source[where3])
        dist, dist_bits, pick, err, share, share_below, share_right = views[hi - lo]
        values = ring[row, lo:hi]
        _clip(values, low, high, out=values)
        if len(dist) == len(values):
            np.matmul(values, terms, out=dist)
            chosen = dist_bits.argmin(axis=1)
        else:
            chosen = nearest[: len(values)]
            for first in range(0, len(values), block):
                rows = values[first : first + block]
                np.matmul(rows, terms, out=dist[: len(rows)])
                bits[: len(rows)].argmin(axis=1, out=chosen[first : first + len(rows)])
        flat_labels[where] = chosen
        colors.take(chosen, axis=0, out=pick)
        np.subtract(values, pick, out=err)
        np.multiply(_FS_WEIGHTS, err, out=share)
        below = ring[row + 1 : row + 4, lo + 1 : hi + 1]
        np.add(below, share_below, out=below)
        right = ring[row + 1, lo:hi]
        np.add(right, share_right, out=right)
    return np.ascontiguousarray(labels[:, :width])


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
