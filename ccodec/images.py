"""Reading images and turning them into the uint8 pixel arrays the quantizer takes.

The mode rule, applied to a PIL image:

    1, L                      -> L; LA when a colour key (PNG tRNS, GIF) marks pixels
    I;16, I;16B, I;16L, I     -> L, scaled from 16 bits (v / 257, rounded); LA with a key
    F                         -> L, clipped to 0..255 and rounded, NaN as 0
    LA, La                    -> LA
    P, PA                     -> RGBA if the palette or image carries transparency, else RGB
    RGB                       -> RGB; RGBA when a colour key (PNG tRNS) marks pixels
    RGBX, CMYK, YCbCr,
    LAB, HSV                  -> RGB
    RGBA, RGBa                -> RGBA

A colour key is compared with the values as read, before any scaling: the
pixels equal to it get alpha 0, the others 255. With ``stretch=True``, 16-bit
and float grey values are mapped from their own minimum..maximum onto 0..255
instead. Conversions that lose much (few of the 256 levels used, NaN) and
Pillow's warnings about the file are reported as one-line notes, phrased for
the ``ccodec`` command, to a list the caller passes as ``notes``; nothing is
printed.

NumPy arrays of shape (H, W) or (H, W, C), C in 1..4, are taken as they are
when uint8; bool becomes 0/255, uint16 is scaled like I;16, and floats must
lie in [0, 1].
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InputError, OptionError
from .native_stderr import captured_stderr, summary
from .validate import check_int

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
    return cast(BinaryIO, getattr(stream, "buffer", stream))  # a TextIO's bytes beneath it


# What Pillow's openers and decoders raise on damaged or unsupported files,
# besides UnidentifiedImageError (MemoryError is left to the caller).
_PILLOW_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    NotImplementedError,
    struct.error,
    IndexError,
    ZeroDivisionError,
    TypeError,
    KeyError,
)


def open_image(
    path: str | os.PathLike,
    *,
    frame: int | None = None,
    notes: list[str] | None = None,
    capture_stderr: bool = False,
    data: bytes | None = None,
) -> Image.Image:
    """Open and fully load an image file (``-``: standard input), with EXIF orientation applied.

    `data`, if given, is the file's content already read (a pipe reads once):
    `path` then only names it in messages. Any failure (missing, unreadable,
    not an image, truncated, too large) raises `InputError` naming the file.
    The result keeps the file's ``format``, so `metadata` knows which
    ``info`` entries are text.

    `frame` picks a frame of an animated or multi-page file (GIF, APNG,
    TIFF, WebP, ...), counted from 0; without it the first is read, and a
    file with more gets a note saying so. The list `notes`, if given,
    receives those one-line notes and Pillow's warnings that concern the
    pixels (never printed; warnings about metadata are dropped).

    `capture_stderr` is for single-threaded programs such as the ``ccodec``
    command: what C decoders (libtiff) write to file descriptor 2 while
    reading goes into a note, or into the error when reading fails.
    """
    if frame is not None:
        frame = check_int("frame", frame, 0)
    path = Path(path)
    read = open_input(path) if data is None else contextlib.nullcontext(io.BytesIO(data))
    with read as fp, captured_stderr(capture_stderr) as decoder_lines:
        error = ""
        try:
            upright, frames, caught = _load(fp, frame)
        except UnidentifiedImageError:
            error = f"{path}: not an image Pillow or ccodec can read"
        except (InputError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            error = f"{path}: {exc}"  # no such frame; too many pixels
        except _PILLOW_ERRORS as exc:
            error = f"{path}: cannot read image: {_one_line(exc)}"
    said = summary([line for line in decoder_lines if _LIBTIFF_METADATA not in line])
    if error:
        raise InputError(f"{error} (the decoder said: {said})" if said else error)
    if notes is not None:
        if frame is None and frames > 1:
            notes.append(f"has {frames} frames; encoding the first (use --frame N)")
        notes.extend(_pillow_notes(caught))
        if said:
            notes.append(f"the decoder said: {said}")
    return upright


def _load(
    fp: BinaryIO, frame: int | None
) -> tuple[Image.Image, int, list[warnings.WarningMessage]]:
    """The loaded, upright image, its frame count, and Pillow's warnings on the way."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(fp) as image:
            frames = _frame_count(image)
            if frame is not None:
                _seek(image, frame, frames)
            image.load()
            upright = ImageOps.exif_transpose(image)
            upright.format = image.format
    return upright, frames, caught


def _frame_count(image: Image.Image) -> int:
    """How many frames `image` has; 1 when counting them fails (a damaged later frame)."""
    start = image.tell()
    if start != 0:  # PSD: "frames" 1..n are the layers, beside the composite image read
        return 1
    try:
        return int(getattr(image, "n_frames", 1))
    except _PILLOW_ERRORS:
        image.seek(start)  # counting moved through the file; a failure here is the file's error
        return 1


def _seek(image: Image.Image, frame: int, frames: int) -> None:
    if frame >= frames:
        count = "1 frame" if frames == 1 else f"{frames} frames"
        raise InputError(f"has {count}; there is no frame {frame} (frames count from 0)")
    image.seek(frame)


# Pillow's warnings about metadata ccodec does not keep (TIFF tags, EXIF
# beyond orientation, MPO's second image): the pixels are right regardless.
_METADATA_WARNINGS = (
    "Tag data larger than file",
    "Corrupt EXIF data",
    "Possibly corrupt EXIF",
    "Metadata Warning",
    "Image appears to be a malformed MPO file",
)


# libtiff's complaint about a tag it skips: metadata, like the warnings above.
_LIBTIFF_METADATA = "TIFF_SETGET_UNDEFINED and thus tag is not read"


def _pillow_notes(caught: list[warnings.WarningMessage]) -> list[str]:
    """Pillow's warnings that concern the pixels, as notes, each said once."""
    notes: list[str] = []
    for warning in caught:
        if issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
            continue  # for developers, not about the file
        message = _one_line(warning.message)
        if message.startswith(_METADATA_WARNINGS):
            continue
        text = f"Pillow: {message}"
        if text not in notes:
            notes.append(text)
    return notes


def _one_line(exc: object) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


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


def to_pixels(
    image: Image.Image | np.ndarray, *, stretch: bool = False, notes: list[str] | None = None
) -> np.ndarray:
    """An (H, W, C) uint8 array, C in 1..4, from a PIL image or an array.

    `stretch` maps 16-bit and float grey values (modes I;16, I, F; uint16
    arrays) from their own minimum..maximum onto 0..255 (one value alone
    keeps the fixed scaling). The list `notes`, if given, receives a line for
    each lossy step: few of the 256 levels used where stretching would use
    more, NaN pixels taken as 0.

    >>> to_pixels(Image.new("P", (2, 1))).shape
    (1, 2, 3)
    """
    found: list[str] = []
    if isinstance(image, Image.Image):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # Pillow's convert() warns about some palettes
            pixels = _image_pixels(image, stretch, found)
        found.extend(_pillow_notes(caught))
    else:
        pixels = _array_pixels(np.asarray(image), stretch, found)
    if notes is not None:
        notes.extend(found)
    return pixels


def _image_pixels(image: Image.Image, stretch: bool, notes: list[str]) -> np.ndarray:
    mode = image.mode
    key = image.info.get("transparency")
    if mode in ("1", "L"):
        grey = np.asarray(image.convert("L"))
        array = _with_key(grey, grey, key)
    elif mode.startswith("I;16") or mode == "I":
        wide = np.asarray(image.convert("I"), dtype=np.int64)
        kind = "32-bit" if mode == "I" else "16-bit"
        grey = _grey_levels(wide, 65535, stretch, notes, kind)
        array = _with_key(grey, wide, key)
    elif mode == "F":
        array = _grey_levels(
            _without_nan(np.asarray(image, np.float64), notes), 255, stretch, notes, "float"
        )
    elif mode in ("LA", "La"):
        array = np.asarray(image.convert("LA"))
    elif mode in ("P", "PA"):
        transparent = (
            mode == "PA"
            or "transparency" in image.info
            or (image.palette is not None and image.palette.mode == "RGBA")
        )
        array = np.asarray(image.convert("RGBA" if transparent else "RGB"))
    elif mode == "RGB":
        rgb = np.asarray(image)
        array = _with_key(rgb, rgb, _byte_key(key))
    elif mode in ("RGBA", "RGBa"):
        array = np.asarray(image.convert("RGBA"))
    else:
        try:
            array = np.asarray(image.convert("RGB"))
        except (ValueError, OSError) as exc:
            raise InputError(f"cannot convert an image of mode {mode} to RGB: {exc}") from None
    return _as_three_dims(array)


def _with_key(pixels: np.ndarray, original: np.ndarray, key: object) -> np.ndarray:
    """`pixels` plus an alpha channel, 0 where `original` equals the colour `key`.

    Unchanged without a key of the right kind (an int for grey, three for
    RGB) or when no pixel has it.
    """
    if pixels.ndim == 2 and isinstance(key, int):
        transparent = original == key
    elif pixels.ndim == 3 and isinstance(key, tuple) and len(key) == pixels.shape[2]:
        transparent = (original == np.array(key)).all(axis=2)
    else:
        return pixels
    if not transparent.any():
        return pixels
    alpha = np.where(transparent, np.uint8(0), np.uint8(255))
    layers = [pixels] if pixels.ndim == 2 else list(np.moveaxis(pixels, 2, 0))
    return np.stack([*layers, alpha], axis=-1)


def _byte_key(key: object) -> object:
    """An RGB colour key as 8-bit values: Pillow reads 16-bit RGB as the samples' high bytes."""
    if not (isinstance(key, tuple) and all(isinstance(value, int) for value in key)):
        return None
    return tuple(value >> 8 for value in key) if max(key, default=0) > 255 else key


def _without_nan(values: np.ndarray, notes: list[str]) -> np.ndarray:
    nan = np.isnan(values)
    count = int(np.count_nonzero(nan))
    if not count:
        return values
    notes.append(f"{count:,} of {values.size:,} pixels are NaN (not a number); they became 0")
    return np.where(nan, 0.0, values)


def _grey_levels(
    values: np.ndarray, top: int, stretch: bool, notes: list[str], kind: str
) -> np.ndarray:
    """`values` (0..`top` by the mode table) as uint8 grey, fixed or stretched scaling.

    Without `stretch`, a note when the fixed scaling uses at most half the
    levels the stretched one would: a narrow range turned (nearly) flat.
    """
    if top == 65535:
        fixed = _from_16_bits(np.clip(values, 0, 65535))
    else:  # floats: clipped to 0..255 (+inf to 255, -inf to 0)
        fixed = np.rint(np.clip(values, 0, 255)).astype(np.uint8)
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    if not finite.size or finite.min() == finite.max():
        return fixed
    low, high = finite.min(), finite.max()
    stretched = np.rint((np.clip(values, low, high) - low) * (255 / (high - low))).astype(np.uint8)
    if stretch:
        return stretched
    used, possible = _levels(fixed), _levels(stretched)
    if used * 2 <= possible:
        notes.append(
            f"{kind} values {_number(low)}..{_number(high)} map to {used} of 256 levels; "
            "use --stretch to use the full range"
        )
    return fixed


def _levels(grey: np.ndarray) -> int:
    return int(np.count_nonzero(np.bincount(grey.ravel(), minlength=256)))


def _number(value: np.generic) -> str:
    return f"{value:g}" if isinstance(value, np.floating) else str(int(value))


def _from_16_bits(values: np.ndarray) -> np.ndarray:
    return ((values * 255 + 32767) // 65535).astype(np.uint8)


def _array_pixels(array: np.ndarray, stretch: bool, notes: list[str]) -> np.ndarray:
    if array.ndim not in (2, 3) or (array.ndim == 3 and not 1 <= array.shape[2] <= 4):
        raise OptionError(
            f"pixels must have shape (H, W) or (H, W, C) with C in 1..4, not {array.shape}."
        )
    if array.dtype == np.uint8:
        pass
    elif array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype == np.uint16:
        array = _grey_levels(array.astype(np.int64), 65535, stretch, notes, "16-bit")
    elif np.issubdtype(array.dtype, np.floating):
        if array.size and not (np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1):
            raise OptionError("float pixels must lie in [0, 1].")
        array = np.rint(array * 255).astype(np.uint8)
    else:
        raise OptionError(f"pixels of dtype {array.dtype} are not supported; use uint8.")
    return _as_three_dims(array)


def _as_three_dims(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array[..., None] if array.ndim == 2 else array)
