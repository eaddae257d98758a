"""PNG output: a palette PNG (1, 2, 4 or 8 bits per index), lossless."""

from __future__ import annotations

from typing import BinaryIO

from ..quantize import Quantized
from ._palette import palette_image


def write(q: Quantized, fp: BinaryIO) -> None:
    """Write `q` as a palette PNG; decoding it gives exactly ``q.to_array()``."""
    image = palette_image(q)
    params = {"optimize": True}
    if "transparency" in image.info:
        params["transparency"] = image.info["transparency"]
    image.save(fp, "PNG", **params)
