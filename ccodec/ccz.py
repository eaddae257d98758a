"""The .ccz container: header, palette, bit-packed zstd-compressed indices.

`formats/ccz.md` is the byte-level specification; this module follows it
field by field. Decoding validates every field in the order the
specification gives, before anything is allocated from it.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np
import zstandard
from PIL import Image

from .errors import (
    ChecksumError,
    CorruptError,
    LimitError,
    NotCczError,
    OptionError,
    TruncatedError,
    UnsupportedError,
)
from .quantize import MAX_COLORS, MODES, Quantized

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "SIGNATURE",
    "Header",
    "decode",
    "encode_quantized",
    "read_container",
    "read_header",
]

SIGNATURE = b"\x89CCZ\r\n\x1a\n"
MAJOR_VERSION = 1
MINOR_VERSION = 0

# signature, major, minor, header length, width, height, K, channels,
# bits per index, compression, filter, required flags, optional flags,
# payload length
_HEADER = struct.Struct("<8sBBHIIIBBBBHHQ")
HEADER_SIZE = _HEADER.size  # 40
_CRC = struct.Struct("<I")

COMPRESSION_ZSTD = 0
FILTER_NONE = 0
KNOWN_REQUIRED_FLAGS = 0
BIT_WIDTHS = (1, 2, 4, 8)
# Kept for a future extension with more than MAX_COLORS entries: files that
# use them are valid but unsupported, not corrupt.
_RESERVED_BITS = 16
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

#: Images with more pixels are refused unless the caller raises the limit:
#: the same number as Pillow's ``Image.MAX_IMAGE_PIXELS``.
DEFAULT_MAX_PIXELS = 89_478_485

# Dimensions stay below 2**31 so that every size derived from them fits the
# signed 64-bit integers NumPy indexes with.
_MAX_DIMENSION = (1 << 31) - 1
_DEFAULT_LEVEL = 19


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
    compression: int
    filter: int
    required_flags: int
    optional_flags: int
    payload_length: int

    @property
    def mode(self) -> str:
        return MODES[self.channels]

    @property
    def stride(self) -> int:
        """Bytes per packed row: rows start on a byte boundary."""
        return (self.width * self.bits + 7) // 8

    @property
    def raw_size(self) -> int:
        """The exact size of the decompressed payload."""
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
    """The smallest of 1, 2, 4, 8 bits that holds indices 0..k-1."""
    return next(bits for bits in BIT_WIDTHS if k <= 1 << bits)


def encode_quantized(q: Quantized, *, level: int | None = None) -> bytes:
    """Serialise a `Quantized` image to the bytes of a .ccz file.

    `level` is the zstd level (1-22); by default 19, lowered for very large
    images where 19 would take longer than the quantizer.

    >>> q = Quantized(np.array([[0], [255]], np.uint8), np.array([[0, 1]], np.uint8))
    >>> decode(encode_quantized(q)) == q
    True
    """
    palette = np.ascontiguousarray(q.palette, dtype=np.uint8)
    labels = np.asarray(q.labels)
    if palette.ndim != 2 or not 1 <= palette.shape[1] <= 4:
        raise OptionError(f"palette must have shape (K, C) with C in 1..4, not {palette.shape}.")
    k, channels = palette.shape
    if not 1 <= k <= MAX_COLORS:
        raise OptionError(f"K={k} should be in 1..{MAX_COLORS}.")
    if labels.ndim != 2 or 0 in labels.shape:
        raise OptionError(f"labels must be a non-empty (H, W) array, not shape {labels.shape}.")
    height, width = labels.shape
    if max(height, width) > _MAX_DIMENSION:
        raise OptionError(f"{width}x{height} is larger than a .ccz file can hold.")
    if labels.max() >= k or labels.min() < 0:
        raise OptionError(f"labels must lie in 0..{k - 1}.")
    if level is None:
        level = _DEFAULT_LEVEL if width * height <= (1 << 22) else 9
    if not 1 <= level <= 22:
        raise OptionError(f"level={level} should be in 1..22.")

    bits = bits_for(k)
    raw = _pack_rows(labels.astype(np.uint8), bits)
    compressor = zstandard.ZstdCompressor(
        level=level, write_checksum=True, write_content_size=True, write_dict_id=False
    )
    payload = compressor.compress(raw)
    header = _HEADER.pack(
        SIGNATURE,
        MAJOR_VERSION,
        MINOR_VERSION,
        HEADER_SIZE,
        width,
        height,
        k,
        channels,
        bits,
        COMPRESSION_ZSTD,
        FILTER_NONE,
        0,
        0,
        len(payload),
    )
    checked = header + palette.tobytes()
    return b"".join([checked, _CRC.pack(zlib.crc32(checked)), payload])


def read_header(data: bytes, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Header:
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
    if max_pixels is not None and (
        isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 0
    ):
        raise OptionError(f"max_pixels must be a non-negative integer or None, not {max_pixels!r}")
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
    if h.bits == _RESERVED_BITS:
        raise UnsupportedError(f"{h.bits}-bit indices are reserved for a future version")
    if h.bits not in BIT_WIDTHS:
        raise CorruptError(f"invalid bits per index {h.bits}: must be 1, 2, 4 or 8")
    if h.k == 0:
        raise CorruptError("invalid palette size K=0: must be at least 1")
    if h.k > MAX_COLORS:
        raise UnsupportedError(
            f"palette size K={h.k} is above {MAX_COLORS}, reserved for a future version"
        )
    if h.k > 1 << h.bits:
        raise CorruptError(f"K={h.k} does not fit in {h.bits} bits per index")
    if h.compression != COMPRESSION_ZSTD:
        raise UnsupportedError(f"unknown compression method {h.compression}")
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
    if not _MIN_FRAME <= h.payload_length <= _compress_bound(h.raw_size):
        raise CorruptError(
            f"payload length {h.payload_length} is impossible for {h.raw_size} bytes of indices"
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
    data: bytes, *, file_size: int | None = None, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> tuple[Header, np.ndarray]:
    """Validate all but the payload (rules 1-18): the header, the palette and its CRC-32,
    and that the file is exactly as long as the header says; return the header and palette.

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
    palette = np.frombuffer(view[header.palette_offset : palette_end], np.uint8)
    return header, palette.reshape(header.k, header.channels).copy()


def decode(data: bytes, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Quantized:
    """Decode the bytes of a .ccz file into the `Quantized` image it holds.

    Every field is validated before memory is allocated from it; a file with
    more than `max_pixels` pixels is refused (``None``: no limit). Raises
    only `CczError` subclasses.

    >>> blank = Quantized(np.zeros((1, 3), np.uint8), np.zeros((2, 2), np.uint8))
    >>> q = decode(encode_quantized(blank))
    >>> q.mode, q.width, q.height
    ('RGB', 2, 2)
    """
    view = _byte_view(data)
    header, palette = read_container(view, max_pixels=max_pixels)
    try:
        raw = _decompress(view[header.payload_offset :], header.raw_size)
        labels = _unpack_rows(raw, header)
    except MemoryError:
        # Reachable only with max_pixels raised or None: the caller's limit is the cure.
        raise LimitError(
            f"not enough memory to decode a {header.width}x{header.height} image"
        ) from None
    largest = int(labels.max())
    if largest >= header.k:  # rule 21
        row, col = np.argwhere(labels == largest)[0]
        raise CorruptError(f"index {largest} >= K={header.k} at row {row}, column {col}")
    return Quantized(palette, labels)


def _decompress(payload: memoryview, raw_size: int) -> bytes:
    """Decompress exactly `raw_size` bytes, refusing frames that claim otherwise.

    python-zstandard allocates whatever content size a frame declares, so the
    frame header is read and checked first (rule 19); then rule 20.
    """
    if bytes(payload[:4]) != _ZSTD_MAGIC:
        raise CorruptError("corrupt payload: not a zstd frame")
    try:
        params = zstandard.get_frame_parameters(payload)
    except zstandard.ZstdError as exc:
        raise CorruptError(f"corrupt payload: {exc}") from exc
    if params.content_size == zstandard.CONTENTSIZE_UNKNOWN:
        raise CorruptError("corrupt payload: frame does not declare its content size")
    if params.content_size != raw_size:
        raise CorruptError(
            f"corrupt payload: frame declares {params.content_size} bytes, "
            f"the header implies {raw_size}"
        )
    if params.dict_id != 0:
        raise CorruptError("corrupt payload: frame needs a zstd dictionary")
    if not params.has_checksum:
        raise CorruptError("corrupt payload: frame has no checksum")
    try:
        raw = zstandard.ZstdDecompressor().decompress(
            payload, max_output_size=raw_size, allow_extra_data=False
        )
    except zstandard.ZstdError as exc:
        if "checksum" in str(exc).lower():
            raise ChecksumError(f"payload checksum mismatch: the file is damaged ({exc})") from exc
        raise CorruptError(f"corrupt payload: {exc}") from exc
    if len(raw) != raw_size:
        raise CorruptError(f"corrupt payload: {len(raw)} bytes decompressed, expected {raw_size}")
    return raw


def _pack_rows(labels: np.ndarray, bits: int) -> bytes:
    """Pack (H, W) indices at `bits` per index, MSB first, each row byte-aligned."""
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
    """(H, W) uint8 indices from rows packed as `_pack_rows` writes them."""
    if header.bits == 8:
        return np.frombuffer(raw, np.uint8).reshape(header.height, header.width).copy()
    # Pillow's raw unpacker reads PNG-style packed rows in C, several times
    # faster than shifting and masking in NumPy.
    size = (header.width, header.height)
    image = Image.frombytes("P", size, raw, "raw", f"P;{header.bits}")
    return np.asarray(image).copy()
