"""Reading images and turning them into the uint8 pixel arrays the quantizer takes.

The mode rule, applied to a PIL image:

    1, L                      -> L
    I;16, I;16B, I;16L, I     -> L, scaled from 16 bits (v / 257, rounded)
    F                         -> L, clipped to 0..255 and rounded
    LA, La                    -> LA
    P, PA                     -> RGBA if the palette or image carries transparency, else RGB
    RGB, RGBX, CMYK, YCbCr,
    LAB, HSV                  -> RGB
    RGBA, RGBa                -> RGBA

NumPy arrays of shape (H, W) or (H, W, C), C in 1..4, are taken as they are
when uint8; bool becomes 0/255, uint16 is scaled like I;16, and floats must
lie in [0, 1].
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InputError, OptionError

__all__ = [
    "STDIN",
    "metadata",
    "open_image",
    "open_input",
    "profile_fits",
    "read_all",
    "read_stdin",
    "to_pixels",
]

# The name that means standard input (and, for outputs, standard output).
STDIN = "-"


_READ_ERRORS = {
    FileNotFoundError: "no such file",
    IsADirectoryError: "is a directory, not an image",
    PermissionError: "permission denied",
}


@contextlib.contextmanager
def open_input(path: str | os.PathLike, *, seekable: bool = True) -> Iterator[BinaryIO]:
    """`path` opened for binary reading; failing to open it raises a one-line `InputError`.

    ``-`` is standard input: read whole (at most `MAX_STDIN_BYTES`) when the
    caller needs to seek, the stream itself when it reads straight through.
    """
    if str(path) == STDIN:
        yield io.BytesIO(read_stdin()) if seekable else _stdin_stream()
        return
    try:
        fp = open(path, "rb")  # noqa: SIM115 -- closed below, after the errors are mapped
    except OSError as exc:
        reason = _READ_ERRORS.get(type(exc), f"cannot read: {exc.strerror or exc}")
        raise InputError(f"{path}: {reason}") from None
    with fp:
        yield fp


# More than any image Pillow opens by default (89 megapixels of uncompressed
# RGBA is 358 MB); an endless pipe stops here instead of exhausting memory.
MAX_STDIN_BYTES = 1 << 30
_STDIN_CHUNK = 1 << 20


def read_stdin() -> bytes:
    """All of standard input as bytes; `InputError` when it is a terminal or too long."""
    return read_all(_stdin_stream(), "-: standard input")


def read_all(stream: BinaryIO, name: str) -> bytes:
    """The rest of `stream`; `InputError` naming it past `MAX_STDIN_BYTES` (an endless pipe)."""
    chunks, total = [], 0
    while chunk := stream.read(_STDIN_CHUNK):
        total += len(chunk)
        if total > MAX_STDIN_BYTES:
            raise InputError(f"{name} holds more than {MAX_STDIN_BYTES:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _stdin_stream() -> BinaryIO:
    stream = sys.stdin
    if stream is None or stream.isatty():
        raise InputError("-: standard input is a terminal; pipe an image in, or name a file")
    return getattr(stream, "buffer", stream)


def open_image(path: str | os.PathLike, *, data: bytes | None = None) -> Image.Image:
    """Open and fully load an image file (``-``: standard input), with EXIF orientation applied.

    `data`, if given, is the file's content already read (a pipe reads once):
    `path` then only names it in messages. Any failure (missing, unreadable,
    not an image, truncated, too large) raises `InputError` naming the file.
    The result keeps the file's ``format``, so `metadata` knows which
    ``info`` entries are text.
    """
    path = Path(path)
    read = open_input(path) if data is None else contextlib.nullcontext(io.BytesIO(data))
    with read as fp:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(fp) as image:
                    image.load()
                    upright = ImageOps.exif_transpose(image)
                    upright.format = image.format
                    return upright
        except UnidentifiedImageError:
            raise InputError(f"{path}: not an image Pillow or ccodec can read") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise InputError(f"{path}: {exc}") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise InputError(f"{path}: cannot read image: {exc}") from None


# Pillow's own str entries in ``info`` that are not text chunks ("xmp" repeats
# the XML:com.adobe.xmp iTXt entry, which is kept under its own key).
_NOT_TEXT = frozenset({"compression", "xmp"})


def metadata(image: Image.Image) -> dict:
    """The metadata ccodec keeps from `image`: ``icc_profile`` and PNG text entries.

    Text entries (tEXt, zTXt, iTXt) are the str values of ``image.info`` of a
    PNG, or of an image made in memory; other formats' str entries (TIFF's
    "compression") are not text.

    >>> image = Image.new("RGB", (1, 1))
    >>> image.info.update({"Title": "sea", "dpi": (72, 72), "icc_profile": b""})
    >>> metadata(image)
    {'Title': 'sea'}
    """
    kept: dict = {}
    profile = image.info.get("icc_profile")
    if isinstance(profile, bytes) and profile:
        kept["icc_profile"] = profile
    if image.format in (None, "PNG", "CCZ"):
        text = getattr(image, "text", None)  # a PNG file's text includes chunks after the pixels
        entries = text if isinstance(text, dict) else image.info
        kept.update(
            (str(key), str(value))
            for key, value in entries.items()
            if isinstance(key, str) and isinstance(value, str) and key not in _NOT_TEXT
        )
    return kept


# An ICC profile's data colour space (bytes 16-19 of its header) for each mode.
_PROFILE_SPACES = {"L": b"GRAY", "LA": b"GRAY", "RGB": b"RGB ", "RGBA": b"RGB "}


def profile_fits(profile: bytes, mode: str) -> bool:
    """Whether ICC `profile` describes pixels of `mode` (L, LA, RGB or RGBA).

    >>> profile_fits(bytes(16) + b"RGB " + bytes(108), "RGBA")
    True
    >>> profile_fits(bytes(16) + b"CMYK" + bytes(108), "RGB")
    False
    """
    return profile[16:20] == _PROFILE_SPACES.get(mode)


def to_pixels(image: Image.Image | np.ndarray) -> np.ndarray:
    """An (H, W, C) uint8 array, C in 1..4, from a PIL image or an array.

    >>> to_pixels(Image.new("P", (2, 1))).shape
    (1, 2, 3)
    """
    if isinstance(image, Image.Image):
        return _image_pixels(image)
    return _array_pixels(np.asarray(image))


def _image_pixels(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("1", "L"):
        array = np.asarray(image.convert("L"))
    elif mode.startswith("I;16") or mode == "I":
        wide = np.asarray(image.convert("I"), dtype=np.int64)
        array = _from_16_bits(np.clip(wide, 0, 65535))
    elif mode == "F":
        array = np.rint(np.clip(np.asarray(image, np.float64), 0, 255)).astype(np.uint8)
    elif mode in ("LA", "La"):
        array = np.asarray(image.convert("LA"))
    elif mode in ("P", "PA"):
        transparent = (
            mode == "PA"
            or "transparency" in image.info
            or (image.palette is not None and image.palette.mode == "RGBA")
        )
        array = np.asarray(image.convert("RGBA" if transparent else "RGB"))
    elif mode in ("RGBA", "RGBa"):
        array = np.asarray(image.convert("RGBA"))
    else:
        try:
            array = np.asarray(image.convert("RGB"))
        except (ValueError, OSError) as exc:
            raise InputError(f"cannot convert an image of mode {mode} to RGB: {exc}") from None
    return _as_three_dims(array)


def _from_16_bits(values: np.ndarray) -> np.ndarray:
    return ((values * 255 + 32767) // 65535).astype(np.uint8)


def _array_pixels(array: np.ndarray) -> np.ndarray:
    if array.ndim not in (2, 3) or (array.ndim == 3 and not 1 <= array.shape[2] <= 4):
        raise OptionError(
            f"pixels must have shape (H, W) or (H, W, C) with C in 1..4, not {array.shape}."
        )
    if array.dtype == np.uint8:
        pass
    elif array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype == np.uint16:
        array = _from_16_bits(array.astype(np.int64))
    elif np.issubdtype(array.dtype, np.floating):
        if array.size and not (np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1):
            raise OptionError("float pixels must lie in [0, 1].")
        array = np.rint(array * 255).astype(np.uint8)
    else:
        raise OptionError(f"pixels of dtype {array.dtype} are not supported; use uint8.")
    return _as_three_dims(array)


def _as_three_dims(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array[..., None] if array.ndim == 2 else array)
