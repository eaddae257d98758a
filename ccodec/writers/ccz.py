"""The .ccz container itself as an output: lossless, the same palette and indices."""

from __future__ import annotations

from typing import BinaryIO

from ..ccz import encode_quantized
from ..quantize import Quantized


def write(q: Quantized, fp: BinaryIO, *, level: int | None = None) -> None:
    """Write `q` as a .ccz file (zstd `level` 1-22; the container's default otherwise)."""
    fp.write(encode_quantized(q, level=level))
