"""The .ccz container: header, palette, metadata chunks, and the coded indices.

`formats/ccz.md` is the byte-level specification; this module follows it
field by field. Decoding validates every field in the order the
specification gives, before anything is allocated from it.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np
import zstandard
from PIL import Image

from . import coder, rans
from .errors import (
    ChecksumError,
    CorruptError,
    LimitError,
    NotCczError,
    OptionError,
    TruncatedError,
    UnsupportedError,
)
from .model import MAX_COLORS, MODES, Quantized, label_dtype
from .validate import check_int
from .zstdframe import decompress_exact

__all__ = [
    "CODINGS",
    "DEFAULT_MAX_PIXELS",
    "MAX_METADATA_BYTES",
    "MAX_RANS_WIDTH",
    "read_metadata",
    "SIGNATURE",
    "Header",
    "decode",
    "encode_quantized",
    "read_container",
    "read_header",
]

SIGNATURE = b"\x89CCZ\r\n\x1a\n"
#: What the readers take: any contiguous bytes.
BytesLike = bytes | bytearray | memoryview
MAJOR_VERSION = 1
# Files of the context coding say 1.2; those that use another feature of 1.1 (16-bit
# indices, metadata, rANS) say 1.1; the others are written exactly as 1.0 wrote them.
MINOR_VERSION = 2
_MINOR_1_1 = 1

# signature, major, minor, header length, width, height, K, channels,
# bits per index, coding, filter, required flags, optional flags,
# payload length
_HEADER = struct.Struct("<8sBBHIIIBBBBHHQ")
HEADER_SIZE = _HEADER.size  # 40
_CRC = struct.Struct("<I")

#: Payload codings by name, as `encode_quantized(coding=...)` takes them; the
#: value is the coding id stored at offset 26.
CODINGS = {"zstd": 0, "rans": 1, "context": 2}
CODING_ZSTD = CODINGS["zstd"]
CODING_RANS = CODINGS["rans"]
CODING_CONTEXT = CODINGS["context"]
FILTER_NONE = 0
KNOWN_REQUIRED_FLAGS = 0
#: Optional flag: the header extension holds metadata chunks (ICC profile, text).
FLAG_METADATA = 0x0002
BIT_WIDTHS = (1, 2, 4, 8, 16)
#: The widest image the rANS coding takes: its decoder steps once per column,
#: so a 100-byte file 89 million pixels wide would otherwise take hours to refuse.
MAX_RANS_WIDTH = 1 << 14

#: Images with more pixels are refused unless the caller raises the limit:
#: the same number as Pillow's ``Image.MAX_IMAGE_PIXELS``.
DEFAULT_MAX_PIXELS = 89_478_485

# Dimensions stay below 2**31 so that every size derived from them fits the
# signed 64-bit integers NumPy indexes with.
_MAX_DIMENSION = (1 << 31) - 1
_DEFAULT_LEVEL = 19

# Metadata chunks: 4-byte type, u32 length, data. They live in the header
# extension, so a 1.0 decoder skips them and the header CRC covers them; the
# u16 header length caps them at 65,495 bytes.
_CHUNK = struct.Struct("<4sI")
_CHUNK_ICC = b"ICCP"
_CHUNK_TEXT = b"TEXT"
#: The most bytes of metadata chunks a file can hold.
MAX_METADATA_BYTES = 0xFFFF - HEADER_SIZE
_ICC_KEY = "icc_profile"


@dataclass(frozen=True)
class Header:
    """The fixed fields of a .ccz file, validated."""

    major: int
    minor: int
    header_length: int
    width: int
    height: int
    k: int
    channels: int
    bits: int
    coding_id: int  # the payload coding (`CODINGS`); the spec's byte 26, named compression in 1.0
    filter: int
    required_flags: int
    optional_flags: int
    payload_length: int

    @property
    def mode(self) -> str:
        return MODES[self.channels]

    @property
    def coding(self) -> str:
        """The payload coding's name: ``"zstd"``, ``"rans"`` or ``"context"``."""
        return next(name for name, value in CODINGS.items() if value == self.coding_id)

    @property
    def has_metadata(self) -> bool:
        return bool(self.optional_flags & FLAG_METADATA)

    @property
    def stride(self) -> int:
        """Bytes per packed row: rows start on a byte boundary."""
        return (self.width * self.bits + 7) // 8

    @property
    def raw_size(self) -> int:
        """The exact size of the packed indices (the zstd frame's content)."""
        return self.stride * self.height

    @property
    def palette_offset(self) -> int:
        return self.header_length

    @property
    def payload_offset(self) -> int:
        return self.header_length + self.k * self.channels + _CRC.size

    @property
    def file_size(self) -> int:
        return self.payload_offset + self.payload_length


def bits_for(k: int) -> int:
    """The smallest of 1, 2, 4, 8, 16 bits that holds indices 0..k-1."""
    return next(bits for bits in BIT_WIDTHS if k <= 1 << bits)


def encode_quantized(q: Quantized, *, level: int | None = None, coding: str = "auto") -> bytes:
    """Serialise a `Quantized` image to the bytes of a .ccz file.

    Parameters
    ----------
    q : Quantized
        The image. ``q.info`` is stored too: ``"icc_profile"`` (bytes) and
        every entry whose key and value are both str (text); other entries are
        not kept, and without those the file has no metadata chunk.
    level : int or None
        The zstd level, 1-22; None: 19, lowered to 9 above 4 megapixels where
        19 would take longer than the quantizer. The other codings have none.
    coding : {"auto", "zstd", "context", "rans"}
        How the indices are stored: ``"zstd"`` (bit-packed rows, one zstd
        frame; what version 1.0 decoders read), ``"context"`` (the adaptive
        context coder, `ccodec.coder`; version 1.2), ``"rans"`` (version 1.1's
        rANS, `ccodec.rans`; only when asked for, up to `MAX_RANS_WIDTH`
        columns), or ``"auto"``: the smaller of zstd and context (zstd on a
        tie), with cheap trials first: zstd at `level` is skipped when the
        context stream is well below a faster level's frame.

    Returns
    -------
    bytes
        The .ccz file.

    Raises
    ------
    OptionError
        A palette, labels or option the format cannot hold.

    >>> q = Quantized(np.array([[0], [255]], np.uint8), np.array([[0, 1]], np.uint8))
    >>> decode(encode_quantized(q)) == q
    True
    """
    palette, labels = _validate_image(q)
    k, channels = palette.shape
    height, width = labels.shape
    if level is None:
        level = _DEFAULT_LEVEL if width * height <= (1 << 22) else 9
    level = check_int("level", level, 1, 22)
    codings = _codings_for(coding, width)
    metadata = _metadata_chunks(q.info)

    bits = bits_for(k)
    shape = Header(1, 0, HEADER_SIZE, width, height, k, channels, bits, 0, 0, 0, 0, 0)

    def fits(name: str, payload: bytes) -> bool:
        """Whether rule 14 lets a file hold `payload` (the encoder never writes what it refuses)."""
        low, high = _PAYLOAD_BOUNDS[CODINGS[name]](shape)
        return low <= len(payload) <= high

    payloads: Mapping[str, bytes | None]
    if coding == "auto" and len(codings) > 1:
        payloads = _auto_payloads(labels, palette, bits, level, fits)
    else:
        payloads = {name: _ENCODERS[name](labels, palette, bits, level) for name in codings}
    candidates = [
        (len(payload), CODINGS[name], payload)
        for name, payload in payloads.items()
        if payload is not None and fits(name, payload)
    ]
    if not candidates:
        raise OptionError(f"the {coding} coding cannot hold this image within the format's bounds.")
    _, coding_id, payload = min(candidates, key=lambda c: c[:2])
    if coding_id == CODING_CONTEXT:
        minor = MINOR_VERSION
    elif bits == 16 or coding_id != CODING_ZSTD or metadata:
        minor = _MINOR_1_1
    else:
        minor = 0
    header = _HEADER.pack(
        SIGNATURE,
        MAJOR_VERSION,
        minor,
        HEADER_SIZE + len(metadata),
        width,
        height,
        k,
        channels,
        bits,
        coding_id,
        FILTER_NONE,
        0,
        FLAG_METADATA if metadata else 0,
        len(payload),
    )
    checked = header + metadata + palette.tobytes()
    return b"".join([checked, _CRC.pack(zlib.crc32(checked)), payload])


# The trial levels of `coding="auto"`, and the ratio of context to each level's frame
# below which zstd at level 19 cannot win (it is never that much smaller than them).
_QUICK_LEVEL, _QUICK_GAIN = 1, 0.7
_MID_LEVEL, _MID_GAIN = 9, 0.8
_HIGH_LEVEL = 15


def _auto_payloads(
    labels: np.ndarray,
    palette: np.ndarray,
    bits: int,
    level: int,
    fits: Callable[[str, bytes], bool],
) -> dict[str, bytes]:
    """The payloads `coding="auto"` compares, cheapest trials first: zstd is not run at
    `level` when the context stream is under 0.7x a level-1 frame or 0.8x the level-9
    frame, or when, between the level-9 frame and itself, it is below the level-15 one."""
    # Looked up when called, as tests replace them; these two always give bytes.
    encode_zstd = cast(_Encoder, _ENCODERS["zstd"])
    payload = cast(_Encoder, _ENCODERS["context"])(labels, palette, bits, level)
    if not fits("context", payload):
        return {"zstd": encode_zstd(labels, palette, bits, level)}
    quick = encode_zstd(labels, palette, bits, _QUICK_LEVEL)
    if level <= _QUICK_LEVEL:
        return {"zstd": quick, "context": payload}
    if len(payload) <= _QUICK_GAIN * len(quick):
        return {"context": payload}
    mid = encode_zstd(labels, palette, bits, min(level, _MID_LEVEL))
    if level <= _MID_LEVEL:
        return {"context": payload, "zstd": mid}
    if len(payload) <= _MID_GAIN * len(mid):
        return {"context": payload}
    if len(payload) < len(mid):
        high = encode_zstd(labels, palette, bits, min(level, _HIGH_LEVEL))
        if level <= _HIGH_LEVEL:
            return {"context": payload, "zstd": high}
        if len(payload) < len(high):
            return {"context": payload}
    return {"context": payload, "zstd": encode_zstd(labels, palette, bits, level)}


def _validate_image(q: Quantized) -> tuple[np.ndarray, np.ndarray]:
    """The palette as (K, C) uint8 and the labels as (H, W) integers below K; else OptionError."""
    palette = np.ascontiguousarray(q.palette, dtype=np.uint8)
    labels = np.asarray(q.labels)
    if palette.ndim != 2 or not 1 <= palette.shape[1] <= 4:
        raise OptionError(f"palette must have shape (K, C) with C in 1..4, not {palette.shape}.")
    k = palette.shape[0]
    if not 1 <= k <= MAX_COLORS:
        raise OptionError(f"K={k} should be in 1..{MAX_COLORS}.")
    if labels.ndim != 2 or 0 in labels.shape:
        raise OptionError(f"labels must be a non-empty (H, W) array, not shape {labels.shape}.")
    if not np.issubdtype(labels.dtype, np.integer):
        raise OptionError(f"labels must be integers, not {labels.dtype}.")
    if max(labels.shape) > _MAX_DIMENSION:
        raise OptionError(
            f"{labels.shape[1]}x{labels.shape[0]} is larger than a .ccz file can hold."
        )
    if labels.max() >= k or labels.min() < 0:
        raise OptionError(f"labels must lie in 0..{k - 1}.")
    return palette, labels.astype(label_dtype(k), copy=False)


def _codings_for(coding: str, width: int) -> tuple[str, ...]:
    """The codings `encode_quantized` tries for its `coding` option at this `width`."""
    if coding == "auto":
        return ("zstd", "context")
    available = ("zstd", "context", "rans") if width <= MAX_RANS_WIDTH else ("zstd", "context")
    if coding not in CODINGS:
        raise OptionError(f"coding={coding!r} should be one of auto, {', '.join(CODINGS)}.")
    if coding not in available:
        raise OptionError(
            f"the rans coding takes images up to {MAX_RANS_WIDTH:,} pixels wide, not {width:,}."
        )
    return (coding,)


def _metadata_chunks(info: Mapping) -> bytes:
    """The ICC profile and text entries of `info` as metadata chunks (b"" if none)."""
    if not isinstance(info, Mapping):
        raise OptionError(f"info must be a dict, not {type(info).__name__}.")
    chunks = []
    profile = info.get(_ICC_KEY)
    if profile is not None:
        if not isinstance(profile, (bytes, bytearray, memoryview)):
            raise OptionError(f"info['icc_profile'] must be bytes, not {type(profile).__name__}.")
        if len(profile):  # Pillow leaves an empty profile for "none"
            chunks.append(_CHUNK.pack(_CHUNK_ICC, len(profile)) + bytes(profile))
    for key, value in info.items():
        if key == _ICC_KEY or not (isinstance(key, str) and isinstance(value, str)):
            continue
        try:
            data = key.encode() + b"\0" + value.encode()
        except UnicodeEncodeError as exc:
            raise OptionError(f"info[{key!r}] cannot be stored as UTF-8: {exc.reason}.") from None
        if not key or "\0" in key:
            raise OptionError(f"info key {key!r} cannot be stored: keys are non-empty, no NUL.")
        chunks.append(_CHUNK.pack(_CHUNK_TEXT, len(data)) + data)
    metadata = b"".join(chunks)
    if len(metadata) > MAX_METADATA_BYTES:
        raise OptionError(
            f"metadata (ICC profile and text) takes {len(metadata):,} bytes; a .ccz header "
            f"holds at most {MAX_METADATA_BYTES:,} (ccodec encode --strip leaves it out)."
        )
    return metadata


def read_header(data: BytesLike, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Header:
    """Parse and validate the fixed header of .ccz `data` (rules 1-14 of the spec).

    Only the header is checked: the palette, checksum and payload are left to
    `decode`. Raises a `FormatError` subclass naming the first problem, or
    `OptionError` if `data` is not bytes-like.

    >>> blank = Quantized(np.zeros((1, 1), np.uint8), np.zeros((3, 5), np.uint8))
    >>> h = read_header(encode_quantized(blank))
    >>> h.width, h.height, h.k, h.mode, h.bits
    (5, 3, 1, 'L', 1)
    """
    view = _byte_view(data)
    if max_pixels is not None:
        max_pixels = check_int("max_pixels", max_pixels, 0)
    _check_signature(view)  # rule 1
    if len(view) < _FROZEN_SIZE:  # rule 2
        raise TruncatedError(f"truncated header: {len(view)} bytes, need at least {_FROZEN_SIZE}")
    major, minor, header_length = struct.unpack_from("<BBH", view, 8)
    if major != MAJOR_VERSION:  # rule 3
        raise UnsupportedError(
            f"unsupported .ccz version {major}.{minor}: this decoder reads version "
            f"{MAJOR_VERSION}.x"
        )
    if header_length < HEADER_SIZE:  # rule 4
        raise CorruptError(f"header length {header_length} is below the minimum {HEADER_SIZE}")
    if len(view) < HEADER_SIZE:  # rule 5
        raise TruncatedError(f"truncated header: {len(view)} bytes, need {HEADER_SIZE}")
    header = Header(*_HEADER.unpack_from(view)[1:])
    _validate_header(header, max_pixels)
    return header


# Signature, major, minor and header length: the bytes every version keeps.
_FROZEN_SIZE = 12


def _byte_view(data: object) -> memoryview:
    """A flat unsigned-byte view of any bytes-like `data`; OptionError otherwise."""
    try:
        view = memoryview(data)  # type: ignore[arg-type]
    except TypeError:
        raise OptionError(
            f"data must be bytes-like (bytes, bytearray, memoryview), not {type(data).__name__}"
        ) from None
    except (ValueError, BufferError) as exc:  # a released memoryview, a locked buffer
        raise OptionError(f"data cannot be read: {exc}") from None
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    return view.cast("B")


def _check_signature(view: memoryview) -> None:
    """Rule 1: the eight signature bytes, telling damaged and truncated from foreign."""
    head = bytes(view[: len(SIGNATURE)])
    if head == SIGNATURE:
        return
    if not head:
        raise NotCczError("not a .ccz file (empty)")
    if len(head) < len(SIGNATURE) and SIGNATURE.startswith(head):
        raise TruncatedError(f"truncated signature: {len(head)} of {len(SIGNATURE)} bytes")
    if head[:4] == SIGNATURE[:4]:
        raise CorruptError("damaged .ccz signature (was the file transferred in text mode?)")
    raise NotCczError("not a .ccz file (no .ccz signature)")


def _validate_header(h: Header, max_pixels: int | None) -> None:
    """Rules 6-14: each field on its own, then the pixel limit, then the payload size."""
    if not 1 <= h.width <= _MAX_DIMENSION or not 1 <= h.height <= _MAX_DIMENSION:
        raise CorruptError(
            f"invalid dimensions {h.width}x{h.height}: each must be 1..{_MAX_DIMENSION}"
        )
    if h.channels not in MODES:
        raise CorruptError(f"invalid channel count {h.channels}: must be 1, 2, 3 or 4")
    if h.bits not in BIT_WIDTHS:
        raise CorruptError(f"invalid bits per index {h.bits}: must be 1, 2, 4, 8 or 16")
    if h.k == 0:
        raise CorruptError("invalid palette size K=0: must be at least 1")
    if h.k > 1 << h.bits:
        raise CorruptError(f"K={h.k} does not fit in {h.bits} bits per index")
    if h.coding_id not in _DECODERS:
        raise UnsupportedError(f"unknown payload coding {h.coding_id}")
    if h.coding_id == CODING_RANS and h.width > MAX_RANS_WIDTH:
        raise UnsupportedError(
            f"rANS coding of an image {h.width:,} pixels wide: version 1.1 defines it "
            f"up to {MAX_RANS_WIDTH:,}"
        )
    if h.filter != FILTER_NONE:
        raise UnsupportedError(f"unknown filter method {h.filter}")
    unknown = h.required_flags & ~KNOWN_REQUIRED_FLAGS
    if unknown:
        raise UnsupportedError(f"unknown required flags 0x{unknown:04x}")
    if max_pixels is not None and h.width * h.height > max_pixels:
        raise LimitError(
            f"image is {h.width}x{h.height} = {h.width * h.height:,} pixels, above the "
            f"limit of {max_pixels:,} (raise it with max_pixels / --max-pixels)"
        )
    low, high = _PAYLOAD_BOUNDS[h.coding_id](h)
    if not low <= h.payload_length <= high:
        raise CorruptError(
            f"payload length {h.payload_length} is impossible for a {h.width}x{h.height} "
            f"image of {h.bits}-bit indices ({h.coding} coding: {low}..{high} bytes)"
        )


# The smallest zstd frame that can hold one byte with a content size and a
# checksum: magic 4, frame header descriptor 1, content size 1, block header 3,
# block 1, checksum 4.
_MIN_FRAME = 14


def _compress_bound(size: int) -> int:
    """zstd's ZSTD_COMPRESSBOUND plus room for the frame header and checksum."""
    small = ((128 << 10) - size) >> 11 if size < (128 << 10) else 0
    return size + (size >> 8) + small + 32


def read_container(
    data: BytesLike, *, file_size: int | None = None, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> tuple[Header, np.ndarray, dict]:
    """Validate all but the payload (rules 1-19): the header, the palette and its CRC-32,
    the file's length and the metadata chunks; return the header, the palette and
    the metadata (as `read_metadata` gives it).

    `data` needs to hold only the header, palette and CRC; `file_size` is the
    length of the whole file (default ``len(data)``), so a reader of a file
    on disk can check it before reading or allocating the payload.
    """
    view = _byte_view(data)
    header = read_header(view, max_pixels=max_pixels)
    file_size = len(view) if file_size is None else file_size
    palette_end = header.payload_offset - _CRC.size
    if min(len(view), file_size) < header.payload_offset:  # rule 15
        have = min(len(view), file_size)
        if have < header.header_length:
            what = "header"
        elif have < palette_end:
            what = "palette"
        else:
            what = "CRC-32"
        raise TruncatedError(
            f"truncated {what}: file has {have} bytes, the header and palette need "
            f"{header.payload_offset}"
        )
    (stored_crc,) = _CRC.unpack_from(view, palette_end)
    if zlib.crc32(view[:palette_end]) != stored_crc:  # rule 16
        raise ChecksumError("header/palette CRC-32 mismatch: the file is damaged")
    available = file_size - header.payload_offset
    if available < header.payload_length:  # rule 17
        raise TruncatedError(
            f"truncated payload: {available} of {header.payload_length} bytes present"
        )
    if available > header.payload_length:  # rule 18
        raise CorruptError(f"{available - header.payload_length} trailing bytes after the payload")
    info = read_metadata(header, view)  # rule 19
    palette = np.frombuffer(view[header.palette_offset : palette_end], np.uint8)
    return header, palette.reshape(header.k, header.channels).copy(), info


def read_metadata(header: Header, data: BytesLike) -> dict:
    """Rule 19: the metadata chunks of a file whose header and CRC are checked, as a dict.

    ``"icc_profile"`` maps to the profile's bytes and each text entry's key to
    its value, as in Pillow's ``Image.info``; empty if the file has none.
    Chunks of a type this decoder does not know are skipped.
    """
    if not header.has_metadata:
        return {}  # extension bytes without the flag are a newer minor's: skipped
    view = _byte_view(data)[HEADER_SIZE : header.header_length]
    info: dict = {}
    at = 0
    while at < len(view):
        where = HEADER_SIZE + at
        if len(view) - at < _CHUNK.size:
            raise CorruptError(f"metadata chunk at byte {where} is cut by the end of the header")
        kind, length = _CHUNK.unpack_from(view, at)
        at += _CHUNK.size
        if length > len(view) - at:
            raise CorruptError(
                f"metadata chunk at byte {where} claims {length} bytes, "
                f"{len(view) - at} are left in the header"
            )
        chunk = bytes(view[at : at + length])
        at += length
        if kind == _CHUNK_ICC:
            _read_icc(chunk, info, where)
        elif kind == _CHUNK_TEXT:
            _read_text(chunk, info, where)
    return info


def _read_icc(chunk: bytes, info: dict, where: int) -> None:
    if _ICC_KEY in info:
        raise CorruptError(f"second ICC profile chunk at byte {where}")
    if not chunk:
        raise CorruptError(f"empty ICC profile chunk at byte {where}")
    info[_ICC_KEY] = chunk


def _read_text(chunk: bytes, info: dict, where: int) -> None:
    key, separator, value = chunk.partition(b"\0")
    if not separator:
        raise CorruptError(f"text chunk at byte {where} has no NUL after its key")
    try:
        text_key, text_value = key.decode(), value.decode()
    except UnicodeDecodeError:
        raise CorruptError(f"text chunk at byte {where} is not UTF-8") from None
    if not text_key or text_key == _ICC_KEY:
        raise CorruptError(f"text chunk at byte {where} has the reserved key {text_key!r}")
    if text_key in info:
        raise CorruptError(f"text key {text_key!r} appears twice (second at byte {where})")
    info[text_key] = text_value


def decode(data: bytes, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Quantized:
    """Decode the bytes of a .ccz file into the `Quantized` image it holds.

    Every field is validated before memory is allocated from it.

    Parameters
    ----------
    data : bytes-like
        The whole file.
    max_pixels : int or None
        A file with more pixels is refused (None: no limit).

    Returns
    -------
    Quantized
        Labels uint8 for K <= 256 and uint16 above; ``info`` holds the file's
        ICC profile and text entries.

    Raises
    ------
    CczError
        Only its subclasses: `NotCczError`, `TruncatedError`, `CorruptError`,
        `ChecksumError`, `UnsupportedError`, `LimitError`, or `OptionError` for
        data that is not bytes-like.

    >>> blank = Quantized(np.zeros((1, 3), np.uint8), np.zeros((2, 2), np.uint8))
    >>> q = decode(encode_quantized(blank))
    >>> q.mode, q.width, q.height
    ('RGB', 2, 2)
    """
    view = _byte_view(data)
    header, palette, info = read_container(view, max_pixels=max_pixels)
    try:
        labels = _DECODERS[header.coding_id](view[header.payload_offset :], header, palette)
    except MemoryError:
        # Reachable only with max_pixels raised or None: the caller's limit is the cure.
        raise LimitError(
            f"not enough memory to decode a {header.width}x{header.height} image"
        ) from None
    largest = int(labels.max())
    if largest >= header.k:  # rule 22
        row, col = np.argwhere(labels == largest)[0]
        raise CorruptError(f"index {largest} >= K={header.k} at row {row}, column {col}")
    return Quantized(palette, labels.astype(label_dtype(header.k), copy=False), info=info)


# -- zstd coding (0): bit-packed rows, one zstd frame --------------------------------


def _encode_zstd(labels: np.ndarray, palette: np.ndarray, bits: int, level: int) -> bytes:
    compressor = zstandard.ZstdCompressor(
        level=level, write_checksum=True, write_content_size=True, write_dict_id=False
    )
    return compressor.compress(_pack_rows(labels, bits))


def _decode_zstd(payload: memoryview, header: Header, palette: np.ndarray) -> np.ndarray:
    return _unpack_rows(_decompress(payload, header.raw_size), header)


def _zstd_bounds(header: Header) -> tuple[int, int]:
    return _MIN_FRAME, _compress_bound(header.raw_size)


def _decompress(payload: memoryview, raw_size: int) -> bytes:
    """The zstd coding's rows: rule 20 (the frame header), then rule 21."""
    return decompress_exact(
        payload,
        raw_size,
        subject="payload",
        expected=f"the header implies {raw_size}",
        checksum=True,
    )


def _pack_rows(labels: np.ndarray, bits: int) -> bytes:
    """Pack (H, W) indices at `bits` per index, MSB first, each row byte-aligned.

    16-bit indices are little-endian, like every other integer of the format.
    """
    if bits == 16:
        return labels.astype("<u2").tobytes()
    labels = labels.astype(np.uint8, copy=False)
    if bits == 8:
        return labels.tobytes()
    per_byte = 8 // bits
    height, width = labels.shape
    padded = np.zeros((height, -(-width // per_byte) * per_byte), np.uint8)
    padded[:, :width] = labels
    groups = padded.reshape(height, -1, per_byte)
    shifts = np.arange(8 - bits, -1, -bits, dtype=np.uint8)
    packed = np.bitwise_or.reduce(groups << shifts, axis=2)
    return packed.astype(np.uint8).tobytes()


def _unpack_rows(raw: bytes, header: Header) -> np.ndarray:
    """(H, W) indices from rows packed as `_pack_rows` writes them: uint8, or uint16 at 16 bits."""
    shape = (header.height, header.width)
    if header.bits == 16:
        return np.frombuffer(raw, "<u2").reshape(shape).astype(np.uint16)
    if header.bits == 8:
        return np.frombuffer(raw, np.uint8).reshape(shape).copy()
    # Pillow's raw unpacker reads PNG-style packed rows in C, several times
    # faster than shifting and masking in NumPy.
    size = (header.width, header.height)
    image = Image.frombytes("P", size, raw, "raw", f"P;{header.bits}")
    return np.asarray(image).copy()


# -- rANS coding (1): formats/rans.md's stream, then its CRC-32 ----------------------

# The rANS stream has no checksum of its own; the CRC-32 keeps every byte of
# a file covered by one, as zstd's content checksum does for coding 0.


def _encode_rans(labels: np.ndarray, palette: np.ndarray, bits: int, level: int) -> bytes | None:
    stream = rans.encode_labels(labels, len(palette))
    return None if stream is None else stream + _CRC.pack(zlib.crc32(stream))


def _decode_rans(payload: memoryview, header: Header, palette: np.ndarray) -> np.ndarray:
    stream = payload[: -_CRC.size]
    (stored_crc,) = _CRC.unpack_from(payload, len(stream))
    if zlib.crc32(stream) != stored_crc:  # rule 20
        raise ChecksumError("rANS payload CRC-32 mismatch: the file is damaged")
    labels = rans.decode_labels(stream, header.width, header.height, header.k)  # rule 21
    if labels.shape != (header.height, header.width):
        raise CorruptError(f"rANS payload decoded to shape {labels.shape}")
    return labels


def _rans_bounds(header: Header) -> tuple[int, int]:
    """Loose bounds that hold whatever the stream's choices: at least one byte; at most
    3 words a pixel over at most 2H - 1 coded rows (bands are padded), a state per row,
    and a table frame under 1 MiB."""
    pixels = header.width * header.height
    return 1 + _CRC.size, 12 * pixels + 8 * header.height + (1 << 20)


# -- context coding (2): formats/context.md's stream, then its CRC-32 -----------------


def _encode_context(labels: np.ndarray, palette: np.ndarray, bits: int, level: int) -> bytes:
    stream = coder.encode_labels(labels, palette)
    return stream + _CRC.pack(zlib.crc32(stream))


def _decode_context(payload: memoryview, header: Header, palette: np.ndarray) -> np.ndarray:
    stream = payload[: -_CRC.size]
    (stored_crc,) = _CRC.unpack_from(payload, len(stream))
    if zlib.crc32(stream) != stored_crc:  # rule 20
        raise ChecksumError("context payload CRC-32 mismatch: the file is damaged")
    return coder.decode_labels(stream, header.width, header.height, palette)  # rule 21


def _context_bounds(header: Header) -> tuple[int, int]:
    """The shortest stream (its 4-byte flush) and formats/context.md's bound, plus the CRC."""
    pixels = header.width * header.height
    return coder.MIN_STREAM + _CRC.size, coder.max_stream_size(pixels) + _CRC.size


# -- the coding table ----------------------------------------------------------------

# A coding's payload encoder: labels, palette, bits, zstd level; rANS may give up (None).
_Encoder = Callable[[np.ndarray, np.ndarray, int, int], bytes]
_ENCODERS: dict[str, Callable[[np.ndarray, np.ndarray, int, int], bytes | None]] = {
    "zstd": _encode_zstd,
    "rans": _encode_rans,
    "context": _encode_context,
}
_DECODERS = {CODING_ZSTD: _decode_zstd, CODING_RANS: _decode_rans, CODING_CONTEXT: _decode_context}
_PAYLOAD_BOUNDS = {
    CODING_ZSTD: _zstd_bounds,
    CODING_RANS: _rans_bounds,
    CODING_CONTEXT: _context_bounds,
}
