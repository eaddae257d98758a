"""JPEG output: lossy; alpha is composited on white because JPEG has none; the ICC profile kept."""

from __future__ import annotations

from typing import BinaryIO

from PIL import Image

from ..model import Quantized
from ..validate import check_int
from ._palette import icc_profile, plain_image

DEFAULT_QUALITY = 90


def write(q: Quantized, fp: BinaryIO, *, quality: int = DEFAULT_QUALITY) -> None:
    """Write `q` as a JPEG of the given `quality` (1-95)."""
    quality = check_int("quality", quality, 1, 95, scope=" for JPEG")
    image = plain_image(q)
    if image.mode in ("LA", "RGBA"):
        opaque = image.mode[:-1]
        background = Image.new(opaque, image.size, "white")
        background.paste(image.convert(opaque), mask=image.getchannel("A"))
        image = background
    image.save(fp, "JPEG", quality=quality, **icc_profile(q))
