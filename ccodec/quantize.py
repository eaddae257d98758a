"""Colour quantization: weighted k-means++ and Lloyd on an image's colour histogram.

The public `quantize` validates its arguments; the private helpers compute.
Clustering runs on the distinct colours of the image weighted by their pixel
counts, which gives exactly the same k-means objective as clustering every
pixel, at a fraction of the work (a photo has 30-230 thousand colours in
262 thousand pixels; a graphic far fewer).

The steps, each chosen by measurement (benchmarks/quantize.py):

1. histogram: interleave each pixel's bits into a uint32 key, sort, count
   (each half of the pixels on its own thread from 65,536 pixels);
2. coarse levels: merge colours that agree in their top 4-7 bits (runs of
   the sorted keys);
3. restarts: greedy weighted k-means++ and rough plain Lloyd on the
   coarsest level, several times at small K; the two best go on to the next
   level, which keeps the better. Above K = 256 one run, started by
   splitting clusters along their widest axis (log2 K passes, where
   k-means++ would take K);
4. Lloyd on each finer level from the previous centres, with Yinyang group
   bounds (few points are looked at once the centres settle) and
   over-relaxed steps; on the full histogram until at most `tol` of the
   pixels change label in a step (``tol * K / 256`` above K = 256). Above
   K = 1024 a finer level inherits labels and bounds from the coarser one
   instead of searching every point against all K centres;
5. rounding: centres to 8 bits, colours re-assigned to the rounded palette,
   re-centred while that lowers the error; pixel labels by table look-up.

With ``space="oklab"`` steps 2-5 run on the colours' OKLab coordinates
(`ccodec.colorspace`) instead of sRGB values in [0, 1]: the histogram and its
bins are the same, only the points differ. Rounding turns centres into sRGB
bytes with `oklab_palette_to_srgb`, and the re-assigning and re-centring use
those bytes' OKLab coordinates, so every colour ends on the palette entry
nearest to it in OKLab. Alpha stays one more channel, on [0, 1] like OKLab's
L: going from opaque to transparent weighs as much as black to white, as in
sRGB where it weighs like one full channel. Grey images cluster on OKLab L
alone (a = b = 0 for every grey).
"""

from __future__ import annotations

import operator
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import _core
from .colorspace import oklab_palette_to_srgb, srgb_to_oklab
from .errors import OptionError

__all__ = ["MAX_COLORS", "SPACES", "Quantized", "quantize"]

#: The largest K: labels are uint8 up to 256 palette entries, uint16 above.
MAX_COLORS = 65536

MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}

#: The colour spaces `quantize` can cluster in.
SPACES = ("rgb", "oklab")

#: The most entries 8-bit indices address: uint8 labels, and Pillow's (PNG's,
#: GIF's) palettes. Larger palettes get uint16 labels and RGB(A) images.
BYTE_PALETTE_SIZE = 256

# quantize's default stopping fraction (`tol`), which the target search passes on too.
_DEFAULT_TOL = 3e-4

# Up to this K, distance searches of at least this many points per centre
# run one centre at a time over blocks of at most this many points, and
# this many distances (1 MiB: a 2 MiB product went to two OpenBLAS threads
# and took twice the CPU time) (`_nearest_two_by_centre`). Measured against
# the row-by-row search, 113,382 colours: K = 10 6.1 -> 3.2 ms, K = 20
# 10.6 -> 7.3, K = 32 even, K = 64 1.5x slower.
_BY_CENTRE_UP_TO = 20
_BY_CENTRE_ROWS = 64
_BY_CENTRE_BLOCK = 1 << 14
_BY_CENTRE_ELEMENTS = 1 << 18
# Distance matrices are built this many elements at a time (256 KiB of float32:
# it stays in cache, and OpenBLAS runs products this small on one thread,
# which under load was 1.7x faster on the 24 MP case than two threads),
# so memory grows with the number of colours, never colours x K.
_CHUNK_ELEMENTS = 1 << 16
# ...but at least this many rows: at K = 65,536 one row a chunk would spend
# its time in Python (64 rows x 65,536 is 16 MiB).
_MIN_ROWS = 64
# Above this many distinct colours, restart on a coarse histogram (4 to 7
# bits a channel, when that leaves enough bins per cluster) and converge
# roughly there and on each finer one; the full-resolution steps only polish.
# Restarts on a 4-bit level (a few hundred bins) halve the time at K <= 20.
_COARSE_ABOVE = 1 << 11
_COARSE_BITS = (4, 5, 6, 7)
_COARSE_PER_CLUSTER = 32
# Yinyang groups hold about this many centres, and cost one float per point
# and group, capped at this many floats in all.
_GROUP_SIZE = 8
_MAX_GROUP_ELEMENTS = 1 << 25
# Over-relaxed Lloyd steps go this far towards (and past) the mean.
_RELAX = 1.9
# Re-centre-and-round steps after rounding the centres (each kept only if it
# lowers the error; rarely more than one helps).
_ROUNDING_STEPS = 3
# Up to this many distinct colours (every corpus photo) Lloyd runs on the
# full histogram until at most `tol` of the pixels change label; above it (a
# 24-megapixel photo has millions) each step costs too much, and the 7-bit
# level's centres (bins two levels wide) only get the re-centring steps of
# the rounding.
_EXACT_UP_TO = 1 << 18
# From this many pixels the histogram's sort and the RGBA labels' search run
# in two halves on two threads (below it, starting a thread costs more than
# half the work saves).
_THREADED_FROM = 1 << 16
# Restarts on at most this many points x clusters run plain Lloyd steps.
_PLAIN_UP_TO = 1 << 20
# Up to this K their nearest-centre search takes one packed minimum
# (`_nearest_batch_packed`): 4,029 colours x 4 runs at K = 32 1.08 -> 0.69
# ms, 5,663 x 4 at K = 50 2.07 -> 1.57; at K = 64 it was 1.1x slower.
_PACKED_UP_TO = 50
# Restarts end early when a run's error is within this fraction of the best
# one's: at K=2 every run finds the same split.
_SAME_RUN = 1e-6
# The best runs on the coarsest level that go on to the next level (the
# coarse level ranks runs only roughly).
_FINALISTS = 2
# Greedy k-means++ candidates per centre: base + factor * log(K), twice
# scikit-learn's log factor; over six seeds this cut the worst MSE ratio to
# scikit-learn from 1.013 to 1.002 on rocket K=32.
_TRIALS_BASE, _TRIALS_LOG = 2, 2.0
# Above this K finer levels take labels and bounds from the coarser one
# (`_State.finer`): at K = 4096 19% faster, at 1024 even; at 512 20% slower
# and at 64 and 256 twice as slow (the inherited labels need more steps than
# a fresh search costs there).
_INHERIT_ABOVE = 1024
# A coarse level counts as settled when at most this fraction of points move.
_ROUGH_CHANGES = 1e-2
# Above this K, greedy k-means++ (K passes over the points, each with a dozen
# candidates) is too slow: the first centres come from splitting clusters
# along their widest axis instead, a dozen passes in all.
_SPLIT_ABOVE = 256
# Above it a coarse level needs only this many bins per cluster to start on:
# the split start needs no room for random draws.
_SPLIT_PER_CLUSTER = 8


# Keys Pillow's savers and converters give a meaning to: a text entry of a
# decoded file named like one ("transparency") must not reach them.
PILLOW_INFO_KEYS = frozenset(
    {"aspect", "background", "ccz_version", "colors", "compression", "dpi", "duration",
     "exif", "gamma", "loop", "progressive", "quality", "transparency", "xmp"}
)  # fmt: skip


def pillow_info(info: dict) -> dict:
    """The entries of `info` that are safe in a PIL image's ``info``.

    >>> pillow_info({"Title": "sea", "transparency": "0"})
    {'Title': 'sea'}
    """
    return {key: value for key, value in info.items() if key not in PILLOW_INFO_KEYS}


@dataclass(frozen=True, eq=False)
class Quantized:
    """An image reduced to a palette: ``palette[labels]`` is the image.

    ``palette`` is a (K, C) uint8 array, ``labels`` an (H, W) array of
    indices into it (uint8 when K <= 256, uint16 above), and ``seed`` the
    seed that produced it (None when decoded).
    ``info`` carries metadata the way Pillow's ``Image.info`` does
    (``"icc_profile"`` as bytes, text entries as str); it never affects pixels.

    >>> q = quantize(np.zeros((2, 3, 3), np.uint8), 4)
    >>> q.k, q.mode, q.to_array().shape
    (1, 'RGB', (2, 3, 3))
    """

    palette: np.ndarray
    labels: np.ndarray
    seed: int | None = None
    info: dict = field(default_factory=dict, compare=False)

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
        labels = np.ascontiguousarray(self.labels)
        if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
            raise OptionError(
                f"labels must be an (H, W) integer array, not {labels.dtype} "
                f"of shape {labels.shape}."
            )
        # Unsigned labels need no lower bound, nor an upper one when their dtype cannot exceed K.
        signed = np.issubdtype(labels.dtype, np.signedinteger)
        can_exceed = signed or np.iinfo(labels.dtype).max >= self.k
        if labels.size and (
            (signed and labels.min() < 0) or (can_exceed and labels.max() >= self.k)
        ):
            raise OptionError(f"labels must lie in 0..{self.k - 1}.")
        if labels.dtype not in (np.uint8, np.uint16):
            labels = labels.astype(label_dtype(self.k))
        pixels = np.empty((*labels.shape, self.channels), np.uint8)
        # Compiled: a gather with no temporary the size of the image.
        _core.palette_lookup(labels, np.ascontiguousarray(self.palette, np.uint8), pixels)
        return pixels[..., 0] if self.channels == 1 else pixels

    def to_image(self):
        """The quantized pixels as a PIL image in mode `mode`."""
        from PIL import Image

        image = Image.fromarray(self.to_array(), self.mode)
        image.info.update(pillow_info(self.info))
        return image

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
    tol: float = _DEFAULT_TOL,
    space: str = "rgb",
    on_progress: Callable[[float], None] | None = None,
) -> Quantized:
    """Reduce an image to at most `k` colours with k-means++ and Lloyd iterations.

    `pixels` is an (H, W) or (H, W, C) uint8 array with C from 1 to 4 (L, LA,
    RGB, RGBA; alpha is clustered as one more channel); `k` is 1 to
    `MAX_COLORS` (65,536). The result has exactly `k` palette entries, or
    fewer when the image has no more than `k` distinct colours, in which case
    it is exact (the palette is the image's colours). Labels are uint8 when
    the palette has at most 256 entries, uint16 above. Above K = 256 the
    start is deterministic (cluster splits, not k-means++), so the seed
    changes nothing there. Lloyd iteration stops when at most a
    fraction `tol` of the pixels changes label in a step (the default 3e-4
    skips the long tail of steps that each move a few dozen pixels; on the
    benchmark corpus it kept the MSE within 0.15% of running to the end, and
    1e-3 did not; above K = 256 the fraction is ``tol * K / 256``, since more
    clusters have more borders: at K = 4096 that saved 19% of the time for
    0.01 dB), or after `max_iter` steps; ``tol=0`` runs until no label
    changes. Above 262,144 distinct colours the
    last Lloyd steps run on a 7-bit histogram, and only the rounding's
    re-centring steps see every colour. The same `seed` gives the same result;
    ``seed=None`` draws a fresh one and records it in ``result.seed``.

    `space` is where distances are measured: ``"rgb"`` (sRGB values, what
    `ccodec.mse` measures) or ``"oklab"`` (perceptual; each colour goes to
    the palette entry nearest in OKLab). The palette is sRGB bytes either way.

    `on_progress`, if given, is called with the fraction of the work done
    (rising from 0 to 1) after each Lloyd step and level, for a progress bar
    on long runs; it changes nothing in the result. Time grows roughly with K
    times the number of distinct colours.

    >>> img = np.array([[[0, 0, 0], [0, 0, 0]], [[255, 0, 0], [251, 0, 0]]], np.uint8)
    >>> q = quantize(img, 2, seed=0)
    >>> sorted(q.palette.tolist())
    [[0, 0, 0], [253, 0, 0]]
    """
    pixels = _validate_pixels(pixels)
    k = _validate_int("k", k, 1, MAX_COLORS)
    max_iter = _validate_int("max_iter", max_iter, 1, None)
    if not (isinstance(tol, (int, float)) and 0 <= tol < 1):
        raise OptionError(f"tol={tol!r} should be a number in [0, 1).")
    space = validate_space(space)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (1 << 32))
    else:
        seed = _validate_int("seed", seed, 0, None)

    height, width = pixels.shape[:2]
    flat = pixels.reshape(height * width, -1)
    rng = np.random.default_rng(seed)
    report = on_progress or _ignore
    palette, labels = _quantize(flat, k, rng, max_iter, tol, space, report)
    report(1.0)
    return Quantized(palette, labels.reshape(height, width), seed)


def _ignore(fraction: float) -> None:
    pass


def validate_space(space: object) -> str:
    """`space` if it is one of `SPACES`, else an OptionError naming them."""
    if not isinstance(space, str) or space not in SPACES:
        raise OptionError(f"space={space!r} is not one of {', '.join(SPACES)}.")
    return space


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
    flat: np.ndarray,
    k: int,
    rng: np.random.Generator,
    max_iter: int,
    tol: float,
    space: str,
    report: Callable[[float], None] = _ignore,
) -> tuple[np.ndarray, np.ndarray]:
    """Palette (K', C) uint8 and labels (N,) uint8 for flat (N, C) uint8 pixels."""
    keys, unique_keys, counts = _histogram(flat)
    colors = _unpack(unique_keys, flat.shape[1])
    palette, color_labels = _quantize_colors(
        unique_keys, colors, counts, k, rng, max_iter, tol, space, report
    )
    return palette, _pixel_labels(keys, unique_keys, color_labels, flat.shape[1])


def _quantize_colors(
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
    """Palette (K', C) uint8 and each distinct colour's label, from `_histogram`'s keys and
    counts and the (M, C) uint8 colours of the keys (`_unpack`); `report` gets the fraction
    done (the start, then each level by its Lloyd steps, then the rounding: equal shares)."""
    if len(colors) <= k:
        return colors, np.arange(len(colors), dtype=label_dtype(len(colors)))

    points = _to_points(colors, space)
    weights = counts.astype(np.float64)
    # Coarse to fine: restarts on the coarsest histogram, then each finer one
    # starts from the previous centres and only polishes.
    bin_levels = _coarse_bins(unique_keys, colors.shape[1], k)
    levels = _level_means(bin_levels, points, weights)
    levels.append((points, weights))
    parents = _parents(bin_levels)
    if k > _SPLIT_ABOVE:
        candidates = [_split_centers(*levels[0], k)]
    else:
        candidates = _best_of_restarts(*levels[0], k, rng, max_iter)
    shares = len(levels) + 2
    report(1 / shares)
    states = []
    for level, (level_points, level_weights) in enumerate(levels):
        # A level's share fills with its steps, up to max_iter; it ends early when it settles.
        def step(done: int, level: int = level) -> None:
            report((1 + level + min(done, max_iter) / max_iter) / shares)

        last = level == len(levels) - 1
        if level == 0 or k <= _INHERIT_ABOVE:
            states = [_State(level_points, level_weights, c, len(points)) for c in candidates]
        else:
            # Labels and bounds from the coarser level: no search of all K.
            states = [s.finer(level_points, level_weights, parents[level - 1]) for s in states]
        exact = len(level_points) <= _EXACT_UP_TO
        # Finalists on the last level are compared once settled roughly, and
        # only the better one runs on (at K >= 50 on chelsea the last level is
        # the second one, and converging both doubled the time).
        pick_rough = last and len(states) > 1
        for state in states:
            if not last or exact:
                state.iterate(max_iter, tol, rough=not last or pick_rough, on_step=step)
        # The coarsest level ranks the runs only roughly: the next one
        # decides between the finalists.
        state = min(states, key=_State.inertia)
        if pick_rough and exact:
            state.iterate(max_iter, tol, on_step=step)
        if level:
            states = [state]
        candidates = [s.centers for s in states]
        report((2 + level) / shares)
    return _round_palette(state, space)


def _to_points(colors: np.ndarray, space: str) -> np.ndarray:
    """The float32 points clustered for (M, C) colours on 0..255 (uint8 or whole floats)."""
    if space == "rgb":
        return colors.astype(np.float32) / 255
    return srgb_to_oklab(colors.astype(np.float64) / 255).astype(np.float32)


def _to_palette(centers: np.ndarray, space: str) -> np.ndarray:
    """The nearest sRGB bytes (as float32 values 0..255) of centres in `space`."""
    if space == "rgb":
        return np.clip(np.rint(centers * 255), 0, 255)
    return oklab_palette_to_srgb(centers).astype(np.float32)


def _histogram(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each pixel's colour key (N,), the distinct keys sorted (M,), and their counts.

    Keys interleave the channels' bits, most significant first (Morton
    order), so the keys of a coarser histogram are prefixes: its bins are
    runs of the sorted keys and need no sort of their own.
    """
    spread = _spread_tables(flat.shape[1])

    def sorted_keys(part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys = spread[0][part[:, 0]]
        for c in range(1, part.shape[1]):
            keys |= spread[c][part[:, c]]
        # One sort of the keys: cheaper than np.unique's argsort for the
        # inverse, which _pixel_labels gets from a lookup table instead.
        return keys, np.sort(keys)

    if not _threads_pay(len(flat)):
        keys, ordered = sorted_keys(flat)
    else:
        # The sort is the largest fixed cost of a quantization (7 of 22 ms
        # for rocket at K = 2; NumPy's AVX-512 sort is slow on some
        # processors), and NumPy sorts without holding the GIL: each half
        # on its own core, then one merge. NumPy's stable sort of 32-bit
        # keys is a timsort, which finds the two sorted runs and merges them
        # in one pass.
        half = len(flat) // 2
        (keys, ordered), (keys_2, ordered_2) = _on_two_threads(
            sorted_keys, flat[:half], flat[half:]
        )
        keys = np.concatenate([keys, keys_2])
        ordered = np.sort(np.concatenate([ordered, ordered_2]), kind="stable")
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    counts = np.diff(np.append(starts, len(ordered)))
    return keys, ordered[starts], counts


def _threads_pay(pixels: int) -> bool:
    """Whether work on this many pixels is worth splitting over two threads."""
    return pixels >= _THREADED_FROM and (os.cpu_count() or 1) >= 2


def _on_two_threads(function: Callable, first: object, second: object) -> tuple:
    """(function(first), function(second)), the first computed on a second thread."""
    found: list = []

    def run() -> None:
        try:
            found.append(function(first))
        except BaseException as error:  # re-raised below, in the caller's thread
            found.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        result = function(second)
    finally:
        worker.join()
    if isinstance(found[0], BaseException):
        raise found[0]
    return found[0], result


def _spread_tables(channels: int) -> np.ndarray:
    """(channels, 256) uint32: bit i of channel c's value moved to bit i * channels + c."""
    values = np.arange(256, dtype=np.uint32)
    tables = np.zeros((channels, 256), np.uint32)
    for c in range(channels):
        for i in range(8):
            tables[c] |= ((values >> np.uint32(i)) & np.uint32(1)) << np.uint32(i * channels + c)
    return tables


def _unpack(unique_keys: np.ndarray, channels: int) -> np.ndarray:
    """The (M, channels) uint8 colours of interleaved keys."""
    values = np.arange(256, dtype=np.uint32)
    packed = np.zeros(len(unique_keys), "<u4")
    for byte in range(channels):
        # The bits each key byte value gives each channel, channel c in byte c.
        table = np.zeros(256, "<u4")
        for position in range(8):
            bit, channel = divmod(8 * byte + position, channels)
            table |= ((values >> np.uint32(position)) & np.uint32(1)) << np.uint32(
                8 * channel + bit
            )
        packed |= table[(unique_keys >> np.uint32(8 * byte)) & np.uint32(0xFF)]
    return packed.view(np.uint8).reshape(-1, 4)[:, :channels].copy()


def _pixel_labels(
    keys: np.ndarray, unique_keys: np.ndarray, color_labels: np.ndarray, channels: int
) -> np.ndarray:
    """The label of every pixel from the label of its colour."""
    if channels <= 3:
        # np.zeros maps untouched pages lazily, so the 16 MiB RGB table costs
        # only the pages the image's colours land on.
        table = np.zeros(1 << (8 * channels), color_labels.dtype)
        table[unique_keys] = color_labels
        return table[keys]

    # 32-bit keys: no table; a binary search, half the pixels on each core.
    def look_up(part: np.ndarray) -> np.ndarray:
        return color_labels[np.searchsorted(unique_keys, part)]

    if not _threads_pay(len(keys)):
        return look_up(keys)
    half = len(keys) // 2
    return np.concatenate(_on_two_threads(look_up, keys[:half], keys[half:]))


def label_dtype(k: int) -> type:
    """uint8 labels for up to `BYTE_PALETTE_SIZE` palette entries, uint16 above."""
    return np.uint8 if k <= BYTE_PALETTE_SIZE else np.uint16


def _coarse_bins(unique_keys: np.ndarray, channels: int, k: int) -> list[np.ndarray]:
    """Each colour's bin in histograms with fewer bits, coarsest first; some may be skipped.

    A level is kept when it has enough bins per cluster to place them well
    and clearly fewer bins than the next finer one; a skipped level is kept
    after all when every coarser one has too few bins.
    """
    found = []
    previous = len(unique_keys)
    skipped = None
    for bits in reversed(_COARSE_BITS):
        if previous <= _COARSE_ABOVE:
            break
        # Sorted interleaved keys: a coarse bin is a run of equal prefixes.
        prefixes = unique_keys >> np.uint32(channels * (8 - bits))
        bins = np.empty(len(prefixes), np.intp)
        bins[0] = 0
        np.cumsum(prefixes[1:] != prefixes[:-1], out=bins[1:])
        count = int(bins[-1]) + 1
        if count < _per_cluster(k) * k:
            if skipped is not None:
                # Too coarse: restart on the skipped finer level instead
                # (chelsea's 22,092 7-bit bins at K=256, not all 32,584 colours).
                found.append(skipped)
            break
        if count > previous // 2:
            skipped = bins
            continue
        found.append(bins)
        previous, skipped = count, None
    return found[::-1]


def _per_cluster(k: int) -> int:
    """Bins per cluster a coarse level needs: fewer above _SPLIT_ABOVE, whose init is not random."""
    return _COARSE_PER_CLUSTER if k <= _SPLIT_ABOVE else _SPLIT_PER_CLUSTER


def _parents(bin_levels: list[np.ndarray]) -> list[np.ndarray]:
    """For each level after the coarsest, the bin of the level before that each point is in."""
    pairs = zip(bin_levels, bin_levels[1:], strict=False)
    return [coarse[_run_starts(fine)] for coarse, fine in pairs] + bin_levels[-1:]


def _level_means(
    levels: list[np.ndarray], points: np.ndarray, weights: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The weighted mean point and total weight of each bin of each level, coarsest first.

    Each level is summed from the next finer one's bins, not from every
    colour: bins are runs of the sorted colours, nested across levels.
    """
    found = []
    totals = weights
    sums = [weights * points[:, c] for c in range(points.shape[1])]
    finer = None
    for bins in reversed(levels):
        index = bins if finer is None else bins[_run_starts(finer)]
        totals = np.bincount(index, weights=totals)
        sums = [np.bincount(index, weights=s) for s in sums]
        found.append(((np.stack(sums, axis=1) / totals[:, None]).astype(np.float32), totals))
        finer = bins
    return found[::-1]


def _run_starts(bins: np.ndarray) -> np.ndarray:
    """Where each run of equal values in a non-decreasing array begins."""
    return np.flatnonzero(np.concatenate(([True], bins[1:] != bins[:-1])))


def _best_of_restarts(
    points: np.ndarray,
    weights: np.ndarray,
    k: int,
    rng: np.random.Generator,
    max_iter: int,
) -> list[np.ndarray]:
    """k-means++ then rough Lloyd from several seeds; the centres of the best runs, best first."""
    restarts = _restarts(k)
    if len(points) * k <= _PLAIN_UP_TO:
        # All runs' Lloyd steps at once: on a few hundred points each step
        # is mostly per-call overhead, paid once instead of once per run.
        starts = _kmeans_plusplus(points, weights, k, rng, restarts)
        found = zip(*_plain_lloyd_batch(points, weights, starts, max_iter), strict=True)
    else:
        found = (_rough_run(points, weights, k, rng, max_iter) for _ in range(restarts))
    runs: list[tuple[float, np.ndarray]] = []
    for centers, inertia in found:
        if any(abs(inertia - other) <= _SAME_RUN * other for other, _ in runs):
            break  # two runs found the same minimum: more would very likely too
        runs.append((float(inertia), centers))
    runs.sort(key=lambda run: run[0])
    return [centers for _, centers in runs[:_FINALISTS]]


def _split_centers(points: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """K centres by splitting clusters at their mean along their widest axis.

    Every round splits the clusters with the largest error (all of them
    until the last rounds), so it takes about log2(K) passes over the points
    however large K is. Needs more than K distinct points.
    """
    n, channels = points.shape
    labels = np.zeros(n, np.intp)
    values = points.astype(np.float64)
    weighted = [weights * values[:, c] for c in range(channels)]
    squares = [w * values[:, c] for c, w in enumerate(weighted)]
    count = 1
    while True:
        totals = np.bincount(labels, weights, count)
        sums = np.stack([np.bincount(labels, w, count) for w in weighted], axis=1)
        means = sums / totals[:, None]
        if count == k:
            return means.astype(np.float32)
        spread = np.stack([np.bincount(labels, q, count) for q in squares], axis=1)
        spread -= sums * means
        # A single point has no spread, whatever rounding says.
        spread[np.bincount(labels, minlength=count) < 2] = 0
        error = spread.sum(axis=1)
        order = np.argsort(-error, kind="stable")[: min(count, k - count)]
        order = order[error[order] > 0]
        new_ids = np.full(count, -1, np.intp)
        new_ids[order] = np.arange(count, count + len(order))
        axis = np.argmax(spread, axis=1)
        point_axis = axis[labels]
        right = values[np.arange(n), point_axis] > means[labels, point_axis]
        right &= new_ids[labels] >= 0
        labels[right] = new_ids[labels[right]]
        # A split that rounding left one-sided would leave an empty cluster.
        present = np.bincount(labels, minlength=count + len(order)) > 0
        if not present.all():
            labels = (np.cumsum(present) - 1)[labels]
        if int(present.sum()) == count:
            k = count  # nothing left to split: fewer distinct points than K
        count = int(present.sum())


def _rough_run(
    points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator, max_iter: int
) -> tuple[np.ndarray, float]:
    """One restart with Yinyang bounds, for levels too large for `_plain_lloyd_batch`."""
    state = _State(points, weights, _kmeans_plusplus(points, weights, k, rng)[0])
    state.iterate(max_iter, 0.0, rough=True)
    return state.centers, state.inertia()


def _plain_lloyd_batch(
    points: np.ndarray, weights: np.ndarray, centers: np.ndarray, max_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    """`_State.iterate(rough=True)` without bounds, for R runs at once: centres (R, K, C), errors.

    Each step is one distance matrix and a few bincounts: on a small level
    the bounds' bookkeeping costs more than the distances it saves. A run
    that has settled keeps its centres while the others go on.
    """
    runs, k, channels = centers.shape
    n = len(points)
    offsets = np.arange(runs) * k
    flat_weights = np.repeat(weights, runs)
    weighted = [flat_weights * np.repeat(points[:, c], runs) for c in range(channels)]
    norms = float(np.einsum("i,ij,ij->", weights, points, points.astype(np.float64)))
    settled = _ROUGH_CHANGES * n

    def assign(centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        labels, nearest = _nearest_batch(points, centers)
        # Run by run, so each error sums exactly as a run on its own would.
        return labels, np.array([norms + float(weights @ row) for row in nearest])

    labels, error = assign(centers)
    relax = np.full(runs, _RELAX, np.float32)
    active = np.ones(runs, bool)
    for _ in range(max_iter):
        flat = (labels.T + offsets).ravel()
        totals = np.bincount(flat, flat_weights, runs * k).reshape(runs, k)
        sums = np.stack([np.bincount(flat, w, runs * k) for w in weighted], axis=1)
        sums = sums.reshape(runs, k, channels)
        means = (sums / np.where(totals > 0, totals, 1)[..., None]).astype(np.float32)
        empty = totals <= 0
        for r in np.flatnonzero(empty.any(axis=1)):
            # As _State.means: at the points that cost the most.
            diff = points - centers[r][labels[r]]
            cost = weights * np.einsum("ij,ij->i", diff, diff)
            means[r, empty[r]] = points[np.argsort(-cost, kind="stable")[: empty[r].sum()]]
        relaxed = (relax != 1)[:, None, None]
        target = np.where(relaxed, centers + relax[:, None, None] * (means - centers), means)
        target[empty] = means[empty]
        centers = np.where(active[:, None, None], target, centers)
        new_labels, new_error = assign(centers)
        changed = np.count_nonzero(new_labels != labels, axis=1)
        labels = new_labels
        quiet = changed <= settled
        done = (relax == 1) & quiet & ~empty.any(axis=1)
        relax[(relax != 1) & ((new_error > error) | quiet)] = 1
        error = np.where(active, new_error, error)
        active &= ~done
        if not active.any():
            break
    return centers, error


def _nearest_batch(points: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest of R sets of K centres (R, K, C) for each point: labels, distances, both (R, N).

    The distances leave out |x|^2, the same for every centre.
    """
    runs, k, _ = centers.shape
    if k <= _PACKED_UP_TO:
        return _nearest_batch_packed(points, centers)
    flat = centers.reshape(runs * k, -1)
    minus_two_t = -2 * flat.T
    centers_sq = _squared_norms(flat)
    n = len(points)
    labels = np.empty((runs, n), np.intp)
    nearest = np.empty((runs, n), np.float32)
    step = max(1, _CHUNK_ELEMENTS // (runs * k))
    for start in range(0, n, step):
        d = points[start : start + step] @ minus_two_t
        d += centers_sq
        d = d.reshape(len(d), runs, k)
        best = np.argmin(d, axis=2)
        labels[:, start : start + len(d)] = best.T
        nearest[:, start : start + len(d)] = np.take_along_axis(d, best[..., None], 2)[..., 0].T
    return labels, nearest


def _nearest_batch_packed(points: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`_nearest_batch` for small K: one minimum over blocks, not an argmin per point.

    Each squared distance (made non-negative with |x|^2, taken off again at
    the end) carries its centre's index in its lowest mantissa bits:
    non-negative floats order as their bits do, so the minimum over a run's
    K rows of a centres x points block is the nearest centre and its
    distance, to 2^(log2 K - 23) relative. The restarts only need to rank
    runs roughly, and their centres are polished exactly later (`_State`);
    an argmin per point and run over 2-50 columns cost 1.3-2x as much.
    """
    runs, k, channels = centers.shape
    mask = np.int32((1 << max(1, (k - 1).bit_length())) - 1)
    flat = centers.reshape(runs * k, channels)
    minus_two = -2 * flat
    centers_sq = _squared_norms(flat)[:, None]
    index = np.tile(np.arange(k, dtype=np.int32), runs)[:, None]
    points_t = np.ascontiguousarray(points.T)
    points_sq = _squared_norms(points)
    n = len(points)
    labels = np.empty((runs, n), np.intp)
    nearest = np.empty((runs, n), np.float32)
    step = max(1, _CHUNK_ELEMENTS // (runs * k))
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


def _restarts(k: int) -> int:
    # Single runs vary by a few per cent at small K; at large K the many
    # clusters average out and a restart costs more.
    return 8 if k <= 20 else 4 if k <= 64 else 2 if k <= 128 else 1


# Weighted sums go through einsum, not `@`: BLAS would spread these
# memory-bound vector products over threads, which only adds waiting.


def _squared_norms(points: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", points, points)


def _kmeans_plusplus(
    points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator, runs: int = 1
) -> np.ndarray:
    """Greedy weighted k-means++, `runs` independent times: centres (runs, K, C).

    Of a few candidates per step keep the one that lowers the error most.
    The runs step together, so a small level pays the per-step overhead once
    for all of them, not once per run.
    """
    n = len(points)
    n_trials = _TRIALS_BASE + int(_TRIALS_LOG * np.log(k))
    # Candidates x points, so every product, minimum and weighted sum runs
    # along contiguous rows (4x faster than points x candidates).
    points_t = np.ascontiguousarray(points.T)
    points_sq = _squared_norms(points)
    weights32 = weights.astype(np.float32)
    every_run = np.arange(runs)
    # Each run's draws are one stretch of the stream, as if the runs ran one
    # after another: the same seed picks the same centres however they step.
    uniform = rng.random((runs, 1 + (k - 1) * n_trials))
    cumulative = np.cumsum(weights)
    first = np.searchsorted(cumulative, uniform[:, 0] * cumulative[-1], "right")
    chosen = np.empty((runs, k), np.intp)
    chosen[:, 0] = np.minimum(first, n - 1)
    closest = _distances_from(points[chosen[:, 0]], points_t, points_sq)
    for step in range(1, k):
        cumulative = np.cumsum(weights * closest, axis=1)
        draws = uniform[:, 1 + (step - 1) * n_trials : 1 + step * n_trials] * cumulative[:, -1:]
        candidates = np.minimum(
            [np.searchsorted(c, d, "right") for c, d in zip(cumulative, draws, strict=True)], n - 1
        )
        trials = _distances_from(points[candidates.ravel()], points_t, points_sq)
        trials = trials.reshape(runs, n_trials, n)
        np.minimum(trials, closest[:, None, :], out=trials)
        best = np.argmin(trials @ weights32, axis=1)
        chosen[:, step] = candidates[every_run, best]
        closest = trials[every_run, best]
    return points[chosen]


def _distances_from(centers: np.ndarray, points_t: np.ndarray, points_sq: np.ndarray) -> np.ndarray:
    """Squared distances (len(centers), N) from a few centres to points given as (C, N)."""
    d = (-2 * centers) @ points_t
    d += points_sq
    d += _squared_norms(centers)[:, None]
    return np.maximum(d, 0, out=d)


def _nearest_two(
    points: np.ndarray,
    centers: np.ndarray,
    starts: np.ndarray,
    layout: tuple[np.ndarray, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest centre of each point, the distance to it, and to the nearest other per group.

    Groups are the runs of centres beginning at `starts`; the result's last
    array is (N, len(starts)). Distances come from one matrix product per
    chunk of a few MiB, so memory grows with the number of points, never
    points x K. `layout` is `_group_columns(starts, K)`, which a state
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
    centers_sq = np.append(_squared_norms(centers), np.float32(np.inf))[columns]
    step = max(_MIN_ROWS, _CHUNK_ELEMENTS // len(columns))
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
    points_sq = _squared_norms(points)
    first += points_sq
    others += points_sq[:, None]
    return labels, _root(first), _root(others)


def _nearest_two_by_centre(
    points: np.ndarray, centers: np.ndarray, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_nearest_two` for small K: one pass per centre over a block of points.

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
    # (groups, points), returned transposed: `_State` keeps it this way round.
    others = np.empty((n_groups, n), np.float32)
    minus_two = np.ascontiguousarray(-2 * centers)
    centers_sq = _squared_norms(centers)[:, None]
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
    points_sq = _squared_norms(points)
    first += points_sq
    others += points_sq
    return labels, _root(first), _root(others).T


def _group_columns(starts: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    """Columns for the distance matrix: member s of group g at column s * groups + g.

    Groups shorter than the longest are padded with index `k`. In this
    layout the minimum per group is a few element-wise minima of column
    blocks (`_fold_min`), 3x faster than np.minimum.reduceat over rows.
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


def _groups(centers: np.ndarray, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """An order of the centres that puts nearby ones in runs, and where each run starts.

    The runs are the groups of Yinyang k-means's bounds.
    A point's lower bound per group then only falls by the largest step
    within that group, not the largest of all K (Hamerly), so far fewer
    points are looked at again when one centre jumps. Groups come from
    median splits along the widest axis, so their sizes differ by at most
    one and the distance matrix needs almost no padding.
    """
    k = len(centers)
    n_groups = min(k // _GROUP_SIZE, _MAX_GROUP_ELEMENTS // max(n_points, 1))
    if n_groups <= 1:
        return np.arange(k), np.zeros(1, np.intp)
    runs = _median_split(centers, np.arange(k), n_groups)
    order = np.concatenate(runs)
    return order, np.cumsum([0] + [len(run) for run in runs[:-1]])


def _median_split(centers: np.ndarray, index: np.ndarray, parts: int) -> list[np.ndarray]:
    if parts == 1:
        return [index]
    values = centers[index]
    axis = int(np.argmax(values.max(axis=0) - values.min(axis=0)))
    index = index[np.argsort(values[:, axis], kind="stable")]
    left = parts // 2
    cut = len(index) * left // parts
    return _median_split(centers, index[:cut], left) + _median_split(
        centers, index[cut:], parts - left
    )


def _root(squared: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(squared, 0, out=squared), out=squared)


def _half_gaps(centers: np.ndarray) -> np.ndarray:
    """Half the distance from each centre to the nearest other (Hamerly's s).

    A point closer than that to its centre cannot be closer to any other.
    """
    k = len(centers)
    if k == 1:
        return np.full(1, np.inf, np.float32)
    norms = _squared_norms(centers)
    minus_two_t = -2 * centers.T
    nearest = np.empty(k, np.float32)
    # Rows at a time: K x K would be 16 GiB at K = 65,536.
    step = max(1, (1 << 20) // k)
    for start in range(0, k, step):
        between = centers[start : start + step] @ minus_two_t
        between += norms
        between += norms[start : start + step, None]
        rows = np.arange(len(between))
        between[rows, rows + start] = np.inf
        nearest[start : start + len(between)] = between.min(axis=1)
    return _root(nearest) / 2


class _State:
    """Weighted Lloyd iterations with Yinyang's group bounds.

    Each point keeps an upper bound on the distance to its centre and, per
    group of nearby centres, a lower bound on the distance to any other in
    the group; after the centres move, only points whose bounds cross are
    looked at again.
    """

    def __init__(
        self,
        points: np.ndarray,
        weights: np.ndarray,
        centers: np.ndarray,
        n_groups_for: int | None = None,
    ) -> None:
        self.points, self.weights = points, weights
        # Groups sized for the finest level, so finer levels can inherit the bounds.
        order, self.starts = _groups(centers, n_groups_for or len(points))
        self.centers = centers[order].astype(np.float32)
        self.k = len(centers)
        # The distance matrix's column layout, the same for every re-assignment.
        self.layout = _group_columns(self.starts, len(centers))
        self.labels, self.upper, lower = _nearest_two(
            points, self.centers, self.starts, self.layout
        )
        # (groups, points): the per-point minimum then runs along whole rows.
        self.lower = np.ascontiguousarray(lower.T)
        self.norm_total = float(np.einsum("i,ij,ij->", weights, points, points.astype(np.float64)))
        self._recount()

    def finer(self, points: np.ndarray, weights: np.ndarray, parent: np.ndarray) -> _State:
        """A state on a finer level whose point i lies in this level's bin parent[i].

        Each point starts with its bin's label; a group's lower bound is the
        bin's less the distance from the point to the bin's mean (the
        triangle inequality), and the upper bound is exact. The first move
        re-assigns only points whose bounds cross, instead of a search of
        every point against all K centres.
        """
        state = object.__new__(_State)
        state.points, state.weights = points, weights
        state.starts, state.centers, state.k = self.starts, self.centers, self.k
        state.layout = self.layout
        state.labels = self.labels[parent]
        diff = points - self.centers[state.labels]
        state.upper = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        shift = points - self.points[parent]
        state.lower = self.lower[:, parent]
        state.lower -= np.sqrt(np.einsum("ij,ij->i", shift, shift))
        state.norm_total = float(np.einsum("i,ij,ij->", weights, points, points.astype(np.float64)))
        state._recount()
        return state

    def _recount(self) -> None:
        w, labels = self.weights, self.labels
        self.totals = np.bincount(labels, weights=w, minlength=self.k)
        self.sums = np.stack(
            [
                np.bincount(labels, weights=w * self.points[:, c], minlength=self.k)
                for c in range(self.points.shape[1])
            ],
            axis=1,
        )

    def inertia(self) -> float:
        """The weighted sum of squared distances, from the cluster sums in O(K)."""
        # sum w|x - c|^2 = sum w|x|^2 - 2 c.S + W|c|^2 per cluster, in float64.
        centers = self.centers.astype(np.float64)
        cross = np.einsum("kc,kc->", centers, self.sums)
        return float(
            self.norm_total - 2 * cross + np.einsum("k,kc,kc->", self.totals, centers, centers)
        )

    def means(self) -> tuple[np.ndarray, np.ndarray]:
        """The weighted mean of each cluster; empty ones re-seeded far away."""
        totals = self.totals
        empty = np.flatnonzero(totals <= 0)
        means = self.sums / np.where(totals > 0, totals, 1)[:, None]
        if len(empty):
            # As scikit-learn does: at the points that cost the most.
            cost = self.weights * self.upper.astype(np.float64) ** 2
            far = np.argsort(-cost, kind="stable")[: len(empty)]
            means[empty] = self.points[far]
        return means.astype(np.float32), empty

    def move(self, centers: np.ndarray, weights: np.ndarray | None = None) -> float:
        """Move the centres, restore exact labels; how many points (or how much weight) changed."""
        centers = centers.astype(np.float32)
        delta = np.sqrt(np.einsum("ij,ij->i", centers - self.centers, centers - self.centers))
        self.centers = centers
        labels = self.labels
        self.upper += delta[labels]
        self.lower -= np.maximum.reduceat(delta, self.starts)[:, None]
        bound = np.maximum(np.min(self.lower, axis=0), _half_gaps(centers)[labels])
        check = np.flatnonzero(self.upper > bound)
        if len(check) == 0:
            return 0
        # np.take, not points[check]: NumPy's fancy indexing of whole rows
        # took twice as long (30,000 of 113,382 rows: 0.98 -> 0.43 ms here).
        diff = np.take(self.points, check, axis=0)
        diff -= np.take(centers, labels[check], axis=0)
        upper = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        self.upper[check] = upper
        check = check[upper > bound[check]]
        if len(check) == 0:
            return 0
        old = labels[check]
        self._reassign(check)
        moved = self.labels[check] != old
        changed, old = check[moved], old[moved]
        if len(changed) > len(labels) // 8:
            self._recount()
        elif len(changed):
            w = self.weights[changed]
            new = self.labels[changed]
            points = np.take(self.points, changed, axis=0)
            self.totals += np.bincount(new, w, self.k) - np.bincount(old, w, self.k)
            for c in range(self.points.shape[1]):
                wx = w * points[:, c]
                self.sums[:, c] += np.bincount(new, wx, self.k) - np.bincount(old, wx, self.k)
        return len(changed) if weights is None else float(weights[changed].sum())

    def _reassign(self, index: np.ndarray) -> None:
        """Exact nearest centre and bounds for points[index]."""
        self.labels[index], self.upper[index], lower = _nearest_two(
            np.take(self.points, index, axis=0), self.centers, self.starts, self.layout
        )
        self.lower[:, index] = lower.T

    def iterate(
        self,
        max_iter: int,
        tol: float,
        rough: bool = False,
        on_step: Callable[[int], None] | None = None,
    ) -> None:
        """Lloyd steps until at most `tol` of the weight changes label in a step, or max_iter.

        `on_step`, if given, is called with the number of steps done after each.

        Steps start over-relaxed (past the mean, which cuts the long creep of
        plain Lloyd on dense colour data) and turn plain at the first step
        that raises the error. A `rough` run, on a coarse level that a finer
        one will polish, stops once almost no points change.
        """
        relax, error = _RELAX, self.inertia()
        if rough:
            settled, total = _ROUGH_CHANGES * len(self.points), None
        else:
            # More clusters, more borders: above _SPLIT_ABOVE the fraction
            # allowed to change grows with K.
            scale = max(1.0, self.k / _SPLIT_ABOVE)
            settled, total = tol * scale * float(self.weights.sum()), self.weights
        for done in range(1, max_iter + 1):
            if on_step is not None and done > 1:  # once per step: milliseconds to seconds each
                on_step(done - 1)
            means, empty = self.means()
            if relax != 1:
                target = self.centers + relax * (means - self.centers)
                target[empty] = means[empty]
                means = target
            changed = self.move(means, total)
            if relax != 1:
                new_error = self.inertia()
                if new_error > error or changed <= settled:
                    relax = 1
                error = new_error
            elif changed <= settled and not len(empty):
                break


def _round_palette(state: _State, space: str) -> tuple[np.ndarray, np.ndarray]:
    """Round centres to 8 bits, then re-assign and re-centre while the error falls.

    Rounding moves every centre by up to half a level per channel; assigning
    the colours to the rounded palette (not keeping the float labels) and
    re-centring once or twice wins back most of that loss. Assignments,
    means and the error are all measured in `space`, the one clustered; the
    error comes from the clusters' sums (`_State.inertia`), in O(K), not
    from another pass over every colour.
    """
    palette = _to_palette(state.centers, space)
    state.move(_to_points(palette, space))
    error = state.inertia()
    for _ in range(_ROUNDING_STEPS):
        means, _ = state.means()
        candidate = _to_palette(means, space)
        if np.array_equal(candidate, palette):
            break
        labels = state.labels.copy()
        state.move(_to_points(candidate, space))
        new_error = state.inertia()
        if new_error >= error:
            state.labels = labels
            break
        palette, error = candidate, new_error
    return palette.astype(np.uint8), state.labels.astype(label_dtype(len(palette)))
