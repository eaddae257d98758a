"""The quantized image as a Pillow mode-P image: the palette, the indices, alpha as tRNS."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..quantize import Quantized


def palette_image(q: Quantized) -> Image.Image:
    """A mode-P image whose pixels are `q.labels` and whose palette is `q.palette`.

    Grey palettes (L, LA) repeat the grey in R, G and B, which converts back to
    L exactly; alpha (LA, RGBA) goes in ``info["transparency"]`` as one byte per
    entry, which PNG writes as a tRNS chunk.
    """
    image = Image.fromarray(np.ascontiguousarray(q.labels, np.uint8), "P")
    colours = q.palette[:, :1].repeat(3, axis=1) if q.channels <= 2 else q.palette[:, :3]
    # Exactly K entries, so that PNG chooses 1, 2 or 4 bits per index by itself.
    image.putpalette(np.ascontiguousarray(colours, np.uint8).tobytes(), "RGB")
    if q.channels in (2, 4):
        image.info["transparency"] = q.palette[:, -1].tobytes()
    return image
