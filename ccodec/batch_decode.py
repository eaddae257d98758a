"""Decoding many .ccz files: the per-file job for ``ccodec decode INPUT... -o DIR``.

`decode_file` is to decoding what `batch.encode_file` is to encoding: a
picklable `DecodeJob` in, a `batch.FileResult` out, never raising for a
problem with that file; `batch.run_jobs(jobs, work=decode_file)` runs a list
in this process, in worker processes or on a Dask cluster.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from . import ccz
from .batch import FileResult
from .ccz import HEADER_SIZE, read_header
from .errors import CczError, FormatError
from .images import open_input
from .model import Quantized
from .output import check_output, write_atomic
from .writers import get_writer

__all__ = ["DecodeJob", "decode_file", "decode_one", "read_ccz", "writer_options"]


@dataclass(frozen=True)
class DecodeJob:
    """One .ccz file to decode into one output file, by the writer named `writer`."""

    source: str
    target: str
    writer: str = "png"
    quality: int | None = None  # for the writers that take one (jpeg, webp, avif)
    max_pixels: int | None = None  # refuse larger images; None: no limit
    force: bool = False
    skip_existing: bool = False
    optimize: bool = False  # png: recompress with oxipng


def writer_options(quality: int | None, optimize: bool) -> dict[str, object]:
    """The keyword options decode passes to a writer: only those given."""
    options: dict[str, object] = {} if quality is None else {"quality": quality}
    if optimize:
        options["optimize"] = True
    return options


def decode_file(job: DecodeJob) -> FileResult:
    """Decode one file; a problem with it becomes a ``failed`` result, not an exception."""
    try:
        return decode_one(job)
    except CczError as exc:
        return FileResult("failed", str(exc), exit_status=1)
    except MemoryError:
        return FileResult("failed", f"{job.source}: out of memory decoding it", exit_status=1)
    except Exception as exc:  # a bug on one file must not stop the rest
        line = f"{job.source}: unexpected {type(exc).__name__}: {exc}"
        return FileResult("failed", line, exit_status=1)


def decode_one(job: DecodeJob) -> FileResult:
    """Decode one file, raising `CczError` for any problem with it."""
    if job.skip_existing and Path(job.target).exists():
        return FileResult("skipped", f"{job.target}: exists, skipped")
    check_output(job.target, inputs=[job.source], force=job.force)
    writer = get_writer(job.writer)
    options = writer_options(job.quality, job.optimize)
    data = _read_bytes(job.source, job.max_pixels)
    q = read_ccz(data, job.source, job.max_pixels)
    buffer = io.BytesIO()
    writer.write(q, buffer, **options)
    write_atomic(
        job.target, lambda fp: fp.write(buffer.getbuffer()), inputs=[job.source], force=job.force
    )
    size = len(buffer.getvalue())
    line = f"{job.target}: {q.width}x{q.height} {q.mode}, K={q.k}, {writer.name}, {size:,} bytes"
    return FileResult("written", line, len(data), size, target=job.target)


def read_ccz(data: bytes, name: str, max_pixels: int | None) -> Quantized:
    """The image in the .ccz bytes `data`; errors name the file `name`."""
    try:
        return ccz.decode(data, max_pixels=max_pixels)
    except FormatError as exc:
        raise type(exc)(f"{name}: {exc}") from None


def _read_bytes(path: str, max_pixels: int | None) -> bytes:
    """A .ccz file's bytes, no more than its header announces (+1 to see extra)."""
    with open_input(Path(path), seekable=False) as fp:
        head = fp.read(HEADER_SIZE)
        try:
            header = read_header(head, max_pixels=max_pixels)
        except FormatError as exc:
            raise type(exc)(f"{path}: {exc}") from None
        return head + fp.read(header.file_size - len(head) + 1)
