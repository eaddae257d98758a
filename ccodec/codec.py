"""Image in, .ccz bytes out, and back: the quantizer and the container joined."""

from __future__ import annotations

import numpy as np
from PIL import Image

from .ccz import encode_quantized
from .dither import METHODS, dither
from .errors import OptionError
from .images import to_pixels
from .quantize import Quantized, quantize, validate_space

__all__ = ["encode", "encode_image"]


def encode_image(
    image: Image.Image | np.ndarray,
    k: int,
    *,
    seed: int | None = 0,
    max_iter: int = 300,
    level: int | None = None,
    dither_method: str = "none",
    space: str = "rgb",
):
    """Quantize `image` to `k` colours and return ``(quantized, ccz_bytes)``.

    `dither_method` maps the pixels onto the palette k-means found: ``none``
    (each to its nearest entry, as clustered), ``floyd-steinberg`` or
    ``ordered``; the .ccz holds exactly the dithered result. `space` is
    where k-means measures distances, ``rgb`` or ``oklab`` (see `quantize`);
    the palette is sRGB bytes either way and dithering runs in sRGB.
    """
    if dither_method not in METHODS:
        raise OptionError(f"dither={dither_method!r} is not one of {', '.join(METHODS)}.")
    validate_space(space)
    pixels = to_pixels(image)
    q = quantize(pixels, k, seed=seed, max_iter=max_iter, space=space)
    if dither_method != "none":
        q = Quantized(q.palette, dither(pixels, q.palette, dither_method), q.seed)
    return q, encode_quantized(q, level=level)


def encode(
    image: Image.Image | np.ndarray,
    k: int,
    *,
    seed: int | None = 0,
    max_iter: int = 300,
    level: int | None = None,
    dither_method: str = "none",
    space: str = "rgb",
) -> bytes:
    """Quantize `image` (a PIL image or a uint8 array) to `k` colours; the .ccz bytes.

    Options as for `encode_image`.

    >>> data = encode(np.zeros((4, 4, 3), np.uint8), 16)
    >>> data[:4]
    b'\\x89CCZ'
    """
    return encode_image(
        image,
        k,
        seed=seed,
        max_iter=max_iter,
        level=level,
        dither_method=dither_method,
        space=space,
    )[1]
