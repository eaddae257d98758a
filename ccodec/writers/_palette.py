"""The quantized image as Pillow images: mode P (palette, indices, alpha as tRNS), or plain."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..model import BYTE_PALETTE_SIZE, Quantized


def palette_image(q: Quantized) -> Image.Image:
    """A mode-P image whose pixels are `q.labels` and whose palette is `q.palette`.

    Grey palettes (L, LA) repeat the grey in R, G and B, which converts back to
    L exactly; alpha (LA, RGBA) goes in ``info["transparency"]`` as one byte per
    entry, which PNG writes as a tRNS chunk. ValueError above 256 entries.
    """
    if q.k > BYTE_PALETTE_SIZE:
        raise ValueError(f"a palette image holds at most {BYTE_PALETTE_SIZE} colours, not {q.k}")
    image = Image.fromarray(np.ascontiguousarray(q.labels, np.uint8), "P")
    colours = q.palette[:, :1].repeat(3, axis=1) if q.channels <= 2 else q.palette[:, :3]
    # Exactly K entries, so that PNG chooses 1, 2 or 4 bits per index by itself.
    image.putpalette(np.ascontiguousarray(colours, np.uint8).tobytes(), "RGB")
    if q.channels in (2, 4):
        image.info["transparency"] = q.palette[:, -1].tobytes()
    return image


def plain_image(q: Quantized) -> Image.Image:
    """The quantized pixels in mode L, LA, RGB or RGBA, without ``q.info``.

    Unlike ``q.to_image()``, no metadata rides along in ``image.info``: a
    ``transparency`` entry from the source image must not reach a saver.
    """
    return Image.fromarray(q.to_array(), q.mode)


def icc_profile(q: Quantized) -> dict[str, bytes]:
    """``{"icc_profile": ...}`` for savers' keyword arguments, or {} without one."""
    profile = q.info.get("icc_profile")
    return {"icc_profile": bytes(profile)} if profile else {}
