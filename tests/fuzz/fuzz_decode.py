"""atheris harness: no bytes may make the .ccz decoder raise an undocumented error.

``ccodec.decode`` may raise only `CczError`; Pillow's ``Image.open`` + ``load``
restricted to the CCZ plugin may raise only ``OSError`` (and Pillow's own
``DecompressionBombError``). Anything else is a finding. A file that decodes
must also survive a re-encode unchanged and give Pillow the same pixels.

Each input is tried as it is and once more "fixed up": payload length, header
CRC-32 and the payload's checksum (zstd's, or the CRC-32 after a rANS or
context stream) recomputed, so that mutations reach the rules behind the
checksums instead of stopping at them.

    pip install atheris
    python tests/fuzz/fuzz_decode.py /tmp/ccz-corpus formats/conformance/valid \\
        formats/conformance/invalid -max_total_time=660 -rss_limit_mb=2048

The first directory collects new inputs (keep it out of the repository); the
conformance files are the seed corpus. A finding is saved as ``crash-<hash>``;
replay it with ``python tests/fuzz/fuzz_decode.py crash-<hash>``.
"""

from __future__ import annotations

import io
import sys
import warnings

import atheris

with atheris.instrument_imports():
    import struct
    import zlib

    import numpy as np
    import zstandard
    from PIL import Image

    import ccodec
    from ccodec.ccz import CODING_CONTEXT, CODING_RANS, SIGNATURE, encode_quantized

warnings.simplefilter("ignore", Image.DecompressionBombWarning)

# The limit checks are the same code whatever the limit; a small one keeps
# each run fast (megapixel allocations would cut the executions per second
# five-fold) without losing a path.
MAX_PIXELS = 1 << 20
Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2  # Pillow raises only above twice this


def _check_decode(data: bytes) -> ccodec.Quantized | None:
    try:
        q = ccodec.decode(data, max_pixels=MAX_PIXELS)
    except ccodec.CczError:
        return None
    again = ccodec.decode(encode_quantized(q))
    if again != q:
        raise AssertionError("decode(encode(decode(data))) differs from decode(data)")
    return q


def _check_pillow(data: bytes, q: ccodec.Quantized | None) -> None:
    try:
        with Image.open(io.BytesIO(data), formats=["CCZ"]) as im:
            im.load()
            pixels = np.asarray(im)
    except (OSError, Image.DecompressionBombError):
        return
    if q is None:
        # Pillow's limit lets through no more pixels than MAX_PIXELS.
        raise AssertionError("Pillow decoded a file that ccodec.decode rejects")
    expected = q.labels if im.mode == "P" else q.to_array()
    if not np.array_equal(pixels, expected):
        raise AssertionError("Pillow's pixels differ from ccodec.decode's")


def _fixed_up(data: bytes) -> bytes | None:
    """`data` with its payload length, CRC-32 and zstd checksum made consistent."""
    if len(data) < 40 or data[:8] != SIGNATURE:
        return None
    out = bytearray(data)
    (header_length,) = struct.unpack_from("<H", out, 10)
    k, channels = struct.unpack_from("<IB", out, 20)
    crc_at = header_length + k * channels
    if crc_at + 4 > len(out):
        return None
    payload_at = crc_at + 4
    struct.pack_into("<Q", out, 32, len(out) - payload_at)
    struct.pack_into("<I", out, crc_at, zlib.crc32(out[:crc_at]))
    payload = bytes(out[payload_at:])
    if out[26] in (CODING_RANS, CODING_CONTEXT) and len(payload) >= 4:  # a stream, then its CRC-32
        stream = payload[:-4]
        return bytes(out[:payload_at]) + stream + struct.pack("<I", zlib.crc32(stream))
    return bytes(out[:payload_at]) + _fix_checksum(payload)


def _fix_checksum(payload: bytes) -> bytes:
    try:
        params = zstandard.get_frame_parameters(payload)
    except zstandard.ZstdError:
        return payload
    if not params.has_checksum or not 0 < params.content_size <= 1 << 20 or len(payload) < 9:
        return payload
    body = bytearray(payload[:-4])
    body[4] &= ~0x04  # checksum flag off, so the content can be recovered
    try:
        content = zstandard.ZstdDecompressor().decompress(bytes(body))
    except zstandard.ZstdError:
        return payload
    checksum = zstandard.ZstdCompressor(write_checksum=True).compress(content)[-4:]
    return payload[:-4] + checksum


def test_one_input(data: bytes) -> None:
    _check_pillow(data, _check_decode(data))
    fixed = _fixed_up(data)
    if fixed is not None and fixed != data:
        _check_pillow(fixed, _check_decode(fixed))


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
