"""The numbers `ccodec stats` prints, as data: quality and size per K, and a .ccz's layout.

The CLI only formats these rows, so other front ends (JSON, plots) can reuse them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .ccz import DEFAULT_MAX_PIXELS, decode, encode_quantized, read_header
from .metrics import bits_per_pixel, mse, psnr
from .quantize import quantize

__all__ = ["CczInfo", "KRow", "ccz_info", "k_table"]


@dataclass(frozen=True)
class KRow:
    """Quality and size of one image quantized to `k` colours and stored as .ccz."""

    k: int
    colors: int  # palette entries actually used: fewer than k when the image has fewer
    mse: float
    psnr: float
    nbytes: int
    bpp: float
    ratio: float  # raw pixel bytes (H x W x C) / .ccz bytes


def k_table(
    pixels: np.ndarray,
    ks: Iterable[int],
    *,
    seed: int = 0,
    max_iter: int = 300,
    level: int | None = None,
) -> list[KRow]:
    """Quantize (H, W, C) uint8 `pixels` at each K and measure the result.

    >>> rows = k_table(np.zeros((2, 2, 3), np.uint8), [1, 4])
    >>> [(r.k, r.colors, r.mse) for r in rows]
    [(1, 1, 0.0), (4, 1, 0.0)]
    """
    pixels = np.asarray(pixels)
    height, width = pixels.shape[:2]
    rows = []
    for k in ks:
        q = quantize(pixels, k, seed=seed, max_iter=max_iter)
        nbytes = len(encode_quantized(q, level=level))
        error = mse(pixels, q.to_array())
        rows.append(
            KRow(
                k=k,
                colors=q.k,
                mse=error,
                psnr=psnr(error),
                nbytes=nbytes,
                bpp=bits_per_pixel(nbytes, width, height),
                ratio=pixels.size / nbytes,
            )
        )
    return rows


@dataclass(frozen=True)
class CczInfo:
    """What a .ccz file holds and where its bytes go."""

    width: int
    height: int
    mode: str
    k: int
    bits: int
    version: str
    header_bytes: int  # header, palette and CRC-32
    payload_bytes: int
    total_bytes: int
    bpp: float


def ccz_info(data: bytes, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> CczInfo:
    """Describe the .ccz file `data`, after checking all of it decodes.

    Raises the `FormatError` that `ccodec.decode` would.
    """
    header = read_header(data, max_pixels=max_pixels)
    decode(data, max_pixels=max_pixels)  # a damaged file must not get a clean report
    return CczInfo(
        width=header.width,
        height=header.height,
        mode=header.mode,
        k=header.k,
        bits=header.bits,
        version=f"{header.major}.{header.minor}",
        header_bytes=header.payload_offset,
        payload_bytes=header.payload_length,
        total_bytes=len(data),
        bpp=bits_per_pixel(len(data), header.width, header.height),
    )
