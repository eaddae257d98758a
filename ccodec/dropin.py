"""`quantize_image`: a drop-in for Pillow's ``Image.quantize()`` with ccodec's quantizer."""

from __future__ import annotations

import numpy as np
from PIL import Image

from .encoder import with_metadata
from .images import to_pixels
from .model import BYTE_PALETTE_SIZE
from .palettes import dither_method, map_pixels, remap
from .quantize import quantize
from .validate import check_int

__all__ = ["quantize_image"]


def quantize_image(
    image: Image.Image | np.ndarray,
    colors: int = BYTE_PALETTE_SIZE,
    *,
    palette: Image.Image | np.ndarray | None = None,
    dither: object = None,
    seed: int = 0,
    max_iter: int = 300,
    space: str = "rgb",
) -> Image.Image:
    """`image` reduced to at most `colors` colours, as a mode-P Pillow image.

    ``ccodec.quantize_image(im, 64)`` stands in for ``im.quantize(64)``: the
    same argument names (``colors``, ``palette``, ``dither``), a mode-P
    result, and k-means (`ccodec.quantize`) instead of median cut.

    Parameters
    ----------
    image : PIL.Image.Image or numpy.ndarray
        Any image `ccodec.to_pixels` takes: grey, RGB, with alpha, 16-bit...
    colors : int
        1 to 256. Ignored with `palette`, as Pillow ignores it.
    palette : PIL.Image.Image or numpy.ndarray, optional
        Map onto this palette instead of quantizing: a mode-P image (its
        palette), any image (its distinct colours), or (K, C) uint8 entries
        (see `ccodec.remap`); at most 256 entries.
    dither : str or PIL.Image.Dither, optional
        ``"none"``, ``"floyd-steinberg"``, ``"ordered"``, or Pillow's
        ``Image.Dither.NONE`` / ``ORDERED`` / ``FLOYDSTEINBERG``. The default
        is Pillow's behaviour: none when quantizing, Floyd-Steinberg when
        mapping to a given `palette`.
    seed, max_iter, space
        As `ccodec.quantize` takes them.

    Returns
    -------
    PIL.Image.Image
        Mode P. Alpha, if the image has any, is one byte per palette entry in
        ``info["transparency"]`` (saved as PNG's tRNS); fully transparent
        pixels share one entry, whatever their colour was. A PIL image's ICC
        profile and text entries are kept in ``info``.

    Raises
    ------
    OptionError
        An argument out of its range, an unknown dither, a palette of more
        than 256 entries.

    >>> im = Image.linear_gradient("L").convert("RGB")
    >>> small = quantize_image(im, 8)
    >>> small.mode, len(small.getcolors())
    ('P', 8)
    """
    if palette is not None:
        method = dither_method(Image.Dither.FLOYDSTEINBERG if dither is None else dither)
        q = remap(image, palette, method)
    else:
        method = dither_method(Image.Dither.NONE if dither is None else dither)
        colors = check_int("colors", colors, 1, BYTE_PALETTE_SIZE)
        pixels = to_pixels(image)
        q = quantize(pixels, colors, seed=seed, max_iter=max_iter, space=space)
        if method != "none":
            q = type(q)(q.palette, map_pixels(pixels, q.palette, method), q.seed)
    if isinstance(image, Image.Image):
        q = with_metadata(q, image)
    return q.to_image("P")
