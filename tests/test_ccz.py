"""The .ccz container: exact bytes, bit packing, round trips, truncation, each rule."""

from __future__ import annotations

import struct
import tracemalloc
import zlib
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import zstandard
from PIL import Image

import ccodec
from ccodec.ccz import (
    DEFAULT_MAX_PIXELS,
    _pack_rows,
    _unpack_rows,
    decode,
    encode_quantized,
    read_header,
)
from ccodec.errors import (
    CczError,
    ChecksumError,
    CorruptError,
    LimitError,
    NotCczError,
    OptionError,
    TruncatedError,
    UnsupportedError,
)
from ccodec.model import Quantized

# The worked example of formats/ccz.md: black, red, blue; indices [[0, 1], [2, 0]].
EXAMPLE = Quantized(
    np.array([[0, 0, 0], [255, 0, 0], [0, 0, 255]], np.uint8), np.array([[0, 1], [2, 0]], np.uint8)
)
EXAMPLE_HEX = (
    "8943435a0d0a1a0a"  # signature
    "0100"  # version 1.0
    "2800"  # header length 40
    "02000000"
    "02000000"  # width 2, height 2
    "03000000"  # K = 3
    "03"
    "02"
    "00"
    "00"  # RGB, 2 bits per index, zstd, no filter
    "0000"
    "0000"  # required and optional flags
    "0f00000000000000"  # payload length 15
    "000000"
    "ff0000"
    "0000ff"  # palette
    "1c76057d"  # CRC-32 of the 49 bytes above
    "28b52ffd"
    "24"
    "02"  # zstd magic, single segment + checksum, content size 2
    "110000"
    "1080"  # last raw block of 2 bytes: 00 01|pad, 10 00|pad
    "e031d4f4"  # xxhash64 of the content, low 4 bytes
)


def _random(k: int, channels: int, width: int, height: int, seed: int = 0) -> Quantized:
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (k, channels), dtype=np.uint8)
    return Quantized(palette, rng.integers(0, k, (height, width)).astype(np.uint8))


def _patch(data: bytes, fmt: str, offset: int, value: int) -> bytes:
    """`data` with one header field overwritten and the CRC recomputed over the old layout."""
    header = read_header(data)
    crc_at = header.payload_offset - 4
    out = bytearray(data)
    struct.pack_into("<" + fmt, out, offset, value)
    struct.pack_into("<I", out, crc_at, zlib.crc32(out[:crc_at]))
    return bytes(out)


# -- hand-checked bytes --------------------------------------------------------------


def test_example_file_has_the_exact_bytes_of_the_spec():
    assert encode_quantized(EXAMPLE, coding="zstd").hex() == EXAMPLE_HEX


def test_example_header_fields():
    h = read_header(bytes.fromhex(EXAMPLE_HEX))
    assert (h.major, h.minor, h.header_length) == (1, 0, 40)
    assert (h.width, h.height, h.k, h.channels, h.mode, h.bits) == (2, 2, 3, 3, "RGB", 2)
    assert (h.coding_id, h.filter, h.required_flags, h.optional_flags) == (0, 0, 0, 0)
    assert (h.stride, h.raw_size, h.payload_offset, h.payload_length) == (1, 2, 53, 15)
    assert h.file_size == len(EXAMPLE_HEX) // 2 == 68


def test_example_decodes_to_its_image():
    q = decode(bytes.fromhex(EXAMPLE_HEX))
    assert q == EXAMPLE
    assert q.to_array().tolist() == [[[0, 0, 0], [255, 0, 0]], [[0, 0, 255], [0, 0, 0]]]


# -- bit packing ---------------------------------------------------------------------

PACKED = [
    (1, [[1, 0, 1]], [0b1010_0000]),
    (1, [[1] * 9, [0] * 8 + [1]], [0xFF, 0x80, 0x00, 0x80]),
    (2, [[3, 0, 1]], [0b1100_0100]),
    (2, [[1, 2, 3, 0, 2]], [0b0110_1100, 0b1000_0000]),
    (4, [[0xA, 0xB, 0xC]], [0xAB, 0xC0]),
    (4, [[1], [2]], [0x10, 0x20]),
    (8, [[1, 2, 3], [255, 0, 7]], [1, 2, 3, 255, 0, 7]),
]


@pytest.mark.parametrize(("bits", "labels", "packed"), PACKED)
def test_pack_rows_msb_first_rows_byte_aligned(bits, labels, packed):
    assert list(_pack_rows(np.array(labels, np.uint8), bits)) == packed


@pytest.mark.parametrize(("bits", "labels", "packed"), PACKED)
def test_unpack_rows_inverts_pack(bits, labels, packed):
    labels = np.array(labels, np.uint8)
    header = read_header(encode_quantized(Quantized(np.zeros((1 << bits, 1), np.uint8), labels)))
    assert header.bits == bits
    np.testing.assert_array_equal(_unpack_rows(bytes(packed), header), labels)


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_padding_bits_are_ignored(bits):
    labels = np.array([[1, 0, 1], [0, 1, 0]], np.uint8)
    header = read_header(encode_quantized(Quantized(np.zeros((1 << bits, 1), np.uint8), labels)))
    pad = header.stride * 8 - 3 * bits
    raw = bytearray(_pack_rows(labels, bits))
    for row in range(2):
        raw[row * header.stride + header.stride - 1] |= (1 << pad) - 1
    assert raw != _pack_rows(labels, bits)
    np.testing.assert_array_equal(_unpack_rows(bytes(raw), header), labels)


@pytest.mark.parametrize("width", range(1, 18))
@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_pack_unpack_round_trip_at_every_width(bits, width):
    labels = np.random.default_rng(width).integers(0, 1 << bits, (3, width)).astype(np.uint8)
    raw = _pack_rows(labels, bits)
    assert len(raw) == 3 * -(-width * bits // 8)
    header = read_header(encode_quantized(Quantized(np.zeros((1 << bits, 1), np.uint8), labels)))
    np.testing.assert_array_equal(_unpack_rows(raw, header), labels)


# -- round trips ---------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 16, 17, 256])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_round_trip_every_mode_and_k(channels, k):
    q = _random(k, channels, 7, 5, seed=k)
    data = encode_quantized(q)
    header = read_header(data)
    assert header.bits == next(b for b in (1, 2, 4, 8) if k <= 1 << b)
    assert header.k == k and header.channels == channels
    assert decode(data) == q
    assert decode(data).mode == ("L", "LA", "RGB", "RGBA")[channels - 1]


def test_encoding_is_deterministic():
    q = _random(17, 3, 31, 9)
    assert encode_quantized(q) == encode_quantized(q)


@pytest.mark.parametrize(
    "make", [bytes, bytearray, memoryview, lambda d: np.frombuffer(d, np.uint8)]
)
def test_decode_accepts_any_bytes_like(make):
    assert decode(make(encode_quantized(EXAMPLE))) == EXAMPLE


def test_decode_accepts_non_contiguous_memoryview():
    doubled = bytes(b for byte in encode_quantized(EXAMPLE) for b in (byte, 0))
    assert decode(memoryview(doubled)[::2]) == EXAMPLE


@pytest.mark.parametrize("data", ["89CCZ", 5, None, 3.5, [137, 67]])
def test_decode_rejects_non_bytes_with_option_error(data):
    with pytest.raises(OptionError, match="bytes-like"):
        decode(data)
    with pytest.raises(OptionError, match="bytes-like"):
        read_header(data)


def test_decode_rejects_a_released_memoryview():
    view = memoryview(encode_quantized(EXAMPLE))
    view.release()
    with pytest.raises(OptionError, match="cannot be read"):
        decode(view)


# -- truncation at every offset ------------------------------------------------------

RGBA5 = encode_quantized(_random(5, 4, 3, 3))
NEWER = _patch(encode_quantized(_random(2, 1, 9, 2)), "B", 9, 3)


@pytest.mark.parametrize("length", range(1, len(RGBA5)))
def test_truncation_at_every_offset_raises_truncated_error(length):
    with pytest.raises(TruncatedError):
        decode(RGBA5[:length])


@pytest.mark.parametrize("length", range(1, len(NEWER)))
def test_truncation_of_a_newer_minor_file(length):
    with pytest.raises(TruncatedError):
        decode(NEWER[:length])


def test_empty_data_is_not_ccz():
    with pytest.raises(NotCczError, match="empty"):
        decode(b"")


def test_truncation_messages_name_the_part_cut():
    h = read_header(RGBA5)
    for length, part in [(5, "signature"), (11, "header"), (39, "header"), (41, "palette")]:
        with pytest.raises(TruncatedError, match=f"truncated {part}"):
            decode(RGBA5[:length])
    with pytest.raises(TruncatedError, match="truncated CRC-32"):
        decode(RGBA5[: h.payload_offset - 1])
    with pytest.raises(TruncatedError, match="truncated payload"):
        decode(RGBA5[: h.payload_offset + 1])


# -- each validation rule, in order --------------------------------------------------

GOOD = encode_quantized(EXAMPLE, coding="zstd")


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"GIF89a" + GOOD[6:], NotCczError, "not a .ccz file"),
        (GOOD.replace(b"\r\n", b"\n", 1), CorruptError, "damaged .ccz signature"),
        (GOOD[:7], TruncatedError, "truncated signature"),
        (_patch(GOOD, "B", 8, 2), UnsupportedError, "version 2.0"),
        (_patch(GOOD, "H", 10, 12), CorruptError, "header length 12"),
        (_patch(GOOD, "I", 12, 0), CorruptError, "invalid dimensions 0x2"),
        (_patch(GOOD, "I", 16, 1 << 31), CorruptError, "invalid dimensions 2x2147483648"),
        (_patch(GOOD, "B", 24, 7), CorruptError, "channel count 7"),
        (_patch(GOOD, "B", 25, 5), CorruptError, "bits per index 5"),
        (_patch(GOOD, "B", 25, 32), CorruptError, "bits per index 32"),
        (_patch(GOOD, "B", 25, 16), CorruptError, "frame declares 2 bytes, the header implies 8"),
        (_patch(GOOD, "I", 20, 0), CorruptError, "K=0"),
        (_patch(GOOD, "I", 20, 1000), CorruptError, "K=1000 does not fit in 2 bits"),
        (_patch(GOOD, "I", 20, 9), CorruptError, "K=9 does not fit in 2 bits"),
        (_patch(GOOD, "B", 26, 3), UnsupportedError, "unknown payload coding 3"),
        (_patch(GOOD, "B", 27, 255), UnsupportedError, "filter method 255"),
        (_patch(GOOD, "H", 28, 0x8000), UnsupportedError, "required flags 0x8000"),
        (_patch(GOOD, "Q", 32, 13), CorruptError, "payload length 13 is impossible"),
        (_patch(GOOD, "Q", 32, 98), CorruptError, "payload length 98 is impossible"),
        (GOOD[:49] + b"\0\0\0\0" + GOOD[53:], ChecksumError, "CRC-32 mismatch"),
        (GOOD + b"\0\0", CorruptError, "2 trailing bytes"),
        (GOOD[:-1] + bytes([GOOD[-1] ^ 0x80]), ChecksumError, "payload checksum"),
    ],
)
def test_each_rule_raises_its_error(data, error, message):
    with pytest.raises(error, match=message):
        decode(data)


def test_unknown_optional_flags_and_newer_minor_are_accepted():
    assert decode(_patch(GOOD, "H", 30, 0xFFFF)) == EXAMPLE
    assert decode(_patch(GOOD, "B", 9, 255)) == EXAMPLE


def test_extra_header_bytes_are_skipped_and_covered_by_the_crc():
    extra = b"future!!"
    head = bytearray(GOOD[:40] + extra + GOOD[40:49])
    struct.pack_into("<BH", head, 9, 4, 48)
    data = bytes(head) + struct.pack("<I", zlib.crc32(head)) + GOOD[53:]
    assert decode(data) == EXAMPLE
    with pytest.raises(ChecksumError):
        decode(data.replace(extra, b"future??"))


def test_index_at_or_above_k_is_rejected_with_its_position():
    raw = _pack_rows(np.array([[0, 1], [2, 3]], np.uint8), 2)
    payload = zstandard.ZstdCompressor(write_checksum=True).compress(raw)
    with pytest.raises(CorruptError, match=r"index 3 >= K=3 at row 1, column 1"):
        decode(_with_payload(GOOD, payload))


def test_header_rules_run_before_the_palette_is_read():
    # Only the fixed header: the palette and everything after it are missing.
    with pytest.raises(UnsupportedError):
        read_header(_patch(GOOD, "B", 26, 9)[:40])
    with pytest.raises(LimitError):
        decode(_patch(GOOD, "I", 12, 1 << 30)[:40])


# -- limits --------------------------------------------------------------------------


def _peak_memory(function, *args) -> int:
    """Peak bytes traced by tracemalloc (Python, NumPy, zstd output) during the call."""
    tracemalloc.start()
    try:
        function(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _raises(function, *args) -> None:
    with pytest.raises(CczError):
        function(*args)


def test_max_pixels_is_inclusive_and_can_be_raised_or_removed():
    data = encode_quantized(_random(3, 1, 10, 10))
    assert decode(data, max_pixels=100).width == 10
    with pytest.raises(LimitError, match="100 pixels, above the limit of 99"):
        decode(data, max_pixels=99)
    assert decode(data, max_pixels=None).height == 10
    assert DEFAULT_MAX_PIXELS == 89_478_485


def test_huge_dimensions_are_refused_before_any_allocation():
    data = _patch(_patch(GOOD, "I", 12, 100_000), "I", 16, 100_000)
    with pytest.raises(LimitError, match="10,000,000,000 pixels"):
        decode(data)
    assert _peak_memory(_raises, decode, data) < 100_000


def _frame_claiming(content_size: int) -> bytes:
    """A zstd frame whose header declares `content_size`, holding one raw byte."""
    header = struct.pack("<IBQ", 0xFD2FB528, 0b1110_0100, content_size)
    return header + (0b1001).to_bytes(3, "little") + b"\0" + b"\0\0\0\0"


def _with_payload(data: bytes, payload: bytes) -> bytes:
    fixed = _patch(data, "Q", 32, len(payload))
    return fixed[: read_header(fixed).payload_offset] + payload


def test_a_frame_claiming_a_huge_content_size_allocates_nothing():
    # python-zstandard would allocate the declared 4 GiB before decoding.
    data = _with_payload(GOOD, _frame_claiming(4 << 30))
    with pytest.raises(CorruptError, match="frame declares 4294967296 bytes"):
        decode(data)
    assert _peak_memory(_raises, decode, data) < 1 << 20


def test_decode_memory_is_a_small_multiple_of_the_image():
    q = Quantized(np.arange(256, dtype=np.uint8)[:, None], np.zeros((1000, 1000), np.uint8))
    data = encode_quantized(q, level=1)
    assert _peak_memory(decode, data) < 4 * q.width * q.height


def test_all_errors_are_cczerrors():
    for error in (NotCczError, TruncatedError, CorruptError, ChecksumError, LimitError):
        assert issubclass(error, CczError)
    assert issubclass(ccodec.UnsupportedError, ccodec.FormatError)


@pytest.mark.parametrize("limit", [-1, 1.5, "100", True])
def test_max_pixels_must_be_a_non_negative_int_or_none(limit):
    with pytest.raises(OptionError, match="max_pixels"):
        decode(GOOD, max_pixels=limit)


# -- version 1.1: 16-bit indices -----------------------------------------------------


def _wide(k: int, channels: int, width: int, height: int, seed: int = 0) -> Quantized:
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (k, channels), dtype=np.uint8)
    return Quantized(palette, rng.integers(0, k, (height, width)).astype(np.uint16))


def test_16_bit_indices_are_little_endian_pairs():
    q = Quantized(np.zeros((300, 1), np.uint8), np.array([[0x0102, 0x012B, 0]], np.uint16))
    data = encode_quantized(q, coding="zstd")
    header = read_header(data)
    assert (header.major, header.minor, header.bits, header.k) == (1, 1, 16, 300)
    assert (header.stride, header.raw_size) == (6, 6)
    raw = zstandard.ZstdDecompressor().decompress(data[header.payload_offset :])
    assert raw == bytes([0x02, 0x01, 0x2B, 0x01, 0, 0])


@pytest.mark.parametrize("k", [257, 1000, 4096, 65536])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_round_trip_above_256_colours(channels, k):
    q = _wide(k, channels, 37, 11, seed=k)
    data = encode_quantized(q)
    header = read_header(data)
    assert (header.bits, header.k) == (16, k)
    assert header.minor == (2 if header.coding == "context" else 1)
    decoded = decode(data)
    assert decoded == q and decoded.labels.dtype == np.uint16
    np.testing.assert_array_equal(decoded.to_array(), q.palette[q.labels].squeeze())


def test_k_65536_uses_the_last_index():
    labels = np.array([[0, 65535], [65535, 1]], np.uint16)
    q = Quantized(np.zeros((65536, 3), np.uint8), labels)
    assert decode(encode_quantized(q)).labels.tolist() == labels.tolist()


def test_labels_of_k_up_to_256_decode_as_uint8_even_from_uint16_or_16_bits():
    q = Quantized(EXAMPLE.palette, EXAMPLE.labels.astype(np.uint16))
    assert encode_quantized(q, coding="zstd") == GOOD
    wide = _patch(GOOD, "B", 25, 16)  # 16-bit indices for K=3 are valid, if wasteful
    payload = zstandard.ZstdCompressor(write_checksum=True).compress(
        EXAMPLE.labels.astype("<u2").tobytes()
    )
    decoded = decode(_with_payload(wide, payload))
    assert decoded == EXAMPLE and decoded.labels.dtype == np.uint8


def test_16_bit_index_at_or_above_k_is_rejected():
    q = _wide(300, 3, 5, 4)
    data = bytearray(encode_quantized(q, coding="zstd"))
    header = read_header(data)
    labels = q.labels.copy()
    labels[2, 3] = 300
    payload = zstandard.ZstdCompressor(write_checksum=True).compress(labels.astype("<u2").tobytes())
    with pytest.raises(CorruptError, match="index 300 >= K=300 at row 2, column 3"):
        decode(_with_payload(bytes(data[: header.payload_offset]) + b"x" * 14, payload))


@pytest.mark.parametrize(
    ("palette", "labels", "message"),
    [
        (np.zeros((65537, 3), np.uint8), np.zeros((2, 2), np.uint16), "K=65537 should be in"),
        (np.zeros((300, 3), np.uint8), np.full((2, 2), 300, np.uint16), r"lie in 0\.\.299"),
        (np.zeros((3, 3), np.uint8), np.zeros((2, 2), np.float32), "must be integers"),
    ],
)
def test_encode_refuses_bad_images(palette, labels, message):
    with pytest.raises(OptionError, match=message):
        encode_quantized(Quantized(palette, labels))


def test_16_bit_decode_memory_is_a_small_multiple_of_the_image():
    q = Quantized(np.zeros((4096, 1), np.uint8), np.zeros((1000, 1000), np.uint16))
    data = encode_quantized(q, level=1, coding="zstd")
    assert _peak_memory(decode, data) < 6 * q.width * q.height


# -- version 1.1: metadata chunks ----------------------------------------------------

ICC = bytes(range(256)) * 3
INFO = {"icc_profile": ICC, "Title": "astronaut", "Größe": "2×2 ☃", "Empty": ""}


def test_metadata_round_trips_and_marks_the_file_1_1():
    q = Quantized(EXAMPLE.palette, EXAMPLE.labels, info=dict(INFO))
    data = encode_quantized(q, coding="zstd")
    header = read_header(data)
    assert (header.minor, header.optional_flags, header.has_metadata) == (1, 0x0002, True)
    assert header.header_length > 40 + len(ICC)
    decoded = decode(data)
    assert decoded == EXAMPLE and decoded.info == INFO
    assert encode_quantized(decoded, coding="zstd") == data


def test_metadata_chunk_bytes():
    q = Quantized(EXAMPLE.palette, EXAMPLE.labels, info={"icc_profile": b"\1\2", "a": "b"})
    data = encode_quantized(q)
    assert data[40:61] == b"ICCP\2\0\0\0\1\2" + b"TEXT\3\0\0\0a\0b"
    assert struct.unpack_from("<H", data, 10) == (61,)


def test_info_without_storable_entries_gives_the_1_0_bytes():
    info = {"dpi": (72, 72), "exif": b"Exif\0\0", "transparency": 0, "icc_profile": b"", 3: "x"}
    q = Quantized(EXAMPLE.palette, EXAMPLE.labels, info=info)
    assert encode_quantized(q, coding="zstd") == GOOD
    assert decode(GOOD).info == {}


@pytest.mark.parametrize(
    ("info", "message"),
    [
        ({"icc_profile": "not bytes"}, "must be bytes"),
        ({"": "value"}, "keys are non-empty"),
        ({"a\0b": "value"}, "keys are non-empty"),
        ({"key": "\udc80"}, "cannot be stored as UTF-8"),
        ({"icc_profile": bytes(70_000)}, "70,008 bytes; a .ccz header holds at most 65,495"),
        ({f"k{i}": "v" * 100 for i in range(700)}, "at most 65,495"),
    ],
)
def test_metadata_that_cannot_be_stored_is_an_option_error(info, message):
    with pytest.raises(OptionError, match=message):
        encode_quantized(Quantized(EXAMPLE.palette, EXAMPLE.labels, info=info))


def test_the_largest_metadata_fits():
    profile = bytes(ccodec.ccz.MAX_METADATA_BYTES - 8)
    q = Quantized(EXAMPLE.palette, EXAMPLE.labels, info={"icc_profile": profile})
    data = encode_quantized(q)
    assert read_header(data).header_length == 0xFFFF
    assert decode(data).info["icc_profile"] == profile


def test_extension_bytes_without_the_metadata_flag_are_not_parsed():
    extra = b"ICCP\xff\xff\xff\xff"  # would be a chunk overrun if it were read as chunks
    head = bytearray(GOOD[:40] + extra + GOOD[40:49])
    struct.pack_into("<BH", head, 9, 4, 48)
    data = bytes(head) + struct.pack("<I", zlib.crc32(head)) + GOOD[53:]
    assert decode(data).info == {}
    struct.pack_into("<H", head, 30, 0x0002)
    data = bytes(head) + struct.pack("<I", zlib.crc32(head)) + GOOD[53:]
    with pytest.raises(CorruptError, match="claims 4294967295 bytes, 0 are left"):
        decode(data)


# -- payload codings -----------------------------------------------------------------


def test_coding_option_is_checked():
    with pytest.raises(OptionError, match="coding='lzma' should be one of auto, zstd, rans"):
        encode_quantized(EXAMPLE, coding="lzma")


def test_zstd_coding_is_the_1_0_encoding():
    assert encode_quantized(EXAMPLE, coding="zstd") == GOOD
    assert read_header(GOOD).coding == "zstd"


@pytest.mark.parametrize("level", [0, 23, 1.5, True])
def test_level_is_checked(level):
    with pytest.raises(OptionError, match="level="):
        encode_quantized(EXAMPLE, level=level)


def _smooth(k: int, channels: int, width: int, height: int, seed: int = 0) -> Quantized:
    """Bands with 5% noise: neighbours predict most indices, as in a quantized photo."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (k, channels), dtype=np.uint8)
    y, x = np.mgrid[:height, :width]
    labels = (x + 3 * y) // 7 % k
    noise = rng.random(labels.shape) < 0.05
    labels[noise] = rng.integers(0, k, int(noise.sum()))
    return Quantized(palette, labels.astype(np.uint8 if k <= 256 else np.uint16))


@pytest.mark.parametrize(("k", "channels"), [(1, 1), (2, 2), (16, 3), (256, 4), (300, 3)])
def test_rans_coding_round_trips(k, channels):
    q = _smooth(k, channels, 41, 23, seed=k)
    data = encode_quantized(q, coding="rans")
    header = read_header(data)
    assert (header.coding, header.coding_id, header.minor) == ("rans", 1, 1)
    decoded = decode(data)
    assert decoded == q and decoded.labels.dtype == q.labels.dtype


def test_auto_keeps_the_smaller_coding():
    with Image.open(files("ccodec") / "data" / "astronaut.png") as image:
        photo = ccodec.quantize(np.asarray(image.convert("RGB"))[:128, :128], 16)
    sizes = {c: len(encode_quantized(photo, coding=c)) for c in ("zstd", "context", "rans")}
    assert sizes["context"] < sizes["rans"] < sizes["zstd"]
    assert encode_quantized(photo) == encode_quantized(photo, coding="context")
    # Random indices over 256 colours: the bit-packed zstd frame stores them raw.
    noise = Quantized(
        np.zeros((256, 1), np.uint8),
        np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8),
    )
    sizes = {c: len(encode_quantized(noise, coding=c)) for c in ("zstd", "context")}
    assert sizes["zstd"] < sizes["context"]
    assert encode_quantized(noise) == encode_quantized(noise, coding="zstd")


def test_rans_payload_is_the_stream_then_its_crc():
    q = _smooth(6, 3, 30, 20)
    data = encode_quantized(q, coding="rans")
    payload = data[read_header(data).payload_offset :]
    stream = ccodec.rans.encode_labels(q.labels, q.k)
    assert payload == stream + struct.pack("<I", zlib.crc32(stream))
    damaged = data[:-9] + bytes([data[-9] ^ 0x10]) + data[-8:]
    with pytest.raises(ChecksumError, match="rANS payload CRC-32 mismatch"):
        decode(damaged)


RANS = encode_quantized(_smooth(5, 3, 9, 4), coding="rans")


@pytest.mark.parametrize("length", range(1, len(RANS)))
def test_truncation_of_a_rans_file_raises_truncated_error(length):
    with pytest.raises(TruncatedError):
        decode(RANS[:length])


def test_rans_payload_length_is_bounded():
    with pytest.raises(CorruptError, match=r"payload length 4 is impossible .*rans coding: 5\.\."):
        decode(_patch(RANS, "Q", 32, 4))
    with pytest.raises(CorruptError, match="payload length 1099511627776 is impossible"):
        decode(_patch(RANS, "Q", 32, 1 << 40))


def _hex_dumps(text: str) -> list[bytes]:
    """The bytes of every ``00000000: 89 43 ...`` dump in `text`."""
    dumps, current = [], bytearray()
    for line in text.splitlines():
        if line[:9].rstrip(":").isalnum() and line[8:10] == ": " and len(line) > 10:
            current += bytes.fromhex(line[10:58])
        elif current:
            dumps.append(bytes(current))
            current = bytearray()
    return dumps


def test_the_specs_worked_examples_are_what_the_encoder_writes():
    spec = (Path(__file__).resolve().parent.parent / "formats" / "ccz.md").read_text()
    plain, titled = _hex_dumps(spec)[:2]
    assert plain == GOOD
    assert titled == encode_quantized(
        Quantized(EXAMPLE.palette, EXAMPLE.labels, info={"Title": "hi"}), coding="zstd"
    )
    assert decode(titled).info == {"Title": "hi"}


def test_rans_is_refused_above_16384_columns_and_auto_falls_back_to_zstd():
    wide = Quantized(np.zeros((2, 1), np.uint8), np.zeros((1, 16385), np.uint8))
    with pytest.raises(OptionError, match="up to 16,384 pixels wide, not 16,385"):
        encode_quantized(wide, coding="rans")
    assert read_header(encode_quantized(wide)).coding in ("zstd", "context")
    assert decode(encode_quantized(wide, coding="context")) == wide
    narrow = Quantized(wide.palette, np.zeros((1, 16384), np.uint8))
    assert decode(encode_quantized(narrow, coding="rans")) == narrow
    with pytest.raises(UnsupportedError, match="16,385 pixels wide"):
        read_header(_patch(RANS, "I", 12, 16385))


@pytest.mark.parametrize("coding", ["rans", "context"])
def test_a_payload_outside_rule_14_is_never_written(monkeypatch, coding):
    # An encoder gone wrong: auto does not write it, naming the coding refuses.
    monkeypatch.setitem(ccodec.ccz._ENCODERS, coding, lambda labels, palette, bits, level: b"")
    assert read_header(encode_quantized(EXAMPLE)).coding != coding
    with pytest.raises(OptionError, match=f"{coding} coding cannot hold this image"):
        encode_quantized(EXAMPLE, coding=coding)


def _levels_tried(monkeypatch) -> list[int]:
    """Record the zstd levels `encode_quantized` runs."""
    levels: list[int] = []
    encode_zstd = ccodec.ccz._ENCODERS["zstd"]

    def spy(labels, k, bits, level):
        levels.append(level)
        return encode_zstd(labels, k, bits, level)

    monkeypatch.setitem(ccodec.ccz._ENCODERS, "zstd", spy)
    return levels


def test_auto_skips_zstd_19_when_context_is_far_smaller(monkeypatch):
    with Image.open(files("ccodec") / "data" / "astronaut.png") as image:
        q = ccodec.quantize(np.asarray(image.convert("RGB"))[:200, :200], 16)
    levels = _levels_tried(monkeypatch)
    data = encode_quantized(q)
    assert levels == [1]
    assert data == encode_quantized(q, coding="context")


def test_auto_never_writes_rans(monkeypatch):
    calls = []
    monkeypatch.setitem(ccodec.ccz._ENCODERS, "rans", lambda *args: calls.append(args))
    for q in (_smooth(4, 3, 64, 48), _smooth(300, 3, 64, 48), EXAMPLE):
        assert read_header(encode_quantized(q)).coding in ("zstd", "context")
    assert calls == []


@pytest.mark.parametrize("level", [1, 9, 15, 19])
def test_auto_at_any_level_writes_the_smaller_of_what_it_tried(level):
    for q in (_smooth(4, 3, 64, 48), _smooth(64, 3, 64, 48), EXAMPLE):
        data = encode_quantized(q, level=level)
        sizes = [len(encode_quantized(q, level=level, coding=c)) for c in ("zstd", "context")]
        assert len(data) <= max(sizes)
        assert decode(data) == q


def _stripes(period: int, noise_rate: float) -> Quantized:
    """4 colours in diagonal stripes with noise: context and zstd within 10% of each other."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:120, :200]
    labels = (x + 3 * y) // period % 4
    noise = rng.random(labels.shape) < noise_rate
    labels[noise] = rng.integers(0, 4, int(noise.sum()))
    return Quantized(np.arange(12, dtype=np.uint8).reshape(4, 3), labels.astype(np.uint8))


@pytest.mark.parametrize(
    ("period", "noise_rate", "level", "tried", "coding"),
    [
        # context between 0.8x and 1x the level-9 frame and below the level-15 one
        (7, 0.2, 19, [1, 9, 15], "context"),
        (7, 0.2, 15, [1, 9, 15], "context"),
        # context above the level-9 frame: zstd at the level asked for decides
        (3, 0.05, 19, [1, 9, 19], "zstd"),
    ],
)
def test_auto_runs_the_cheaper_zstd_levels_first(
    monkeypatch, period, noise_rate, level, tried, coding
):
    q = _stripes(period, noise_rate)
    levels = _levels_tried(monkeypatch)
    data = encode_quantized(q, level=level)
    assert levels == tried
    assert read_header(data).coding == coding
    assert data == encode_quantized(q, level=level, coding=coding)
