"""Image in, .ccz bytes out, and back: the quantizer and the container joined."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from PIL import Image

from .ccz import encode_quantized
from .dither import METHODS, dither
from .errors import OptionError
from .images import metadata, profile_fits, to_pixels
from .model import Quantized
from .quantize import quantize, validate_space

__all__ = ["encode", "encode_image", "with_metadata"]


def encode_image(
    image: Image.Image | np.ndarray,
    k: int,
    *,
    seed: int | None = 0,
    max_iter: int = 300,
    level: int | None = None,
    dither_method: str = "none",
    space: str = "rgb",
    strip: bool = False,
    coding: str = "auto",
    on_progress: Callable[[float], None] | None = None,
    stretch: bool = False,
):
    """Quantize `image` to `k` colours and return ``(quantized, ccz_bytes)``.

    `dither_method` maps the pixels onto the palette k-means found: ``none``
    (each to its nearest entry, as clustered), ``floyd-steinberg`` or
    ``ordered``; the .ccz holds exactly the dithered result. `space` is
    where k-means measures distances, ``rgb`` or ``oklab`` (see `quantize`);
    the palette is sRGB bytes either way and dithering runs in sRGB.

    A PIL `image`'s ICC profile and PNG text entries go into
    ``quantized.info`` (and so into the .ccz) unless `strip` is true.
    `coding` is the payload coding, as `encode_quantized` takes it;
    `stretch` is passed to `to_pixels` (16-bit and float grey ranges).
    `on_progress` follows the quantization, as `quantize` takes it.
    """
    if dither_method not in METHODS:
        raise OptionError(f"dither={dither_method!r} is not one of {', '.join(METHODS)}.")
    validate_space(space)
    pixels = to_pixels(image, stretch=stretch)
    q = quantize(pixels, k, seed=seed, max_iter=max_iter, space=space, on_progress=on_progress)
    if dither_method != "none":
        q = Quantized(q.palette, dither(pixels, q.palette, dither_method), q.seed)
    if not strip and isinstance(image, Image.Image):
        q = with_metadata(q, image)
    return q, encode_quantized(q, level=level, coding=coding)


def with_metadata(q: Quantized, image: Image.Image) -> Quantized:
    """`q` carrying `image`'s ICC profile and text entries in ``info``.

    >>> q = quantize(np.zeros((1, 1, 3), np.uint8), 1)
    >>> source = Image.new("RGB", (1, 1))
    >>> source.info["Title"] = "sea"
    >>> with_metadata(q, source).info
    {'Title': 'sea'}
    """
    kept = metadata(image)
    if not profile_fits(kept.get("icc_profile", b""), q.mode):
        # A CMYK or Lab profile describes colours the conversion to q's mode replaced.
        kept.pop("icc_profile", None)
    return dataclasses.replace(q, info={**q.info, **kept})


def encode(
    image: Image.Image | np.ndarray,
    k: int,
    *,
    seed: int | None = 0,
    max_iter: int = 300,
    level: int | None = None,
    dither_method: str = "none",
    space: str = "rgb",
    strip: bool = False,
    coding: str = "auto",
    stretch: bool = False,
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
        strip=strip,
        coding=coding,
        stretch=stretch,
    )[1]
