"""Any other format Pillow can save (WebP, TIFF, BMP, GIF, ...), as a fallback.

The quantized image is saved in its own mode (L, LA, RGB, RGBA) or, when the
format cannot take that mode or holds palettes natively, as a mode-P image.
A format counted lossless is read back after saving: if Pillow does not give
back exactly the quantized pixels (BMP drops alpha, for one), the write fails
rather than lose data silently. GIF holds one fully transparent colour, not
alpha: an image with alpha is written when that is all its alpha says.
"""

from __future__ import annotations

import io
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile

from ..errors import OptionError, OutputError
from ..model import Quantized
from ..validate import check_int
from ._palette import icc_profile, palette_image, plain_image

# Formats saved as a palette first: a GIF saved from RGB is re-quantized by Pillow.
_PALETTE_FIRST = {"GIF", "PCX"}
# Formats that lose detail whatever we pass: JPEG-based, or resized to icon sizes.
LOSSY_FORMATS = {"AVIF", "ICNS", "ICO", "MPO", "PDF"}
# The formats whose quality setting means something, and the values Pillow takes.
QUALITY_RANGES = {"AVIF": (0, 100), "MPO": (1, 95), "WEBP": (0, 100)}


def saveable_formats() -> dict[str, tuple[str, ...]]:
    """Pillow's formats that can be saved, each with its file extensions."""
    Image.init()
    formats: dict[str, list[str]] = {}
    for extension, name in Image.registered_extensions().items():
        opener = Image.OPEN.get(name, (None,))[0]
        # Stub formats (BUFR, GRIB, HDF5, WMF) only save with a handler installed.
        stub = isinstance(opener, type) and issubclass(opener, ImageFile.StubImageFile)
        if name in Image.SAVE and not stub:
            formats.setdefault(name, []).append(extension)
    return {name: tuple(sorted(exts)) for name, exts in sorted(formats.items())}


def write(q: Quantized, fp: BinaryIO, *, format: str, quality: int | None = None) -> None:
    """Save `q` through Pillow as `format`; OutputError if it cannot hold the image."""
    if quality is not None:
        check_quality(quality, format)
    params: dict[str, object] = {}
    if format == "WEBP":
        # Lossless unless a quality is asked for: the indices are already final.
        # exact keeps the colour of fully transparent pixels.
        params.update(lossless=quality is None, exact=True)
    if quality is not None:
        params["quality"] = quality
    params.update(icc_profile(q))  # savers that cannot store one ignore it
    exact = format not in LOSSY_FORMATS and params.get("lossless", True)
    candidates = [lambda: plain_image(q), lambda: palette_image(q)]
    if format in _PALETTE_FIRST:
        candidates.reverse()
    if format == "GIF" and q.channels in (2, 4):
        candidates = [lambda: one_transparent_colour(q)]
    problems = []
    for make in candidates:
        try:
            image = make()
        except ValueError as exc:  # a palette of more than 256 colours
            problems.append(f"{exc}")
            continue
        extra = {"transparency": image.info["transparency"]} if "transparency" in image.info else {}
        buffer = io.BytesIO()
        try:
            image.save(buffer, format, **params, **extra)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{exc}")
            continue
        if exact and not _reads_back(buffer, q):
            problems.append(
                "GIF keeps one fully transparent colour, and this image's alpha says more"
                if format == "GIF" and q.channels in (2, 4)
                else f"Pillow does not read a {image.mode} {format} back unchanged"
            )
            continue
        fp.write(buffer.getbuffer())
        return
    raise OutputError(
        f"cannot write this {q.mode} image as {format} ({'; '.join(problems)}); "
        "png, tiff and webp hold every mode"
    )


def check_quality(quality: object, format: str) -> None:
    """OptionError unless `quality` is an integer in the range `format` takes."""
    if format not in QUALITY_RANGES:
        raise OptionError(f"{format} takes no quality: it is written exactly.")
    low, high = QUALITY_RANGES[format]
    check_int("quality", quality, low, high, scope=f" for {format}")


def one_transparent_colour(q: Quantized) -> Image.Image:
    """`q` (with alpha) as a mode-P image for GIF: entries with alpha below 128 become its one
    transparent index, the rest opaque (as Pillow converts RGBA to P); exact only when
    `q` has no partial alpha and one transparent colour."""
    clear = q.palette[:, -1] < 128
    if clear.any():
        index = int(np.argmax(clear))
        q = Quantized(q.palette, np.where(clear[q.labels], index, q.labels).astype(q.labels.dtype))
    image = palette_image(q)  # ValueError above 256 colours
    # One transparent index, not the per-entry alpha, which GIF's saver cannot take.
    del image.info["transparency"]
    if clear.any():
        image.info["transparency"] = index
    return image


def _reads_back(buffer: io.BytesIO, q: Quantized) -> bool:
    """False if Pillow decodes `buffer` to other pixels than `q`; True if it cannot tell."""
    buffer.seek(0)
    try:
        with Image.open(buffer) as image:
            pixels = np.asarray(image.convert(q.mode))
    except Exception:  # write-only formats (PALM, PDF, EPS without Ghostscript)
        return True
    return np.array_equal(pixels, q.to_array())
