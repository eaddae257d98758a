"""One zstd frame of untrusted data, decompressed to exactly the size expected.

python-zstandard allocates whatever content size a frame declares, so the
frame header is read and checked before anything is decompressed. Both
codings of a .ccz payload need this: the zstd coding's rows and the rANS
coding's frequency table.
"""

from __future__ import annotations

import zstandard

from .errors import ChecksumError, CorruptError

__all__ = ["MAGIC", "decompress_exact"]

MAGIC = b"\x28\xb5\x2f\xfd"


def decompress_exact(
    frame: memoryview, size: int, *, subject: str, expected: str, checksum: bool
) -> bytes:
    """The `size` bytes held by zstd `frame`, or a `CorruptError` naming `subject`.

    `expected` says where `size` comes from (for the message when the frame
    declares another size); `checksum` requires the frame to carry one.

    >>> frame = zstandard.ZstdCompressor(write_checksum=True).compress(b"abc")
    >>> decompress_exact(memoryview(frame), 3, subject="payload", expected="", checksum=True)
    b'abc'
    """
    if bytes(frame[:4]) != MAGIC:
        raise CorruptError(f"corrupt {subject}: not a zstd frame")
    try:
        params = zstandard.get_frame_parameters(frame)
    except zstandard.ZstdError as exc:
        raise CorruptError(f"corrupt {subject}: {exc}") from exc
    if params.content_size == zstandard.CONTENTSIZE_UNKNOWN:
        raise CorruptError(f"corrupt {subject}: frame does not declare its content size")
    if params.content_size != size:
        raise CorruptError(
            f"corrupt {subject}: frame declares {params.content_size} bytes, {expected}"
        )
    if params.dict_id != 0:
        raise CorruptError(f"corrupt {subject}: frame needs a zstd dictionary")
    if checksum and not params.has_checksum:
        raise CorruptError(f"corrupt {subject}: frame has no checksum")
    try:
        raw = zstandard.ZstdDecompressor().decompress(
            frame, max_output_size=size, allow_extra_data=False
        )
    except zstandard.ZstdError as exc:
        if "checksum" in str(exc).lower():
            damaged = f"{subject} checksum mismatch: the file is damaged ({exc})"
            raise ChecksumError(damaged) from exc
        raise CorruptError(f"corrupt {subject}: {exc}") from exc
    if len(raw) != size:
        raise CorruptError(f"corrupt {subject}: {len(raw)} bytes decompressed, expected {size}")
    return raw
