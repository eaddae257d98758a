"""PNG output, lossless: a palette PNG (1, 2, 4 or 8 bits per index) up to 256 colours,
an L, LA, RGB or RGBA PNG above; the ICC profile and text entries of ``q.info`` kept."""

from __future__ import annotations

from typing import BinaryIO

from PIL import PngImagePlugin

from ..model import BYTE_PALETTE_SIZE, Quantized
from ._palette import icc_profile, palette_image, plain_image

# PNG keywords: 1-79 Latin-1 characters (PNG 1.2, section 11.3.4.2).
_MAX_KEYWORD = 79


def write(q: Quantized, fp: BinaryIO) -> None:
    """Write `q` as a PNG; decoding it gives exactly ``q.to_array()``.

    Text entries whose key is not a PNG keyword (1-79 Latin-1 characters) are
    left out; values that are not Latin-1 go in iTXt chunks.
    """
    image = palette_image(q) if q.k <= BYTE_PALETTE_SIZE else plain_image(q)
    params: dict[str, object] = {"optimize": True, **icc_profile(q)}
    if "transparency" in image.info:
        params["transparency"] = image.info["transparency"]
    text = png_text(q.info)
    if text is not None:
        params["pnginfo"] = text
    image.save(fp, "PNG", **params)


def png_text(info: dict) -> PngImagePlugin.PngInfo | None:
    """The text entries of `info` (str keys and values) that PNG can hold, or None."""
    chunks = PngImagePlugin.PngInfo()
    count = 0
    for key, value in info.items():
        if key == "icc_profile" or not (isinstance(key, str) and isinstance(value, str)):
            continue
        if not 1 <= len(key) <= _MAX_KEYWORD or not key.isprintable() or not _latin1(key):
            continue
        chunks.add_text(key, value)  # tEXt, or iTXt when the value is not Latin-1
        count += 1
    return chunks if count else None


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
