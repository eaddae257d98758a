"""PNG output, lossless: a palette PNG (1, 2, 4 or 8 bits per index) up to 256 colours,
an L, LA, RGB or RGBA PNG above; the ICC profile and text entries of ``q.info`` kept.

Pillow writes the PNG; with ``optimize=True`` (what `ccodec encode` asks for) and
pyoxipng installed (``pip install "ccodec[png]"``), oxipng then recompresses it
losslessly (filters, zlib), keeping every chunk. Decoding does not ask by default:
oxipng takes several times as long as the rest of a decode.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from typing import BinaryIO

from PIL import PngImagePlugin

from ..errors import OutputError
from ..model import BYTE_PALETTE_SIZE, Quantized
from ._palette import icc_profile, palette_image, plain_image

# oxipng's preset 4: about as small as its slowest preset 6, in half the time.
OXIPNG_LEVEL = 4

# The process whose oxipng (Rust rayon) thread pool was started; a fork of it inherits the
# pool without its threads, and oxipng would wait on them for ever.
_pool_owner: int | None = None
_OPTIONS = "level={level}, strip=oxipng.StripChunks.none(), color_type_reduction=False"
_FRESH_PROCESS = (
    "import sys, oxipng; sys.stdout.buffer.write(oxipng.optimize_from_memory("
    f"sys.stdin.buffer.read(), {_OPTIONS.format(level=OXIPNG_LEVEL)}))"
)

# PNG keywords: 1-79 Latin-1 characters (PNG 1.2, section 11.3.4.2).
_MAX_KEYWORD = 79


def write(q: Quantized, fp: BinaryIO, optimize: bool = False) -> None:
    """Write `q` as a PNG; decoding it gives exactly ``q.to_array()``.

    With `optimize`, oxipng recompresses it when pyoxipng is installed.

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
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **params)
    fp.write(optimized(buffer.getvalue()) if optimize else buffer.getvalue())


def optimized(png: bytes) -> bytes:
    """`png` recompressed by oxipng if pyoxipng is installed (same pixels and chunks), else
    as it is. Deterministic: the same bytes in give the same bytes out."""
    global _pool_owner
    try:
        import oxipng
    except ImportError:  # the optional extra ccodec[png]
        return png
    if _pool_owner is not None and _pool_owner != os.getpid():
        return _optimized_in_fresh_process(png)
    _pool_owner = os.getpid()
    # color_type_reduction off: a palette PNG stays one (oxipng would make some grey or RGB).
    return oxipng.optimize_from_memory(
        png, level=OXIPNG_LEVEL, strip=oxipng.StripChunks.none(), color_type_reduction=False
    )


def _optimized_in_fresh_process(png: bytes) -> bytes:
    """oxipng in a new Python process: for a fork of a process that already ran it."""
    done = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS], input=png, capture_output=True, check=False
    )
    if done.returncode != 0 or not done.stdout:
        problem = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise OutputError(f"oxipng failed in a new process: {problem[0]}")
    return done.stdout


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
