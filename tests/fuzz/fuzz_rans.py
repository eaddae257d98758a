"""atheris harness: no payload may make `ccodec.rans.decode_labels` raise anything but `CczError`.

Each input is used two ways:

* raw: the first 4 bytes choose width (1-64), height (1-64) and K (1-300, or
  a 16-bit K), the rest is the payload, decoded as it is;
* mutated: the input seeds a small label map, which is encoded (the round
  trip must give it back exactly), then the payload is damaged at a place and
  in a way the input chooses (a byte changed, cut short, a size field
  rewritten), so that the fuzzer reaches the table and stream checks behind
  the prefix rather than stopping at it.

A decode that succeeds must return an array of the stated shape and dtype
with every index below K.

    pip install atheris
    python tests/fuzz/fuzz_rans.py /tmp/rans-corpus -max_total_time=600 -rss_limit_mb=2048

Like fuzz_decode.py it is run by hand, never collected by pytest. The
directory collects new inputs (keep it out of the repository). A finding
is saved as ``crash-<hash>``; replay it with
``python tests/fuzz/fuzz_rans.py crash-<hash>``.
"""

from __future__ import annotations

import struct
import sys

import atheris

with atheris.instrument_imports():
    import numpy as np

    from ccodec.errors import CczError
    from ccodec.rans import decode_labels, encode_labels

_KS = (1, 2, 3, 4, 16, 255, 256, 257, 300, 4096, 65536)


def _check(payload: bytes, width: int, height: int, k: int) -> np.ndarray | None:
    try:
        labels = decode_labels(payload, width, height, k)
    except CczError:
        return None
    if labels.shape != (height, width):
        raise AssertionError(f"decoded shape {labels.shape}, expected {(height, width)}")
    if labels.dtype != (np.uint8 if k <= 256 else np.uint16):
        raise AssertionError(f"decoded dtype {labels.dtype} for K={k}")
    if labels.size and int(labels.max()) >= k:
        raise AssertionError(f"decoded index {int(labels.max())} >= K={k}")
    return labels


def _raw(data: bytes) -> None:
    if len(data) < 4:
        return
    width, height = 1 + data[0] % 64, 1 + data[1] % 64
    k = _KS[data[2] % len(_KS)] if data[3] & 1 else 1 + data[2] % 256
    _check(data[4:], width, height, k)


def _mutated(data: bytes) -> None:
    if len(data) < 8:
        return
    width, height = 1 + data[0] % 24, 1 + data[1] % 24
    k = _KS[data[2] % len(_KS)]
    rng = np.random.default_rng(list(data[8:40]))
    # Runs of repeated labels, as images have, so every stage gets used.
    labels = rng.integers(0, min(k, 1 + data[3]), (height, width))
    labels = np.where(rng.random((height, width)) < 0.7, np.roll(labels, 1, axis=1), labels)
    labels = labels.astype(np.uint8 if k <= 256 else np.uint16)
    payload = bytearray(encode_labels(labels, k))
    decoded = _check(bytes(payload), width, height, k)
    if decoded is None or not np.array_equal(decoded, labels):
        raise AssertionError("a fresh payload does not decode to its labels")
    where = struct.unpack_from("<H", data, 4)[0] % len(payload)
    how = data[6] % 4
    if how == 0:
        payload[where] = data[7]
    elif how == 1:
        del payload[where:]
    elif how == 2:  # the band height or table length lies
        struct.pack_into("<I", payload, 1 + 4 * (data[7] & 1), struct.unpack_from("<I", data, 4)[0])
    else:
        payload[where] ^= 1 << (data[7] % 8)
    _check(bytes(payload), width, height, k)


def test_one_input(data: bytes) -> None:
    _raw(data)
    _mutated(data)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
