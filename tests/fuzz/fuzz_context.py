"""atheris harness: no stream may make the compiled context decoder (coding 2) do anything but
return valid labels or raise a `FormatError`.

The container is left out, so nearly every input reaches the range decoder
and the model. Each input is used two ways:

* raw: the first 5 bytes choose width (1-32), height (1-32), K (1-256, or
  one of a few up to 65,536), channels (1-4) and how many of the next bytes
  are the palette (repeated to K colours; repeated colours are allowed);
  the rest is the stream, decoded as it is;
* damaged: the input seeds a small label map and palette, which is encoded
  (the round trip must give it back exactly), then the stream is damaged at
  a place and in a way the input chooses (a byte set, a bit flipped, cut
  short, bytes inserted), so that the fuzzer starts from streams that decode
  deep into the image.

A decode that succeeds must return an array of shape (height, width), of
the dtype for K, with every index below K. Any other exception, or a crash
(with the AddressSanitizer build: any out-of-bounds access), is a finding.

    pip install atheris
    python tests/fuzz/fuzz_context.py /tmp/context-corpus -max_total_time=600 -rss_limit_mb=2048

Like the other harnesses it is run by hand, never collected by pytest
(README's Development section runs it on the sanitizer build). A finding
is saved as ``crash-<hash>``; replay it with
``python tests/fuzz/fuzz_context.py crash-<hash>``.
"""

from __future__ import annotations

import struct
import sys

import atheris

with atheris.instrument_imports():
    import numpy as np

    from ccodec.coder import decode_labels, encode_labels
    from ccodec.errors import FormatError
    from ccodec.model import label_dtype

_KS = (1, 2, 3, 4, 5, 16, 17, 255, 256, 257, 300, 4096, 65536)


def _palette(colours: bytes, k: int, channels: int) -> np.ndarray:
    cycle = np.frombuffer(colours or b"\0", np.uint8)
    return np.resize(cycle, k * channels).reshape(k, channels)


def _check(stream: bytes, width: int, height: int, palette: np.ndarray) -> np.ndarray | None:
    k = len(palette)
    try:
        labels = decode_labels(stream, width, height, palette)
    except FormatError:
        return None
    if labels.shape != (height, width):
        raise AssertionError(f"decoded shape {labels.shape}, expected {(height, width)}")
    if labels.dtype != label_dtype(k):
        raise AssertionError(f"decoded dtype {labels.dtype} for K={k}")
    if int(labels.max()) >= k:
        raise AssertionError(f"decoded index {int(labels.max())} >= K={k}")
    return labels


def _raw(data: bytes) -> None:
    if len(data) < 5:
        return
    width, height = 1 + data[0] % 32, 1 + data[1] % 32
    k = _KS[data[2] % len(_KS)] if data[3] & 1 else 1 + data[2]
    channels = 1 + (data[3] >> 1) % 4
    colours_end = 5 + data[4]
    _check(data[colours_end:], width, height, _palette(data[5:colours_end], k, channels))


def _damaged(data: bytes) -> None:
    if len(data) < 8:
        return
    width, height = 1 + data[0] % 24, 1 + data[1] % 24
    k = _KS[data[2] % len(_KS)]
    rng = np.random.default_rng(list(data[8:40]))
    palette = rng.integers(0, 256, (k, 1 + data[3] % 4), dtype=np.uint8)
    # Runs and repeats of few labels, as images have, so that every context is used.
    labels = rng.integers(0, min(k, 1 + data[3] // 4), (height, width))
    labels = np.where(rng.random((height, width)) < 0.6, np.roll(labels, 1, axis=1), labels)
    labels = np.where(rng.random((height, width)) < 0.3, np.roll(labels, 1, axis=0), labels)
    stream = bytearray(encode_labels(labels.astype(label_dtype(k)), palette))
    decoded = _check(bytes(stream), width, height, palette)
    if decoded is None or not np.array_equal(decoded, labels):
        raise AssertionError("a fresh stream does not decode to its labels")
    where = struct.unpack_from("<H", data, 4)[0] % len(stream)
    how = data[6] % 4
    if how == 0:
        stream[where] = data[7]
    elif how == 1:
        stream[where] ^= 1 << (data[7] % 8)
    elif how == 2:
        del stream[where:]
    else:
        stream[where:where] = data[40:48] or b"\0"
    _check(bytes(stream), width, height, palette)


def test_one_input(data: bytes) -> None:
    _raw(data)
    _damaged(data)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
