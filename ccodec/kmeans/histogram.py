"""The colour histogram: pixels to sorted interleaved keys, their counts, and back to labels.

Keys interleave the channels' bits, most significant first (Morton order),
so the keys of a coarser histogram are prefixes (`ccodec.kmeans.levels`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = [
    "histogram",
    "merge_histograms",
    "merge_keys",
    "on_two_threads",
    "pack",
    "pixel_labels",
    "threads_pay",
    "unpack",
]

# From this many pixels the histogram's sort and the RGBA labels' search run
# in two halves on two threads (below it, starting a thread costs more than
# half the work saves).
_THREADED_FROM = 1 << 16


def histogram(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        # inverse, which pixel_labels gets from a lookup table instead.
        return keys, np.sort(keys)

    if not threads_pay(len(flat)):
        keys, ordered = sorted_keys(flat)
    else:
        # The sort is the largest fixed cost of a quantization, and NumPy sorts
        # without holding the GIL: each half on its own core, then one merge
        # (a stable sort of 32-bit keys is a timsort, which merges two sorted runs
        # in one pass).
        half = len(flat) // 2
        (keys, ordered), (keys_2, ordered_2) = on_two_threads(sorted_keys, flat[:half], flat[half:])
        keys = np.concatenate([keys, keys_2])
        ordered = np.sort(np.concatenate([ordered, ordered_2]), kind="stable")
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    counts = np.diff(np.append(starts, len(ordered)))
    return keys, ordered[starts], counts


def threads_pay(pixels: int) -> bool:
    """Whether work on this many pixels is worth splitting over two threads."""
    return pixels >= _THREADED_FROM and (os.cpu_count() or 1) >= 2


def on_two_threads(function: Callable, first: object, second: object) -> tuple:
    """(function(first), function(second)), the first computed on a second thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(function, first)
        result = function(second)
        return pending.result(), result


def _spread_tables(channels: int) -> np.ndarray:
    """(channels, 256) uint32: bit i of channel c's value moved to bit i * channels + c."""
    values = np.arange(256, dtype=np.uint32)
    tables = np.zeros((channels, 256), np.uint32)
    for c in range(channels):
        for i in range(8):
            tables[c] |= ((values >> np.uint32(i)) & np.uint32(1)) << np.uint32(i * channels + c)
    return tables


def pack(colors: np.ndarray) -> np.ndarray:
    """The interleaved keys (M,) uint32 of (M, C) uint8 colours: `unpack` undone."""
    spread = _spread_tables(colors.shape[1])
    keys = spread[0][colors[:, 0]]
    for c in range(1, colors.shape[1]):
        keys |= spread[c][colors[:, c]]
    return keys


def merge_histograms(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Several histograms' (colours (M, C) uint8, counts) as one: sorted distinct keys and
    their summed counts, as `histogram` gives them for all the pixels together.

    Only the distinct colours are merged, never the pixels.
    """
    return merge_keys([(pack(colors), counts) for colors, counts in parts])


def merge_keys(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Several (keys, counts) of one channel count as sorted distinct keys and summed counts."""
    keys = np.concatenate([k for k, _ in parts])
    counts = np.concatenate([np.asarray(c, np.int64) for _, c in parts])
    order = np.argsort(keys, kind="stable")
    keys, counts = keys[order], counts[order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return keys[starts], np.add.reduceat(counts, starts)


def unpack(unique_keys: np.ndarray, channels: int) -> np.ndarray:
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


def pixel_labels(
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

    if not threads_pay(len(keys)):
        return look_up(keys)
    half = len(keys) // 2
    return np.concatenate(on_two_threads(look_up, keys[:half], keys[half:]))
