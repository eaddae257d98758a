"""Properties: any image round-trips exactly; no damaged file raises anything but CczError."""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import numpy as np
import zstandard
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from ccodec.ccz import HEADER_SIZE, SIGNATURE, decode, encode_quantized, read_header
from ccodec.errors import CczError
from ccodec.model import Quantized

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# (offset, struct format) of every header field after the signature.
FIELDS = [
    (8, "B"),  # major
    (9, "B"),  # minor
    (10, "H"),  # header length
    (12, "I"),  # width
    (16, "I"),  # height
    (20, "I"),  # K
    (24, "B"),  # channels
    (25, "B"),  # bits per index
    (26, "B"),  # compression
    (27, "B"),  # filter
    (28, "H"),  # required flags
    (30, "H"),  # optional flags
    (32, "Q"),  # payload length
]


@st.composite
def quantized(draw: st.DrawFn, max_side: int = 24) -> Quantized:
    k = draw(st.one_of(st.integers(1, 256), st.integers(257, 65536)))
    channels = draw(st.integers(1, 4))
    width = draw(st.integers(1, max_side))
    height = draw(st.integers(1, max_side))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (k, channels), dtype=np.uint8)
    # Skewed labels as well as uniform ones, so that zstd compresses some.
    high = draw(st.sampled_from([1, 2, k]))
    labels = rng.integers(0, min(high, k), (height, width))
    info = draw(st.one_of(st.just({}), metadata()))
    return Quantized(palette, labels.astype(np.uint8 if k <= 256 else np.uint16), info=info)


def metadata() -> st.SearchStrategy[dict]:
    text = st.dictionaries(
        st.text(st.characters(exclude_characters="\0", codec="utf-8"), min_size=1, max_size=8),
        st.text(st.characters(codec="utf-8"), max_size=16),
        max_size=3,
    ).map(lambda d: {key: value for key, value in d.items() if key != "icc_profile"})
    icc = st.one_of(
        st.just({}), st.binary(min_size=1, max_size=64).map(lambda b: {"icc_profile": b})
    )
    return st.builds(lambda a, b: a | b, icc, text)


codings = st.sampled_from(["zstd", "rans"])


def _decode_or_none(data: bytes) -> Quantized | None:
    """Decode, or None on a CczError; any other exception fails the test."""
    try:
        q = decode(data)
    except CczError as exc:
        event(type(exc).__name__)
        return None
    event("decoded")
    assert decode(encode_quantized(q)) == q
    return q


def _fix_crc(data: bytearray) -> None:
    """Recompute the CRC where the (possibly edited) header says it is, if it fits."""
    if len(data) < HEADER_SIZE:
        return
    header_length, k, channels = (
        struct.unpack_from("<H", data, 10)[0],
        *struct.unpack_from("<IB", data, 20),
    )
    crc_at = header_length + k * channels
    if crc_at + 4 <= len(data):
        struct.pack_into("<I", data, crc_at, zlib.crc32(data[:crc_at]))


@SETTINGS
@given(quantized(max_side=40), st.integers(1, 22))
def test_auto_writes_what_one_coding_alone_writes_at_the_same_level(q, level):
    # Its trials at cheaper zstd levels only decide; a zstd frame written is at `level`.
    data = encode_quantized(q, level=level)
    assert data in (
        encode_quantized(q, level=level, coding="zstd"),
        encode_quantized(q, level=level, coding="context"),
    )


@SETTINGS
@given(quantized(max_side=40), st.sampled_from(["auto", "zstd", "rans", "context"]))
def test_any_image_round_trips_exactly(q, coding):
    data = encode_quantized(q, coding=coding)
    header = read_header(data)
    assert (header.width, header.height, header.k, header.channels) == (
        q.width,
        q.height,
        q.k,
        q.channels,
    )
    assert header.bits == next(b for b in (1, 2, 4, 8, 16) if q.k <= 1 << b)
    if header.coding_id == 2:
        assert header.minor == 2
    else:
        assert header.minor == (header.bits == 16 or header.coding_id == 1 or bool(q.info))
    assert len(data) == header.file_size
    decoded = decode(data)
    assert decoded == q and decoded.info == q.info
    assert decoded.labels.dtype == (np.uint8 if q.k <= 256 else np.uint16)
    assert decode(bytearray(data)) == q


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(st.just("set"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 8)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
)


def _mutate(data: bytes, steps: list[tuple]) -> bytes:
    out = bytearray(data)
    for kind, position, arg in steps:
        at = position % (len(out) + 1)
        if kind == "flip" and at < len(out):
            out[at] ^= 1 << arg
        elif kind == "set" and at < len(out):
            out[at] = arg
        elif kind == "insert":
            out[at:at] = arg
        elif kind == "delete":
            del out[at : at + arg]
        elif kind == "truncate":
            del out[at:]
    return bytes(out)


@SETTINGS
@given(quantized(), codings, st.lists(mutation, min_size=1, max_size=4), st.booleans())
def test_mutated_files_raise_only_ccz_errors(q, coding, steps, fix_crc):
    data = bytearray(_mutate(encode_quantized(q, coding=coding), steps))
    if fix_crc:
        _fix_crc(data)
    _decode_or_none(bytes(data))


interesting = {
    "B": st.sampled_from([0, 1, 2, 3, 4, 5, 8, 16, 127, 128, 255]),
    "H": st.sampled_from([0, 1, 39, 40, 41, 48, 255, 0x8000, 0xFFFF]),
    "I": st.sampled_from([0, 1, 2, 255, 256, 257, 2**16, 2**31 - 1, 2**31, 2**32 - 1]),
    "Q": st.sampled_from([0, 1, 13, 14, 100, 2**32, 2**63, 2**64 - 1]),
}


@st.composite
def field_value(draw: st.DrawFn) -> tuple[int, str, int]:
    offset, fmt = draw(st.sampled_from(FIELDS))
    size = struct.calcsize(fmt)
    value = draw(st.one_of(interesting[fmt], st.integers(0, 256**size - 1)))
    return offset, fmt, value


@SETTINGS
@given(quantized(), codings, st.lists(field_value(), min_size=1, max_size=3))
def test_overwritten_header_fields_raise_only_ccz_errors(q, coding, edits):
    data = bytearray(encode_quantized(q, coding=coding))
    for offset, fmt, value in edits:
        struct.pack_into("<" + fmt, data, offset, value)
    # With the CRC right again the decoder reaches the rules past the checksum.
    _fix_crc(data)
    _decode_or_none(bytes(data))


@SETTINGS
@given(quantized(max_side=12), st.data())
def test_any_payload_content_decodes_or_reports_a_bad_index(q, data):
    """Random packed indices (any padding bits, any index values) under a valid frame."""
    good = encode_quantized(q, coding="zstd")
    header = read_header(good)
    raw = data.draw(st.binary(min_size=header.raw_size, max_size=header.raw_size))
    payload = zstandard.ZstdCompressor(write_checksum=True).compress(raw)
    head = bytearray(good[: header.payload_offset])
    struct.pack_into("<Q", head, 32, len(payload))
    _fix_crc(head)
    decoded = _decode_or_none(bytes(head) + payload)
    bits = header.bits
    if bits == 16:
        expected = np.frombuffer(raw, "<u2").reshape(header.height, header.width)
    else:
        rows = np.unpackbits(np.frombuffer(raw, np.uint8)).reshape(header.height, -1)
        columns = rows[:, : header.width * bits].reshape(header.height, header.width, bits)
        expected = (columns * (1 << np.arange(bits - 1, -1, -1))).sum(axis=2)
    if decoded is None:
        assert expected.max() >= header.k
    else:
        np.testing.assert_array_equal(decoded.labels, expected)
        np.testing.assert_array_equal(decoded.palette, q.palette)


@settings(max_examples=100, deadline=None)
@given(quantized(max_side=8), codings, st.lists(mutation, min_size=1, max_size=3))
def test_pillow_raises_only_oserror_on_damaged_files(q, coding, steps):
    data = _mutate(encode_quantized(q, coding=coding), steps)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.load()
    except (OSError, Image.DecompressionBombError):
        pass


@SETTINGS
@given(
    st.one_of(st.binary(max_size=200), st.binary(max_size=200).map(SIGNATURE.__add__)),
    st.sampled_from([bytes, bytearray, memoryview]),
)
def test_arbitrary_bytes_raise_only_ccz_errors(data, kind):
    _decode_or_none(kind(data))


@SETTINGS
@given(quantized(max_side=12), st.data())
def test_any_rans_stream_under_a_valid_crc_raises_only_ccz_errors(q, data):
    """Mutations inside the rANS stream, with the payload CRC made right again."""
    good = encode_quantized(q, coding="rans")
    header = read_header(good)
    stream = good[header.payload_offset : -4]
    steps = data.draw(st.lists(mutation, min_size=1, max_size=3))
    mutated = _mutate(stream, steps)
    payload = mutated + struct.pack("<I", zlib.crc32(mutated))
    head = bytearray(good[: header.payload_offset])
    struct.pack_into("<Q", head, 32, len(payload))
    _fix_crc(head)
    _decode_or_none(bytes(head) + payload)


@SETTINGS
@given(
    quantized(max_side=4),
    st.lists(st.tuples(st.binary(min_size=4, max_size=4), st.binary(max_size=40)), max_size=4),
    st.binary(max_size=12),
)
def test_any_metadata_chunks_raise_only_ccz_errors(q, chunks, tail):
    """Arbitrary chunk types, lengths and contents in the header extension."""
    good = encode_quantized(Quantized(q.palette, q.labels), coding="zstd")
    extension = b"".join(struct.pack("<4sI", kind, len(body)) + body for kind, body in chunks)
    extension += tail
    head = bytearray(good[:HEADER_SIZE])
    struct.pack_into("<BH", head, 9, 1, HEADER_SIZE + len(extension))
    struct.pack_into("<H", head, 30, 0x0002)
    checked = bytes(head) + extension + good[HEADER_SIZE : read_header(good).payload_offset - 4]
    data = (
        checked + struct.pack("<I", zlib.crc32(checked)) + good[read_header(good).payload_offset :]
    )
    decoded = _decode_or_none(data)
    if decoded is not None:
        assert decoded == q
