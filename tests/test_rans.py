"""rANS label coding: round trips, determinism, and untrusted payloads."""

from __future__ import annotations

import numpy as np
import pytest

from ccodec.errors import CczError, CorruptError, OptionError, TruncatedError
from ccodec.rans import decode_labels, encode_labels


def _labels(height: int, width: int, k: int, seed: int = 0) -> np.ndarray:
    dtype = np.uint8 if k <= 256 else np.uint16
    return np.random.default_rng(seed).integers(0, k, (height, width)).astype(dtype)


def _round_trip(labels: np.ndarray, k: int) -> np.ndarray:
    height, width = labels.shape
    return decode_labels(encode_labels(labels, k), width, height, k)


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
    ],
)
def test_random_round_trip(height: int, width: int, k: int) -> None:
    labels = _labels(height, width, k)
    decoded = _round_trip(labels, k)
    assert decoded.dtype == (np.uint8 if k <= 256 else np.uint16)
    np.testing.assert_array_equal(decoded, labels)


def test_invalid_payload_raises_corrupt() -> None:
    payload = bytearray(encode_labels(_labels(8, 8, 4), 4))
    payload[-1] ^= 0xFF
    with pytest.raises(CczError):
        decode_labels(bytes(payload), 8, 8, 4)


def test_truncated_payload() -> None:
    payload = encode_labels(_labels(8, 8, 4), 4)
    with pytest.raises(TruncatedError):
        decode_labels(payload[:3], 8, 8, 4)
    with pytest.raises((TruncatedError, CorruptError)):
        decode_labels(payload[:-2], 8, 8, 4)


def test_labels_out_of_range_refused() -> None:
    with pytest.raises(OptionError, match="0..3"):
        encode_labels(np.array([[4]], np.uint8), 4)
