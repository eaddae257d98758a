"""rANS label coding: round trips, determinism, and untrusted payloads."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccodec import rans
from ccodec.errors import CczError, CorruptError, OptionError, TruncatedError
from ccodec.rans import _encode, decode_labels, encode_labels

# Payload prefix: model version (1 byte), band height (4), table frame length (4).
_PREFIX = struct.Struct("<BII")


def _labels(height: int, width: int, k: int, seed: int = 0, runs: float = 0.0) -> np.ndarray:
    """Random labels; with `runs` > 0 that share of pixels repeats its left neighbour."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, (height, width))
    if runs:
        repeat = rng.random((height, width)) < runs
        for c in range(1, width):
            labels[:, c] = np.where(repeat[:, c], labels[:, c - 1], labels[:, c])
    return labels.astype(np.uint8 if k <= 256 else np.uint16)


def _round_trip(labels: np.ndarray, k: int) -> np.ndarray:
    height, width = labels.shape
    return decode_labels(encode_labels(labels, k), width, height, k)


def _parts(payload: bytes) -> tuple[int, int, bytes]:
    """Band height, table frame and the rest of a payload."""
    _, band, length = _PREFIX.unpack_from(payload)
    return band, length, payload[_PREFIX.size + length :]


@pytest.mark.parametrize(
    ("height", "width", "k"),
    [
        (1, 1, 1),
        (1, 1, 2),
        (1, 9, 3),
        (9, 1, 3),
        (5, 7, 2),
        (13, 17, 256),
        (9, 11, 257),
        (6, 5, 4096),
        (4, 6, 65536),
        (3, 40, 16),
        (40, 3, 16),
        (201, 131, 16),
    ],
)
def test_random_round_trip(height: int, width: int, k: int) -> None:
    labels = _labels(height, width, k, runs=0.5)
    decoded = _round_trip(labels, k)
    assert decoded.dtype == (np.uint8 if k <= 256 else np.uint16)
    np.testing.assert_array_equal(decoded, labels)


@pytest.mark.parametrize("k", [1, 2, 256, 257, 4096, 65536])
def test_constant_image_round_trip_and_is_small(k: int) -> None:
    labels = np.full((64, 80), k - 1, np.uint8 if k <= 256 else np.uint16)
    payload = encode_labels(labels, k)
    np.testing.assert_array_equal(decode_labels(payload, 80, 64, k), labels)
    band, length, rest = _parts(payload)
    # Every pixel but the first repeats a neighbour: the states and the table
    # are almost all there is.
    assert len(rest) <= 4 * 64 + 8


def test_every_index_of_a_large_palette_round_trips() -> None:
    labels = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    np.testing.assert_array_equal(_round_trip(labels, 65536), labels)


@pytest.mark.parametrize("band", [1, 2, 3, 7, 16, 17])
def test_any_band_height_round_trips(band: int) -> None:
    labels = _labels(17, 23, 5, seed=band, runs=0.6)
    payload = _encode(labels.astype(np.int64), 5, band)
    assert _parts(payload)[0] == band
    np.testing.assert_array_equal(decode_labels(payload, 23, 17, 5), labels)


def test_smooth_image_codes_below_bit_packing() -> None:
    # Vertical stripes: every pixel equals its upper neighbour.
    labels = np.tile(np.arange(64, dtype=np.uint8) // 4, (64, 1))
    assert len(encode_labels(labels, 16)) < 64 * 64 // 2 // 4


def test_deterministic() -> None:
    labels = _labels(31, 47, 37, runs=0.5)
    assert encode_labels(labels, 37) == encode_labels(labels.copy(), 37)
    assert encode_labels(labels, 37) == encode_labels(labels.astype(np.int32), 37)


def test_accepts_bytearray_and_memoryview() -> None:
    labels = _labels(5, 6, 4, runs=0.5)
    payload = encode_labels(labels, 4)
    for data in (bytearray(payload), memoryview(payload)):
        np.testing.assert_array_equal(decode_labels(data, 6, 5, 4), labels)


@pytest.mark.parametrize(
    ("labels", "k", "message"),
    [
        (np.array([[4]], np.uint8), 4, "0..3"),
        (np.zeros((0, 3), np.uint8), 4, "non-empty"),
        (np.zeros(3, np.uint8), 4, r"\(H, W\)"),
        (np.zeros((1, 1), np.float32), 4, "integers"),
        (np.zeros((1, 1), np.uint8), 0, "k=0"),
        (np.zeros((1, 1), np.uint8), 65537, "k=65537"),
    ],
)
def test_encode_options_refused(labels: np.ndarray, k: int, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        encode_labels(labels, k)


@pytest.mark.parametrize(
    ("width", "height", "k"), [(0, 1, 2), (1, 0, 2), (1, 1, 0), (1, 1, 65537), (1.5, 1, 2)]
)
def test_decode_options_refused(width, height, k) -> None:
    with pytest.raises(OptionError):
        decode_labels(b"\x00" * 16, width, height, k)


# -- payloads that lie ---------------------------------------------------------------


def _payload(k: int = 4) -> bytes:
    return encode_labels(_labels(8, 8, k, runs=0.5), k)


def test_truncated_prefix() -> None:
    with pytest.raises(TruncatedError, match="need 9"):
        decode_labels(_payload()[:5], 8, 8, 4)


def test_unknown_model_version() -> None:
    payload = bytearray(_payload())
    payload[0] = 1
    with pytest.raises(CorruptError, match="model version 1"):
        decode_labels(bytes(payload), 8, 8, 4)


@pytest.mark.parametrize("band", [0, 9, 1 << 31])
def test_band_height_out_of_range(band: int) -> None:
    payload = bytearray(_payload())
    struct.pack_into("<I", payload, 1, band)
    with pytest.raises(CorruptError, match="band height"):
        decode_labels(bytes(payload), 8, 8, 4)


def test_table_length_beyond_payload() -> None:
    payload = bytearray(_payload())
    struct.pack_into("<I", payload, 5, 0xFFFFFFFF)
    with pytest.raises(TruncatedError, match="tables and states need"):
        decode_labels(bytes(payload), 8, 8, 4)


def _with_table(payload: bytes, frame: bytes) -> bytes:
    band, length, rest = _parts(payload)
    return _PREFIX.pack(0, band, len(frame)) + frame + rest


def test_table_declaring_a_huge_size_refused_before_decompressing() -> None:
    # Frame header descriptor 0xE0: single segment, an 8-byte content size
    # follows, here 2**40; refused from the frame header alone.
    forged = bytes([0x28, 0xB5, 0x2F, 0xFD, 0xE0]) + (1 << 40).to_bytes(8, "little") + b"\x01"
    with pytest.raises(CorruptError, match=f"declares {1 << 40} bytes"):
        decode_labels(_with_table(_payload(), forged), 8, 8, 4)


def test_table_of_the_wrong_size() -> None:
    frame = zstandard.ZstdCompressor(write_content_size=True).compress(b"\x00" * 100)
    with pytest.raises(CorruptError, match="declares 100 bytes"):
        decode_labels(_with_table(_payload(), frame), 8, 8, 4)


def test_table_without_a_declared_size() -> None:
    frame = zstandard.ZstdCompressor(write_content_size=False).compress(b"\x00" * 1296)
    with pytest.raises(CorruptError, match="frequency table"):
        decode_labels(_with_table(_payload(), frame), 8, 8, 4)


def test_table_that_is_not_zstd() -> None:
    with pytest.raises(CorruptError, match="not a zstd frame"):
        decode_labels(_with_table(_payload(), b"\x00" * 20), 8, 8, 4)


def test_table_weighting_indices_beyond_k() -> None:
    k = 300  # high bytes 0-1; low bytes 44-255 of high byte 1 do not exist
    payload = encode_labels(_labels(6, 6, k), k)
    _, length, _ = _parts(payload)
    frame = bytes(payload[_PREFIX.size : _PREFIX.size + length])
    codes = bytearray(zstandard.ZstdDecompressor().decompress(frame))
    codes[-1] = 5  # weight of index 511
    forged = zstandard.ZstdCompressor(write_content_size=True).compress(bytes(codes))
    with pytest.raises(CorruptError, match=">= K=300"):
        decode_labels(_with_table(payload, forged), 6, 6, k)


def test_state_below_the_rans_range() -> None:
    payload = bytearray(_payload())
    _, length, _ = _parts(bytes(payload))
    struct.pack_into("<I", payload, _PREFIX.size + length, 5)
    with pytest.raises(CorruptError, match="state of row 0"):
        decode_labels(bytes(payload), 8, 8, 4)


def test_odd_word_stream() -> None:
    with pytest.raises(CorruptError, match="odd number"):
        decode_labels(_payload() + b"\x00", 8, 8, 4)


def test_extra_words_refused() -> None:
    with pytest.raises(CorruptError, match="left over"):
        decode_labels(_payload() + b"\x00\x00", 8, 8, 4)


def test_wrong_dimensions_refused() -> None:
    payload = _payload()
    with pytest.raises(CczError):
        decode_labels(payload, 9, 8, 4)


# -- properties ----------------------------------------------------------------------

_SHAPES = st.tuples(st.integers(1, 12), st.integers(1, 12))
_KS = st.sampled_from([1, 2, 3, 5, 16, 256, 257, 1000, 65536])


@settings(max_examples=60, deadline=None)
@given(shape=_SHAPES, k=_KS, seed=st.integers(0, 2**16), runs=st.floats(0, 1))
def test_round_trip_property(shape, k: int, seed: int, runs: float) -> None:
    labels = _labels(*shape, k, seed=seed, runs=runs)
    np.testing.assert_array_equal(_round_trip(labels, k), labels)


def _decodes_or_raises_cczerror(payload: bytes, width: int, height: int, k: int) -> None:
    try:
        labels = decode_labels(payload, width, height, k)
    except CczError:
        return
    assert labels.shape == (height, width)
    assert labels.dtype == (np.uint8 if k <= 256 else np.uint16)
    assert int(labels.max()) < k


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(k=_KS, seed=st.integers(0, 2**16), data=st.data())
def test_mutated_payload_raises_only_cczerror(k: int, seed: int, data) -> None:
    labels = _labels(7, 9, k, seed=seed, runs=0.6)
    payload = bytearray(encode_labels(labels, k))
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.integers(0, len(payload) - 1))
        payload[where] = data.draw(st.integers(0, 255))
    _decodes_or_raises_cczerror(bytes(payload), 9, 7, k)


@settings(max_examples=60, deadline=None)
@given(k=_KS, seed=st.integers(0, 2**16), data=st.data())
def test_truncated_payload_raises_only_cczerror(k: int, seed: int, data) -> None:
    payload = encode_labels(_labels(6, 5, k, seed=seed, runs=0.6), k)
    cut = data.draw(st.integers(0, len(payload) - 1))
    with pytest.raises(CczError):
        decode_labels(payload[:cut], 5, 6, k)


@settings(max_examples=100, deadline=None)
@given(
    payload=st.binary(max_size=200),
    width=st.integers(1, 20),
    height=st.integers(1, 20),
    k=_KS,
)
def test_arbitrary_bytes_raise_only_cczerror(payload: bytes, width, height, k) -> None:
    _decodes_or_raises_cczerror(payload, width, height, k)


def test_band_taller_than_the_width_allows_is_refused() -> None:
    # One pixel wide, 300 tall: the default band is 60 rows; a hostile file
    # declaring one band of 300 would make decoding take W + 2B steps.
    labels = _labels(300, 1, 3, seed=1, runs=0.5)
    payload = bytearray(encode_labels(labels, 3))
    assert decode_labels(bytes(payload), 1, 300, 3).tolist() == labels.tolist()
    struct.pack_into("<I", payload, 1, 300)
    with pytest.raises(CorruptError, match=r"band height 300 is not in 1\.\.128"):
        decode_labels(bytes(payload), 1, 300, 3)


@pytest.mark.parametrize(("width", "height"), [(1, 1000), (64, 5000), (1000, 777), (16384, 9000)])
def test_the_default_band_is_within_the_bound(width: int, height: int) -> None:
    assert 1 <= rans._default_band(width, height) <= rans.max_band(width, height)


def test_budget_below_the_estimate_gives_none_and_a_sufficient_one_the_payload() -> None:
    labels = _labels(64, 80, 12, runs=0.8)
    payload = encode_labels(labels, 12)
    assert encode_labels(labels, 12, budget=len(payload)) == payload
    assert encode_labels(labels, 12, budget=len(payload) // 4) is None


def test_the_encoders_float_division_is_exact() -> None:
    # floor(x * r) must be x // f for every frequency and every state below 2**32,
    # exact multiples (where a rounding down would lose one) and their neighbours.
    table = rans._encode_table(np.arange(1, rans.PROB_SCALE + 1)[None, :])
    f = np.arange(1, rans.PROB_SCALE + 1, dtype=np.int64)
    for top in (1, 2, 3, 1 << 10, (1 << 32) // f):
        n = np.minimum(top, ((1 << 32) - 1) // f)
        for x in (n * f, n * f - 1, n * f + 1):
            x = np.minimum(x, (1 << 32) - 1)
            np.testing.assert_array_equal(np.floor(x * table[0]).astype(np.int64), x // f)
