"""Given palettes: an image's palette, pixels mapped onto a palette, one palette for many images.

`remap` maps an image onto any palette (``ccodec encode --map``);
`shared_palette` clusters several images' colour histograms together, each
weighted by its pixel counts, and `quantize_many` maps every image onto that
one palette (``ccodec encode --shared-palette``).

Modes: pixels and a palette, or several images, meet in the widest mode
among them: grey becomes RGB (R = G = B) when any is colour, and an opaque
alpha channel is added when any has alpha. Fully transparent pixels go to
the palette's first alpha-0 entry, whatever their colour (see
`ccodec.transparency`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from PIL import Image

from .dither import METHODS, dither
from .errors import InputError, OptionError
from .images import to_pixels
from .kmeans.histogram import histogram, merge_keys, pack, unpack
from .model import MAX_COLORS, Quantized
from .quantize import DEFAULT_TOL, quantize_colors, validate_space
from .transparency import clear_hidden, first_transparent, has_alpha, hidden
from .validate import check_int

__all__ = [
    "ColorCounts",
    "color_histogram",
    "dither_method",
    "map_pixels",
    "palette_from_histograms",
    "palette_of",
    "quantize_many",
    "remap",
    "shared_palette",
    "widen",
    "widest_channels",
]

# Pillow's Image.Dither values, by number: NONE, ORDERED, RASTERIZE, FLOYDSTEINBERG.
_PILLOW_DITHER = {0: "none", 1: "ordered", 3: "floyd-steinberg"}


def dither_method(value: object) -> str:
    """A dither name of `ccodec.dither.METHODS` from a name or Pillow's ``Image.Dither``.

    >>> dither_method(Image.Dither.FLOYDSTEINBERG), dither_method("ordered")
    ('floyd-steinberg', 'ordered')
    """
    if isinstance(value, str) and value in METHODS:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value in _PILLOW_DITHER:
        return _PILLOW_DITHER[int(value)]
    raise OptionError(
        f"dither={value!r} is not one of {', '.join(METHODS)} "
        "(or Image.Dither.NONE, ORDERED, FLOYDSTEINBERG)."
    )


def widest_channels(*channels: int) -> int:
    """The channel count of the widest mode among `channels`: LA and RGB meet in RGBA.

    >>> widest_channels(1, 3), widest_channels(2, 3), widest_channels(1, 1)
    (3, 4, 1)
    """
    colour = any(c >= 3 for c in channels)
    alpha = any(has_alpha(c) for c in channels)
    return (3 if colour else 1) + (1 if alpha else 0)


def widen(values: np.ndarray, channels: int) -> np.ndarray:
    """(..., C) uint8 values in the wider mode of `channels` channels (see `widest_channels`).

    >>> widen(np.array([[7, 0]], np.uint8), 4).tolist()
    [[7, 7, 7, 0]]
    """
    have = values.shape[-1]
    if have == channels:
        return values
    colour = values[..., :-1] if has_alpha(have) else values
    if colour.shape[-1] == 1 and channels >= 3:
        colour = np.repeat(colour, 3, axis=-1)
    if not has_alpha(channels):
        return np.ascontiguousarray(colour)
    if has_alpha(have):
        alpha = values[..., -1:]
    else:
        alpha = np.full(colour.shape[:-1] + (1,), 255, np.uint8)
    return np.concatenate([colour, alpha], axis=-1)


def palette_of(image: Image.Image | np.ndarray) -> np.ndarray:
    """The palette an image stands for: (K, C) uint8, K from 1 to `ccodec.MAX_COLORS`.

    Parameters
    ----------
    image : PIL.Image.Image or numpy.ndarray
        A mode-P image gives its palette, every entry in its order (alpha
        from its ``transparency``, so index i of the palette stays index i);
        any other image, or an array, its distinct colours (as
        `ccodec.to_pixels` converts them), sorted.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    InputError
        No colours at all (an empty palette or image), or more than
        `ccodec.MAX_COLORS`.

    >>> palette_of(np.array([[[9, 9, 9], [1, 2, 3], [9, 9, 9]]], np.uint8)).tolist()
    [[1, 2, 3], [9, 9, 9]]
    """
    if isinstance(image, Image.Image) and image.mode == "P":
        rawmode = "RGBA" if image.palette is not None and image.palette.mode == "RGBA" else "RGB"
        data = image.getpalette(rawmode) or []
        entries = len(data) // len(rawmode)
        if entries == 0:
            raise InputError("the palette image has an empty palette: no colours to map to")
        # A one-row image of every index, with the palette and transparency: to_pixels then
        # reads each entry's colour and alpha the way it reads any P image.
        strip = Image.frombytes("P", (entries, 1), bytes(range(entries)))
        strip.putpalette(data, rawmode)
        strip.info = {k: v for k, v in image.info.items() if k == "transparency"}
        return to_pixels(strip)[0]
    if (isinstance(image, Image.Image) and 0 in image.size) or (
        isinstance(image, np.ndarray) and image.size == 0
    ):
        raise InputError("the palette image is empty: no colours to map to")
    pixels = to_pixels(image)
    channels = pixels.shape[2]
    colors, _ = color_histogram(pixels, clear=False)
    if len(colors) > MAX_COLORS:
        raise InputError(
            f"the palette image has {len(colors):,} colours; a palette holds at most "
            f"{MAX_COLORS:,} (quantize it first, or give a mode-P image)"
        )
    return colors.reshape(-1, channels)


def remap(
    image: Image.Image | np.ndarray,
    palette: Image.Image | np.ndarray,
    dither: object = "none",
) -> Quantized:
    """`image` mapped onto a given `palette`, with or without dithering.

    Parameters
    ----------
    image : PIL.Image.Image or numpy.ndarray
        Any image `ccodec.to_pixels` takes ((H, W) or (H, W, C) uint8 arrays
        among them).
    palette : numpy.ndarray or PIL.Image.Image
        (K, C) uint8 entries, K from 1 to `ccodec.MAX_COLORS`, or an image
        whose colours are the palette (`palette_of`). Image and palette meet
        in the wider of their modes (grey to RGB, alpha added as opaque).
    dither : str or PIL.Image.Dither
        ``"none"`` (each pixel to its nearest entry), ``"floyd-steinberg"``
        or ``"ordered"`` (as `ccodec.encode`'s ``dither_method``), or
        Pillow's ``Image.Dither.NONE``, ``ORDERED``, ``FLOYDSTEINBERG``.

    Returns
    -------
    Quantized
        The palette (in the common mode, every entry kept in its order) and
        the labels; ``seed`` is None.

    Raises
    ------
    OptionError
        A palette of the wrong shape or type, or an unknown dither.
    InputError
        A palette image with no colours or too many.

    >>> q = remap(np.array([[10, 240]], np.uint8), np.array([[0], [255]], np.uint8))
    >>> q.labels.tolist(), q.mode
    ([[0, 1]], 'L')
    """
    method = dither_method(dither)
    pixels = to_pixels(image)
    entries = _as_palette(palette)
    channels = widest_channels(pixels.shape[2], entries.shape[1])
    entries = widen(entries, channels)
    return Quantized(entries, map_pixels(widen(pixels, channels), entries, method))


def _as_palette(palette: object) -> np.ndarray:
    if isinstance(palette, Image.Image):
        return palette_of(palette)
    entries = np.asarray(palette)
    if entries.dtype != np.uint8:
        raise OptionError(f"palette must be uint8, not {entries.dtype}.")
    if entries.ndim != 2 or not 1 <= entries.shape[1] <= 4:
        raise OptionError(f"palette must have shape (K, C) with C in 1..4, not {entries.shape}.")
    if not 1 <= len(entries) <= MAX_COLORS:
        raise OptionError(f"palette has {len(entries)} entries; it needs 1 to {MAX_COLORS}.")
    return np.ascontiguousarray(entries)


def map_pixels(pixels: np.ndarray, palette: np.ndarray, method: str) -> np.ndarray:
    """Labels (H, W) for (H, W, C) pixels on a (K, C) palette of the same mode.

    Alpha-0 pixels go to the palette's first alpha-0 entry; their colour is
    set to that entry (or to 0 without one) before the mapping, so it never
    changes the result, nor spreads error to their neighbours.
    """
    target = first_transparent(palette)
    fill = None if target is None else palette[target]
    labels = dither(clear_hidden(pixels, fill), palette, method)
    mask = hidden(pixels)
    if target is not None and mask is not None:
        labels[mask] = target
    return labels


def color_histogram(pixels: np.ndarray, *, clear: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The distinct colours (M, C) uint8 of (H, W, C) pixels, in key order, and their counts.

    With `clear`, every alpha-0 pixel counts as (0, 0, 0, 0) first, as `ccodec.quantize`
    takes it.
    """
    flat = pixels.reshape(-1, pixels.shape[-1])
    if clear:
        flat = clear_hidden(flat)
    _, unique_keys, counts = histogram(flat)
    return unpack(unique_keys, flat.shape[1]), counts


class ColorCounts:
    """Colour histograms added together as they come, for one palette of several images.

    Kept merged by colour key for each channel count, so memory grows with
    the distinct colours seen, not with the images; a merge waits until the
    pending histograms are as large as the merged one (each colour is
    re-sorted a logarithmic number of times).
    """

    def __init__(self, histograms: Iterable[tuple[np.ndarray, np.ndarray]] = ()) -> None:
        # channels -> [merged (keys, counts), pending (keys, counts) list, pending size]
        self._groups: dict[int, list] = {}
        for colors, counts in histograms:
            self.add(colors, counts)

    def add(self, colors: np.ndarray, counts: np.ndarray) -> None:
        """Add one `color_histogram` result."""
        group = self._groups.setdefault(colors.shape[1], [None, [], 0])
        group[1].append((pack(colors), counts))
        group[2] += len(colors)
        if group[0] is None or group[2] >= len(group[0][0]):
            self._merge(group)

    @staticmethod
    def _merge(group: list) -> None:
        group[0] = merge_keys(([group[0]] if group[0] is not None else []) + group[1])
        group[1], group[2] = [], 0

    def merged(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Sorted distinct keys and their counts over everything added, in the widest mode
        among the histograms, and that mode's channel count."""
        if not self._groups:
            raise OptionError("no images to make a palette from.")
        channels = widest_channels(*self._groups)
        parts = []
        for have, group in self._groups.items():
            if group[1]:
                self._merge(group)
            keys, counts = group[0]
            if have != channels:
                keys = pack(widen(unpack(keys, have), channels))
            parts.append((keys, counts))
        keys, counts = merge_keys(parts)
        return keys, counts, channels

    def palette(
        self, k: int, *, seed: int = 0, max_iter: int = 300, space: str = "rgb"
    ) -> np.ndarray:
        """One (K', C) palette for all the colours added, clustered as `ccodec.quantize` does
        (one image's histogram gives exactly quantize's palette)."""
        unique_keys, counts, channels = self.merged()
        colors = unpack(unique_keys, channels)
        rng = np.random.default_rng(seed)
        palette, _ = quantize_colors(
            unique_keys, colors, counts, k, rng, max_iter, DEFAULT_TOL, space
        )
        return palette


def palette_from_histograms(
    histograms: Iterable[tuple[np.ndarray, np.ndarray]],
    k: int,
    *,
    seed: int = 0,
    max_iter: int = 300,
    space: str = "rgb",
) -> np.ndarray:
    """One (K', C) palette for several `color_histogram` results, weighted by their counts
    (see `ColorCounts`)."""
    return ColorCounts(histograms).palette(k, seed=seed, max_iter=max_iter, space=space)


def shared_palette(
    images: Iterable[Image.Image | np.ndarray],
    k: int,
    *,
    seed: int = 0,
    max_iter: int = 300,
    space: str = "rgb",
) -> np.ndarray:
    """One palette of at most `k` colours for all `images` together.

    Parameters
    ----------
    images : iterable of PIL.Image.Image or numpy.ndarray
        Images `ccodec.to_pixels` takes, of any sizes and modes; their colour
        histograms are added (each colour weighted by its pixel count in all
        images), not their pixels, so memory holds one image at a time.
    k, seed, max_iter, space
        As `ccodec.quantize` takes them; the same images, in any order, and
        seed give the same palette.

    Returns
    -------
    numpy.ndarray
        (K', C) uint8 in the widest mode among the images (see `widest_channels`).

    Raises
    ------
    OptionError
        No images, or an argument out of its range.

    >>> a, b = np.zeros((2, 2), np.uint8), np.full((2, 2), 200, np.uint8)
    >>> shared_palette([a, b], 4).tolist()
    [[0], [200]]
    """
    k, seed, max_iter, space = _check(k, seed, max_iter, space)
    histograms = (color_histogram(to_pixels(image)) for image in images)
    return palette_from_histograms(histograms, k, seed=seed, max_iter=max_iter, space=space)


def quantize_many(
    images: Iterable[Image.Image | np.ndarray],
    k: int,
    *,
    dither: object = "none",
    seed: int = 0,
    max_iter: int = 300,
    space: str = "rgb",
) -> list[Quantized]:
    """Every image reduced to one `shared_palette` (animation frames, sprite sets).

    Parameters
    ----------
    images : iterable of PIL.Image.Image or numpy.ndarray
        As `shared_palette` takes them (converted once and kept while the palette is made).
    k, seed, max_iter, space
        As `ccodec.quantize` takes them.
    dither : str or PIL.Image.Dither
        How each image maps to the palette, as `remap` takes it.

    Returns
    -------
    list of Quantized
        In the images' order, all with the same palette (in the widest mode among them).

    Raises
    ------
    OptionError
        No images, an argument out of its range, or an unknown dither.

    >>> a, b = np.zeros((1, 2), np.uint8), np.full((1, 2), 200, np.uint8)
    >>> [q.labels.tolist() for q in quantize_many([a, b], 2)]
    [[[0, 0]], [[1, 1]]]
    """
    method = dither_method(dither)
    k, seed, max_iter, space = _check(k, seed, max_iter, space)
    all_pixels = [to_pixels(image) for image in images]
    histograms = (color_histogram(pixels) for pixels in all_pixels)
    palette = palette_from_histograms(histograms, k, seed=seed, max_iter=max_iter, space=space)
    channels = palette.shape[1]
    return [
        Quantized(palette, map_pixels(widen(pixels, channels), palette, method), seed)
        for pixels in all_pixels
    ]


def _check(k: object, seed: object, max_iter: object, space: object) -> tuple[int, int, int, str]:
    return (
        check_int("k", k, 1, MAX_COLORS),
        check_int("seed", seed, 0, None),
        check_int("max_iter", max_iter, 1, None),
        validate_space(space),
    )
