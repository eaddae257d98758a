"""The numbers `ccodec stats` shows, as data: quality and size per K, and a .ccz's layout.

Each K is quantized and measured once; the table, the JSON, the plot and the
contact sheet all format the same `Sweep`. ``to_json`` gives the documented
JSON objects (`SCHEMA` is their version: fields are only ever added).
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .ccz import DEFAULT_MAX_PIXELS, decode, read_header
from .encoder import encode_image
from .errors import CczError, OptionError
from .metrics import bits_per_pixel, mse, psnr
from .model import MODES, Quantized
from .validate import check_int
from .workers import ProcessRun, exit_description
from .writers import get_writer

__all__ = ["SCHEMA", "CczInfo", "KRow", "Sweep", "ccz_info", "hex_color", "k_table", "sweep"]

SCHEMA = 1


@dataclass(frozen=True)
class KRow:
    """Quality and size of one image quantized to `k` colours, as .ccz and as its peers."""

    k: int
    colors: int  # palette entries actually used: fewer than k when the image has fewer
    mse: float
    psnr: float  # dB; inf when the quantized image is exact
    ccz_bytes: int
    bits_per_pixel: float  # of the .ccz file
    ratio_raw: float  # raw pixel bytes (H x W x C) / .ccz bytes
    ratio_input: float | None  # input file bytes / .ccz bytes; None without an input file
    png8_bytes: int  # the same quantized image as `ccodec decode` writes it to .png
    webp_lossless_bytes: int | None  # ... and to .webp; None where Pillow cannot write WebP

    def to_json(self) -> dict[str, Any]:
        """The row as a JSON object: named fields, PSNR null when infinite."""
        return {
            "k": self.k,
            "colors": self.colors,
            "mse": self.mse,
            "psnr_db": _finite(self.psnr),
            "ccz_bytes": self.ccz_bytes,
            "bits_per_pixel": self.bits_per_pixel,
            "ratio_raw": self.ratio_raw,
            "ratio_input": self.ratio_input,
            "png8_bytes": self.png8_bytes,
            "webp_lossless_bytes": self.webp_lossless_bytes,
        }


@dataclass(frozen=True)
class Sweep:
    """One image measured at several K: its rows, and the quantized images behind them."""

    image: str  # a path, or "bundled sample"
    width: int
    height: int
    channels: int
    seed: int
    input_bytes: int | None
    rows: tuple[KRow, ...]
    quantized: tuple[Quantized, ...] = field(repr=False, compare=False)

    @property
    def mode(self) -> str:
        return MODES[self.channels]

    @property
    def raw_bytes(self) -> int:
        return self.width * self.height * self.channels

    def to_json(self) -> dict[str, Any]:
        """The sweep as the JSON object ``ccodec stats --json`` prints."""
        return {
            "schema": SCHEMA,
            "image": self.image,
            "width": self.width,
            "height": self.height,
            "channels": self.channels,
            "mode": self.mode,
            "seed": self.seed,
            "input_bytes": self.input_bytes,
            "raw_bytes": self.raw_bytes,
            "rows": [row.to_json() for row in self.rows],
        }


def sweep(
    pixels: np.ndarray,
    ks: Iterable[int],
    *,
    image: str = "",
    input_bytes: int | None = None,
    seed: int = 0,
    max_iter: int = 300,
    level: int | None = None,
    jobs: int = 1,
    on_row: Callable[[], None] | None = None,
) -> Sweep:
    """Quantize (H, W, C) uint8 `pixels` at each K and measure the results.

    `input_bytes` is the size of the file the pixels came from (for
    `ratio_input`). `jobs` > 1 quantizes that many K at once in worker
    processes; the rows come back in the order of `ks` and are the same as
    with one job. `on_row` is called as each K finishes (for a progress bar).

    >>> s = sweep(np.zeros((2, 2, 3), np.uint8), [1, 4])
    >>> [(r.k, r.colors, r.mse, r.psnr) for r in s.rows]
    [(1, 1, 0.0, inf), (4, 1, 0.0, inf)]
    """
    pixels = np.asarray(pixels)
    ks = tuple(ks)
    if not ks:
        raise OptionError("no K values to try.")
    jobs = check_int("jobs", jobs, 1)
    if pixels.ndim != 3:
        raise OptionError(f"pixels of shape {pixels.shape} should be (H, W, C).")
    options = {"seed": seed, "max_iter": max_iter, "level": level, "input_bytes": input_bytes}
    results = _measure_all(pixels, ks, jobs, on_row or (lambda: None), options)
    height, width, channels = pixels.shape
    return Sweep(
        image=image,
        width=width,
        height=height,
        channels=channels,
        seed=seed,
        input_bytes=input_bytes,
        rows=tuple(row for row, _ in results),
        quantized=tuple(q for _, q in results),
    )


def k_table(pixels: np.ndarray, ks: Iterable[int], **options: Any) -> list[KRow]:
    """The rows of ``sweep(pixels, ks, **options)``.

    >>> [(r.k, r.colors) for r in k_table(np.zeros((2, 2, 3), np.uint8), [1, 4])]
    [(1, 1), (4, 1)]
    """
    return list(sweep(pixels, ks, **options).rows)


def _measure_all(
    pixels: np.ndarray,
    ks: tuple[int, ...],
    jobs: int,
    on_row: Callable[[], None],
    options: dict[str, Any],
) -> list[tuple[KRow, Quantized]]:
    """`_measure` at each K, in the order of `ks`, on up to `jobs` processes."""
    jobs = min(jobs, len(ks))
    if jobs == 1:
        results = []
        for k in ks:
            results.append(_measure(pixels, k, **options))
            on_row()
        return results
    # Processes, not threads: k-means holds the GIL for much of its time.
    measure = functools.partial(_measure_or_error, pixels, options)
    results = []
    with ProcessRun(measure, list(ks), jobs, _worker_died) as run:
        for outcome in run:
            if isinstance(outcome, Exception):
                raise outcome
            results.append(outcome)
            on_row()
    return results


def _measure_or_error(
    pixels: np.ndarray, options: dict[str, Any], k: int
) -> tuple[KRow, Quantized] | Exception:
    """`_measure` in a worker: an error comes back as a value, for the parent to raise."""
    try:
        return _measure(pixels, k, **options)
    except Exception as exc:  # MemoryError included; SystemExit (SIGTERM) ends the worker
        return exc


def _worker_died(k: int, exitcode: int | None) -> Exception:
    how = exit_description(exitcode)
    return CczError(f"the worker process measuring K={k} died ({how}); try fewer -j workers")


def _measure(
    pixels: np.ndarray,
    k: int,
    *,
    seed: int,
    max_iter: int,
    level: int | None,
    input_bytes: int | None,
) -> tuple[KRow, Quantized]:
    """Quantize `pixels` to `k` colours; measure the error and the size in each format."""
    q, data = encode_image(pixels, k, seed=seed, max_iter=max_iter, level=level)
    ccz_bytes = len(data)
    error = mse(pixels, q.to_array(), ignore_transparent=True)
    row = KRow(
        k=k,
        colors=q.k,
        mse=error,
        psnr=psnr(error),
        ccz_bytes=ccz_bytes,
        bits_per_pixel=bits_per_pixel(ccz_bytes, q.width, q.height),
        ratio_raw=pixels.size / ccz_bytes,
        ratio_input=None if input_bytes is None else input_bytes / ccz_bytes,
        png8_bytes=_written_size(q, "png"),
        webp_lossless_bytes=_webp_size(q),
    )
    return row, q


def _written_size(q: Quantized, writer_name: str) -> int:
    """Bytes of `q` as the named writer writes it (what `ccodec decode` makes)."""
    buffer = io.BytesIO()
    get_writer(writer_name).write(q, buffer)
    return buffer.tell()


def _webp_size(q: Quantized) -> int | None:
    try:
        return _written_size(q, "webp")
    except CczError:  # no WebP in this Pillow, or an image too large for WebP
        return None


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class CczInfo:
    """What a .ccz file holds and where its bytes go; MSE and PSNR when compared to an original."""

    width: int
    height: int
    mode: str
    k: int
    bits: int
    version: str
    header_bytes: int  # header, palette and CRC-32
    palette_bytes: int  # the palette alone: K x channels
    payload_bytes: int
    total_bytes: int
    bpp: float
    palette: tuple[tuple[int, ...], ...]  # one tuple of channel values (mode order) per entry
    mse: float | None = None
    psnr: float | None = None
    coding: str = "zstd"  # the payload coding: zstd or rans
    icc_profile_bytes: int = 0  # 0: no ICC profile
    text: tuple[tuple[str, str], ...] = ()  # the text entries, in file order

    def to_json(self, file: str) -> dict[str, Any]:
        """The info as the JSON object ``ccodec stats FILE.ccz --json`` prints."""
        return {
            "schema": SCHEMA,
            "file": file,
            "width": self.width,
            "height": self.height,
            "mode": self.mode,
            "k": self.k,
            "bits_per_index": self.bits,
            "version": self.version,
            "header_bytes": self.header_bytes,
            "palette_bytes": self.palette_bytes,
            "payload_bytes": self.payload_bytes,
            "total_bytes": self.total_bytes,
            "bits_per_pixel": self.bpp,
            "palette": [hex_color(entry, self.mode) for entry in self.palette],
            "mse": self.mse,
            "psnr_db": None if self.psnr is None else _finite(self.psnr),
            "coding": self.coding,
            "icc_profile_bytes": self.icc_profile_bytes,
            "text": dict(self.text),
        }


def ccz_info(
    data: bytes,
    *,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    original: np.ndarray | None = None,
) -> CczInfo:
    """Describe the .ccz file `data`, after checking all of it decodes.

    With `original` (H, W, C) uint8 pixels, also the MSE and PSNR of the file
    against them. Raises the `FormatError` that `ccodec.decode` would, and
    `OptionError` when `original` has another size or mode.
    """
    header = read_header(data, max_pixels=max_pixels)
    q = decode(data, max_pixels=max_pixels)  # a damaged file must not get a clean report
    error = None
    if original is not None:
        original = np.asarray(original)
        if original.ndim == 2:  # grey as (H, W), as Quantized.to_array gives it
            original = original[..., None]
        if original.shape != (q.height, q.width, q.channels):
            raise OptionError(
                f"the original's pixels have shape {original.shape}, "
                f"the .ccz file's {(q.height, q.width, q.channels)}."
            )
        error = mse(original, q.to_array(), ignore_transparent=True)
    return CczInfo(
        width=header.width,
        height=header.height,
        mode=header.mode,
        k=header.k,
        bits=header.bits,
        version=f"{header.major}.{header.minor}",
        header_bytes=header.payload_offset,
        palette_bytes=q.palette.size,
        payload_bytes=header.payload_length,
        total_bytes=len(data),
        bpp=bits_per_pixel(len(data), header.width, header.height),
        palette=tuple(tuple(int(v) for v in entry) for entry in q.palette),
        mse=error,
        psnr=None if error is None else psnr(error),
        coding=header.coding,
        icc_profile_bytes=len(q.info.get("icc_profile", b"")),
        text=tuple((key, value) for key, value in q.info.items() if key != "icc_profile"),
    )


def hex_color(entry: tuple[int, ...], mode: str) -> str:
    """A palette entry as CSS hex: #rrggbb, or #rrggbbaa with alpha; grey repeats in r, g, b.

    >>> hex_color((255, 128, 0), "RGB"), hex_color((17, 128), "LA")
    ('#ff8000', '#11111180')
    """
    grey = mode in ("L", "LA")
    values = (*entry[:1] * 3, *entry[1:]) if grey else entry
    return "#" + "".join(f"{value:02x}" for value in values)
