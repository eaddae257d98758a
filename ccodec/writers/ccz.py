"""The .ccz container itself as an output: lossless, the same palette and indices."""

from __future__ import annotations

from typing import BinaryIO

from ..ccz import encode_quantized
from ..model import Quantized


def write(q: Quantized, fp: BinaryIO, *, level: int | None = None, coding: str = "auto") -> None:
    """Write `q` as a .ccz file: `coding` auto, zstd or rans, zstd `level` 1-22 (the
    container's defaults otherwise); ``q.info``'s ICC profile and text go with it."""
    fp.write(encode_quantized(q, level=level, coding=coding))
