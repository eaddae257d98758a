"""Encoding many files: the per-file job, input expansion, output names, and where jobs run.

`encode_file` is the one function every file goes through, in this process,
in worker processes (``-j N``) or on a Dask cluster (``--scheduler``): it
takes a picklable `Job` and returns a `FileResult`, never raising for a
problem with that file, so one bad file does not stop the others.
"""

from __future__ import annotations

import dataclasses
import glob
import io
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .ccz import encode_quantized
from .cluster import dask_client
from .encoder import EncodeOptions, quantize_pixels
from .errors import CczError, OptionError, QualityTooLowError
from .images import STDIN, open_image, to_pixels
from .metrics import bits_per_pixel, mse, psnr
from .model import Quantized
from .output import check_output, write_atomic
from .palettes import widen
from .target import TargetQuantized
from .workers import ProcessRun, Run, exit_description
from .writers import get_writer

__all__ = [
    "FileResult",
    "Job",
    "dask_client",
    "encode_file",
    "encode_one",
    "expand_inputs",
    "plan_outputs",
    "run_jobs",
]


@dataclass(frozen=True)
class Job:
    """One input file to encode into one output file (``-``: stdin / stdout)."""

    source: str
    target: str
    options: EncodeOptions
    force: bool = False
    skip_existing: bool = False
    frame: int | None = None  # of an animated or multi-page input; None: the first
    writer: str = "ccz"  # the output format, by writer name (an exact one)
    least_mse: float | None = None  # the worst MSE accepted (--quality MIN); above: nothing written
    quality: str = ""  # the --quality MIN-MAX that set the target, for the messages
    skip_if_larger: bool = False  # write nothing when the output is not smaller than the input
    in_place: bool = False  # the target may be the source itself, replaced atomically


@dataclass(frozen=True)
class FileResult:
    """What became of a job: ``status`` is ``written``, ``skipped``, ``kept`` (not written:
    not smaller than the input, with --skip-if-larger) or ``failed``.

    ``line`` is the summary line of a written file, or the error of a failed
    one; ``warning`` a note to show beside a written file; ``exit_status`` the
    command's exit status this result calls for (1 for most failures, 99 for a
    quality too low, 98 for a kept input).
    """

    status: str
    line: str
    bytes_in: int = 0
    bytes_out: int = 0
    data: bytes | None = None  # the .ccz bytes, kept only when the target is stdout
    warning: str = ""
    target: str = ""  # the file written, for a written result
    exit_status: int = 0


def encode_file(job: Job) -> FileResult:
    """Encode one file; a problem with it becomes a ``failed`` result, not an exception.

    >>> import tempfile, numpy as np
    >>> folder = Path(tempfile.mkdtemp())
    >>> Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(folder / "a.png")
    >>> job = Job(str(folder / "a.png"), str(folder / "a.ccz"), EncodeOptions(k=4))
    >>> encode_file(job).status, encode_file(job).status
    ('written', 'failed')
    """
    try:
        return encode_one(job)
    except CczError as exc:
        return FileResult("failed", str(exc), exit_status=getattr(exc, "exit_status", 1))
    except MemoryError:
        return FileResult("failed", f"{job.source}: out of memory encoding it", exit_status=1)
    except Exception as exc:  # a bug on one file must not stop the rest
        line = f"{job.source}: unexpected {type(exc).__name__}: {exc}"
        return FileResult("failed", line, exit_status=1)


def encode_one(job: Job, on_progress: Callable[[float], None] | None = None) -> FileResult:
    """Encode one file, raising `CczError` for any problem with it; `on_progress` as
    `quantize` takes it (a fixed K only)."""
    options = job.options
    if job.skip_existing and job.target != STDIN and Path(job.target).exists():
        return FileResult("skipped", f"{job.target}: exists, skipped")
    notes: list[str] = []
    # fd 2 belongs to the whole process: caught only where no other thread writes
    # to it (the command, -j workers), not in a Dask worker's threads.
    alone = threading.current_thread() is threading.main_thread()
    image = open_image(job.source, frame=job.frame, notes=notes, capture_stderr=alone)
    pixels = to_pixels(image, stretch=options.stretch, notes=notes)
    bytes_in = _input_size(job.source)
    inputs = [] if job.source == STDIN or job.in_place else [job.source]
    if job.target != STDIN:
        check_output(job.target, inputs=inputs, force=job.force)
    q, error, warning, chosen = _encode(image, pixels, options, on_progress)
    if job.quality:  # pngquant's range: anything from MIN up is a result, not a miss
        warning = ""
        chosen = f" (smallest K for --quality {job.quality})" if chosen else ""
    if job.least_mse is not None and error > job.least_mse:
        raise QualityTooLowError(
            f"{job.source}: MSE {error:.6f} at K={q.k} misses the --quality minimum "
            f"(MSE {job.least_mse:.6f}); nothing written"
        )
    data = _file_bytes(q, job.writer, options)
    if job.skip_if_larger and len(data) >= bytes_in:
        line = (
            f"{job.target}: not written: {len(data):,} bytes would not be smaller than "
            f"{job.source} ({bytes_in:,} bytes); input kept (--skip-if-larger)"
        )
        return FileResult("kept", line, bytes_in, exit_status=98)
    if job.target != STDIN:
        write_atomic(job.target, lambda fp: fp.write(data), inputs=inputs, force=job.force)
    written_as = "" if job.writer == "ccz" else f", {job.writer}"
    line = (
        f"{job.target}: {q.width}x{q.height} {q.mode}, K={q.k}{chosen}, MSE {error:.6f}, "
        f"PSNR {psnr(error):.2f} dB{written_as}, {len(data):,} bytes, "
        f"{bits_per_pixel(len(data), q.width, q.height):.3f} bpp"
    )
    kept = data if job.target == STDIN else None
    # One warning line per file: the notes on reading it, then the encoder's.
    said = "; ".join(
        [*(f"{job.source}: {note}" for note in notes), *([warning] if warning else [])]
    )
    return FileResult("written", line, bytes_in, len(data), kept, said, job.target)


def _encode(
    image: Image.Image,
    pixels: np.ndarray,
    options: EncodeOptions,
    on_progress: Callable[[float], None] | None = None,
) -> tuple[Quantized, float, str, str]:
    """(quantized, MSE, warning, target note) for one image."""
    q = quantize_pixels(pixels, options, source=image, on_progress=on_progress)
    if not isinstance(q, TargetQuantized):
        # Against the input in the result's mode: a given palette may be of a wider mode.
        error = mse(widen(pixels, q.channels), q.to_array(), ignore_transparent=True)
        return q, error, "", ""
    if not q.reached:
        warning = (
            f"target not reached: MSE {q.mse:.6f} at K={q.k}, the most allowed "
            f"(target MSE {q.target:.6f})"
        )
        return q, q.mse, warning, ""
    if options.max_mse is not None:
        goal = f"MSE <= {options.max_mse:g}"
    else:
        goal = f"PSNR >= {options.min_psnr:g} dB"
    return q, q.mse, "", f" (smallest K for {goal})"


def _file_bytes(q: Quantized, writer: str, options: EncodeOptions) -> bytes:
    """`q` as the named writer writes it: .ccz with the encode options, else the writer's own."""
    if writer == "ccz":
        return encode_quantized(q, level=options.level, coding=options.coding)
    chosen = get_writer(writer)
    # An encoded file is for publishing: the smallest the writer can make it.
    optimizes = chosen.options is not None and "optimize" in chosen.options
    buffer = io.BytesIO()
    chosen.write(q, buffer, **({"optimize": True} if optimizes else {}))
    return buffer.getvalue()


def _input_size(source: str) -> int:
    try:
        return os.stat(source).st_size
    except OSError:  # stdin, or a file gone since it was read
        return 0


# -- which files ---------------------------------------------------------------------------

# Encoding a .ccz again is allowed when named, but a folder's .ccz files are
# most likely earlier outputs, not inputs.
_FOLDER_SKIPS = frozenset({".ccz"})


def expand_inputs(specs: Iterable[str], *, folder_extensions: Iterable[str] = ()) -> list[Path]:
    """The input files named by `specs`: files, folders (their images) and glob patterns.

    A folder gives the files in it (not below it) whose extension is an image
    format Pillow reads, except .ccz; a pattern with ``*``, ``?`` or ``[``
    that is not itself a file is expanded (``**`` descends). Order is kept,
    each folder and pattern sorted, and a file named twice is taken once.
    A folder without images or a pattern matching nothing is an `OptionError`.
    `folder_extensions` (``[".ccz"]``) takes those files from folders instead.
    """
    wanted = set(folder_extensions)
    found: list[Path] = []
    for spec in specs:
        if spec == STDIN:
            raise OptionError("- (standard input) can only be the one INPUT, without -o")
        path = Path(spec)
        if path.is_dir():
            images = _folder_images(path, wanted)
            if not images:
                kind = " or ".join(sorted(wanted)) if wanted else "image"
                raise OptionError(f"{spec}: folder has no {kind} files")
            found.extend(images)
        elif not path.exists() and glob.has_magic(spec):
            matches = sorted(glob.glob(spec, recursive=True))
            files = [Path(match) for match in matches if Path(match).is_file()]
            if not files:
                raise OptionError(f"{spec}: no files match")
            found.extend(files)
        else:  # a missing file is that file's error, reported with the others
            found.append(path)
    return _unique(found)


def _folder_images(folder: Path, wanted: set[str]) -> list[Path]:
    extensions = wanted or set(Image.registered_extensions()) - _FOLDER_SKIPS
    return sorted(
        entry
        for entry in folder.iterdir()
        if entry.suffix.lower() in extensions and not entry.name.startswith(".") and entry.is_file()
    )


def _unique(paths: list[Path]) -> list[Path]:
    seen: set[str] = set()
    unique = []
    for path in paths:
        key = os.path.normcase(os.path.abspath(path))
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def plan_outputs(
    inputs: list[Path], folder: Path | None, ext: str = ".ccz", *, in_place: bool = False
) -> list[Path]:
    """The output path of each input: its stem followed by `ext`, in `folder` (None: beside
    the input).

    Two inputs with the same output (``a/x.png`` and ``b/x.jpg``), or an output
    that is one of the inputs, is an `OptionError` before anything is written;
    with `in_place`, an output may be its own input (and no other).

    >>> plan_outputs([Path("a/x.png"), Path("y.jpg")], Path("out"))
    [PosixPath('out/x.ccz'), PosixPath('out/y.ccz')]
    >>> plan_outputs([Path("a/x.png")], None, "-or8.png")
    [PosixPath('a/x-or8.png')]
    """
    outputs = [
        (source.parent if folder is None else folder) / (source.stem + ext) for source in inputs
    ]
    claimed: dict[str, Path] = {}
    sources = {_key(source): source for source in inputs}
    for source, target in zip(inputs, outputs, strict=True):
        key = _key(target)
        if key in claimed:
            raise OptionError(
                f"{claimed[key]} and {source} would both be written to {target}; "
                "rename one or encode them into different folders"
            )
        if key in sources and not (in_place and sources[key] is source):
            hint = (
                " (--force replaces an input with its own result)" if sources[key] is source else ""
            )
            raise OptionError(f"{target}: output would overwrite the input {sources[key]}{hint}")
        claimed[key] = source
    return outputs


def _key(path: Path) -> str:
    return os.path.normcase(os.path.realpath(path))


# -- where jobs run ------------------------------------------------------------------------


def run_jobs(
    jobs: list, *, workers: int = 1, client=None, work: Callable[..., FileResult] | None = None
) -> Run[FileResult]:
    """``work(job)`` (default `encode_file`) on each job, results in the jobs' order; stop it
    with ``with`` or `stop`. `work` must never raise, and be picklable (a module function).

    In this process (``workers=1``), in `workers` processes, or on a Dask
    cluster through `client` (from `dask_client`; the workers must see the
    same files). After a KeyboardInterrupt, ``stop()`` ends the worker
    processes (abandoning the files in progress, which leave nothing behind)
    or cancels the Dask tasks not started, and returns the results finished
    but not yet returned.
    """
    work = work or encode_file
    if client is not None:
        return _DaskRun(jobs, client, work)
    if workers <= 1 or len(jobs) <= 1:
        return Run(map(work, jobs))
    return ProcessRun(work, jobs, min(workers, len(jobs)), _worker_died)


def _worker_died(job: Job, exitcode: int | None) -> FileResult:
    how = exit_description(exitcode)
    line = f"{job.source}: the worker process working on it died ({how}); try fewer -j workers"
    return FileResult("failed", line, exit_status=1)


class _DaskRun(Run[FileResult]):
    def __init__(self, jobs: list, client, work: Callable[..., FileResult]) -> None:
        super().__init__()
        # Workers may run elsewhere: give them (and so their messages) absolute paths.
        self._jobs = [
            dataclasses.replace(
                job, source=os.path.abspath(job.source), target=os.path.abspath(job.target)
            )
            for job in jobs
        ]
        self._client = client
        self._futures = client.map(work, self._jobs, pure=False)
        self._next = 0

    def __next__(self) -> FileResult:
        if self._stopped or self._next >= len(self._futures):
            raise StopIteration
        job, future = self._jobs[self._next], self._futures[self._next]
        self._next += 1
        try:
            return future.result()
        except Exception as exc:  # a worker died or could not run the job
            return FileResult("failed", f"{job.source}: on the Dask cluster: {exc}", exit_status=1)

    def _stop(self) -> list[FileResult]:
        # Dask cannot stop a task that has started: those finish on their workers.
        rest = self._futures[self._next :]
        self._client.cancel([future for future in rest if not future.done()])
        return [future.result() for future in rest if future.status == "finished"]
