"""Payload coding 2, the adaptive context coder: round trips, and damage always one FormatError."""

from __future__ import annotations

import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ccodec
from ccodec import coder
from ccodec.ccz import Quantized, decode, encode_quantized, read_header
from ccodec.errors import ChecksumError, CorruptError, FormatError, OptionError


def _image(k: int, channels: int, height: int, width: int, kind: str, seed: int = 0) -> Quantized:
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (k, channels), dtype=np.uint8)
    if kind == "random":
        labels = rng.integers(0, k, (height, width))
    else:  # diagonal bands with 5% noise, as a quantized photo's neighbours predict most indices
        y, x = np.mgrid[:height, :width]
        labels = (x + 3 * y) // 5 % k
        noise = rng.random(labels.shape) < 0.05
        labels[noise] = rng.integers(0, k, int(noise.sum()))
    return Quantized(palette, labels.astype(np.uint8 if k <= 256 else np.uint16))


@pytest.mark.parametrize("k", [1, 2, 3, 16, 255, 256, 257, 4096, 65536])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("kind", ["random", "structured"])
def test_every_mode_and_k_round_trips(k, channels, kind):
    q = _image(k, channels, 23, 37, kind, seed=k)
    data = encode_quantized(q, coding="context")
    header = read_header(data)
    assert (header.coding, header.coding_id, header.minor) == ("context", 2, 2)
    decoded = decode(data)
    assert decoded == q
    assert decoded.labels.dtype == (np.uint8 if k <= 256 else np.uint16)


@pytest.mark.parametrize("shape", [(1, 1), (1, 57), (57, 1), (2, 2), (3, 70)])
@pytest.mark.parametrize("k", [1, 5, 256, 300])
def test_small_shapes_round_trip(shape, k):
    for kind in ("random", "structured"):
        q = _image(k, 3, *shape, kind)
        assert decode(encode_quantized(q, coding="context")) == q


def test_the_whole_palette_range_of_16_bit_indices_round_trips():
    labels = np.array([[0, 65535, 256], [65535, 1, 65280]], np.uint16)
    q = Quantized(np.zeros((65536, 1), np.uint8), labels)
    assert decode(encode_quantized(q, coding="context")).labels.tolist() == labels.tolist()


def test_duplicate_palette_colours_round_trip():
    # Ties in the distance order are broken by index, on both sides.
    q = _image(16, 3, 20, 20, "random")
    palette = q.palette.copy()
    palette[8:] = palette[:8]
    q = Quantized(palette, q.labels)
    assert decode(encode_quantized(q, coding="context")) == q


def test_decode_gives_the_labels_of_a_quantized_photo():
    with ccodec.open_image(ccodec.__path__[0] + "/data/astronaut.png") as image:
        pixels = ccodec.to_pixels(image)[:96, :96]
    q = ccodec.quantize(pixels, 64, seed=0)
    data = encode_quantized(q)
    assert read_header(data).coding == "context"
    assert np.array_equal(decode(data).labels, q.labels)
    assert np.array_equal(
        coder.decode_labels(coder.encode_labels(q.labels, q.palette), 96, 96, q.palette), q.labels
    )


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 300),
    st.integers(1, 4),
    st.integers(1, 12),
    st.integers(1, 12),
    st.integers(0, 2**32 - 1),
)
def test_any_labels_round_trip(k, channels, height, width, seed):
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (k, channels), dtype=np.uint8)
    levels = rng.integers(1, k + 1)  # few distinct indices, or all of them
    labels = rng.integers(0, levels, (height, width)).astype(np.uint8 if k <= 256 else np.uint16)
    stream = coder.encode_labels(labels, palette)
    assert len(stream) <= coder.max_stream_size(height * width)
    assert np.array_equal(coder.decode_labels(stream, width, height, palette), labels)


SMALL = encode_quantized(_image(6, 4, 5, 7, "structured"), coding="context")


@pytest.mark.parametrize("length", range(len(SMALL)))
def test_every_truncation_raises_a_format_error(length):
    with pytest.raises(FormatError):
        decode(SMALL[:length])


def test_random_byte_flips_raise_a_format_error_or_decode():
    rng = np.random.default_rng(1)
    for _ in range(400):
        data = bytearray(SMALL)
        for at in rng.integers(0, len(data), rng.integers(1, 4)):
            data[at] ^= int(rng.integers(1, 256))
        try:
            q = decode(bytes(data))
        except FormatError:
            continue
        assert q.labels.max() < q.k  # an ignored field (optional flags, minor version)


def _with_stream(data: bytes, stream: bytes) -> bytes:
    """`data` with its payload replaced by `stream` and the stream's right CRC-32."""
    header = read_header(data)
    payload = stream + struct.pack("<I", zlib.crc32(stream))
    head = bytearray(data[: header.payload_offset])
    struct.pack_into("<Q", head, 32, len(payload))
    struct.pack_into("<I", head, len(head) - 4, zlib.crc32(head[:-4]))
    return bytes(head) + payload


def _stream_of(data: bytes) -> bytes:
    return data[read_header(data).payload_offset : -4]


def test_a_stream_with_a_byte_left_over_is_corrupt():
    with pytest.raises(CorruptError, match="consumed"):
        decode(_with_stream(SMALL, _stream_of(SMALL) + b"\0"))


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_a_stream_cut_short_is_corrupt_even_with_its_crc(cut):
    stream = _stream_of(SMALL)
    with pytest.raises(CorruptError) as caught:
        decode(_with_stream(SMALL, stream[:-cut]))
    assert not isinstance(caught.value, ChecksumError)


def test_a_damaged_stream_is_caught_by_its_crc():
    data = bytearray(SMALL)
    data[-6] ^= 0x40
    with pytest.raises(ChecksumError, match="context payload CRC-32 mismatch"):
        decode(bytes(data))


@pytest.mark.parametrize("k", [3, 16, 256, 300, 65536])
def test_random_streams_raise_corrupt_error_or_decode_below_k(k):
    # Past the CRC: whatever the bytes, one CorruptError or indices below K, never a crash.
    base = encode_quantized(_image(k, 3, 9, 11, "random"), coding="context")
    rng = np.random.default_rng(k)
    for size in list(range(4, 40)) + [200, 1000]:
        stream = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        try:
            q = decode(_with_stream(base, stream))
        except ChecksumError:
            raise
        except CorruptError:
            continue
        assert q.labels.shape == (9, 11) and q.labels.max() < k


def test_payload_length_is_bounded_before_anything_is_read():
    header = bytearray(SMALL[:40])
    for length in (7, coder.max_stream_size(35) + 5):
        struct.pack_into("<Q", header, 32, length)
        with pytest.raises(CorruptError, match="impossible .*context coding"):
            read_header(bytes(header))


def test_a_1_1_decoder_would_refuse_it_as_unsupported():
    # A 1.1 decoder knows codings 0 and 1 only: rule 10, UnsupportedError, before the payload.
    assert SMALL[26] == 2 and SMALL[9] == 2


@pytest.mark.parametrize("labels", [np.array([[0, 3]]), np.array([[-1, 0]]), np.zeros((0, 3))])
def test_the_encoder_refuses_labels_it_cannot_index_tables_with(labels):
    with pytest.raises(OptionError):
        coder.encode_labels(labels, np.zeros((3, 3), np.uint8))


def test_decode_memory_is_the_index_array():
    y, x = np.mgrid[:1000, :1000]
    q = Quantized(np.zeros((16, 3), np.uint8), ((x + 3 * y) // 7 % 16).astype(np.uint8))
    data = encode_quantized(q, coding="context")
    tracemalloc.start()
    decode(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < q.width * q.height + (512 << 10)  # the index array, and tables from K alone


def test_the_compiled_loops_refuse_tables_smaller_than_they_index():
    # coder.py always sizes them right; a wrong caller must get an error, not memory damage.
    from ccodec import _core

    palette = np.array([[0], [255]], np.uint8)
    labels = np.zeros((2, 3), np.uint8)
    stream = coder.encode_labels(labels, palette)
    order, position, prob, count = coder._tables(palette)
    view = np.frombuffer(stream, np.uint8)
    out = np.empty((2, 3), np.uint8)
    with pytest.raises(ValueError, match="escape rows"):
        _core.context_decode(view, out, 2, order, position, prob, count, np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match="probability tables"):
        _core.context_decode(view, out, 2, order, position, prob[:10], count, np.zeros(6, np.uint8))
    with pytest.raises(ValueError, match="distance tables"):
        _core.context_encode(labels, 2, order[:1], position, prob, count)
