"""Image in, .ccz bytes out, and back: the quantizer and the container joined."""

from __future__ import annotations

import numpy as np
from PIL import Image

from .ccz import encode_quantized
from .images import to_pixels
from .quantize import quantize

__all__ = ["encode", "encode_image"]


def encode_image(
    image: Image.Image | np.ndarray,
    k: int,
    *,
    seed: int | None = 0,
    max_iter: int = 300,
    level: int | None = None,
):
    """Quantize `image` to `k` colours and return ``(quantized, ccz_bytes)``."""
    q = quantize(to_pixels(image), k, seed=seed, max_iter=max_iter)
    return q, encode_quantized(q, level=level)


def encode(
    image: Image.Image | np.ndarray,
    k: int,
    *,
    seed: int | None = 0,
    max_iter: int = 300,
    level: int | None = None,
) -> bytes:
    """Quantize `image` (a PIL image or a uint8 array) to `k` colours; the .ccz bytes.

    >>> data = encode(np.zeros((4, 4, 3), np.uint8), 16)
    >>> data[:4]
    b'\\x89CCZ'
    """
    return encode_image(image, k, seed=seed, max_iter=max_iter, level=level)[1]
