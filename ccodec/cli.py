"""The ccodec command: encode, decode, stats, writers.

Commands stay thin: they parse options, call the library and format its
results. Library errors become one ``ccodec: error: ...`` line and exit
status 1 in exactly one place, `_Cli.invoke`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib.resources
import io
import json
import math
import os
import stat
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import click
import numpy as np

from . import __version__, ccz
from .batch import (
    FileResult,
    Job,
    dask_client,
    encode_one,
    expand_inputs,
    plan_outputs,
    run_jobs,
)
from .batch_decode import DecodeJob, decode_file, writer_options
from .ccz import CODINGS, DEFAULT_MAX_PIXELS, HEADER_SIZE, SIGNATURE, read_header
from .cluster import DEFAULT_TIMEOUT as DEFAULT_SCHEDULER_TIMEOUT
from .cluster import check_address
from .dither import METHODS as DITHER_METHODS
from .encoder import EncodeOptions
from .errors import CczError, FormatError, OptionError
from .images import STDIN, open_image, open_input, read_all, to_pixels
from .interrupts import Terminated, ignore_interrupts, terminate_as_interrupt
from .kmeans.effort import SPEED_HELP
from .model import MAX_COLORS, MODES, Quantized
from .output import check_output, write_atomic
from .palettes import ColorCounts, color_histogram, palette_of
from .plot import FORMATS as PLOT_FORMATS
from .plot import plot_sweep, require_matplotlib
from .progress import progress
from .quality import parse_quality, quality_to_mse
from .quantize import DEFAULT_SPEED, FASTEST, SPACES
from .report import CczInfo, Sweep, ccz_info, hex_color, sweep
from .safetext import safe_text
from .sheet import contact_sheet
from .stdout import checked_stdout, write_stdout
from .writers import Writer, available_writers, broken_plugins, get_writer, writer_for_path

__all__ = ["main", "run"]

EXIT_NOT_SMALLER = 98  # pngquant's: --skip-if-larger kept the input
EXIT_QUALITY_TOO_LOW = 99  # pngquant's: --quality MIN not met, nothing written
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a command SIGTERM ended
DEFAULT_STATS_KS = (2, 5, 10, 20, 50)


class _Failure(click.ClickException):
    """A one-line error on stderr and a non-zero exit status."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

    def show(self, file=None) -> None:
        # The message may quote a file name or a file's content.
        click.echo(f"ccodec: error: {safe_text(self.format_message())}", err=True)


class _Interrupted(_Failure):
    exit_code = EXIT_INTERRUPTED


class _NotSmaller(_Failure):
    """--skip-if-larger kept the input: pngquant's status 98, said without "error"."""

    exit_code = EXIT_NOT_SMALLER

    def show(self, file=None) -> None:
        click.echo(f"ccodec: {safe_text(self.format_message())}", err=True)


class _QualityTooLow(_Failure):
    exit_code = EXIT_QUALITY_TOO_LOW


_FAILURES: dict[int, type[_Failure]] = {
    EXIT_NOT_SMALLER: _NotSmaller,
    EXIT_QUALITY_TOO_LOW: _QualityTooLow,
}


class _Terminated(_Failure):
    exit_code = EXIT_TERMINATED


class _UsageError(click.UsageError):
    """A malformed command line: click's usage line and hint, then the one error line every
    ccodec failure ends with, and exit status 2."""

    def show(self, file=None) -> None:
        ctx = self.ctx
        if ctx is not None:
            names = ctx.command.get_help_option_names(ctx)
            hint = f"Try '{ctx.command_path} {max(names, key=len)}' for help.\n" if names else ""
            click.echo(f"{ctx.get_usage()}\n{hint}", err=True, color=ctx.color)
        click.echo(f"ccodec: error: {self.format_message()}", err=True)


def _as_usage_error(exc: click.UsageError, *, escape: bool) -> _UsageError:
    """`exc` in ccodec's error format; `escape` for the parser's messages, which quote the
    arguments as given ("unexpected extra argument (NAME)")."""
    message = exc.format_message()
    return _UsageError(safe_text(message) if escape else message, exc.ctx)


class _Command(click.Command):
    """A subcommand whose usage errors are in ccodec's format."""

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        return _escaping_usage_errors(super().make_context, info_name, args, parent, **extra)


def _escaping_usage_errors(make_context, *args, **kwargs) -> click.Context:
    try:
        return make_context(*args, **kwargs)
    except _UsageError:
        raise
    except click.UsageError as exc:
        raise _as_usage_error(exc, escape=True) from None


class _Cli(click.Group):
    command_class = _Command
    # True when the command is the whole process (`run`), not a call inside another program.
    owns_process = False

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        return _escaping_usage_errors(super().make_context, info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context):
        try:
            with terminate_as_interrupt(), checked_stdout():
                return super().invoke(ctx)
        except _UsageError:
            raise
        except click.UsageError as exc:  # a command's own, or click's, which quotes by repr()
            raise _as_usage_error(exc, escape=False) from None
        except CczError as exc:
            raise _FAILURES.get(getattr(exc, "exit_status", 1), _Failure)(str(exc)) from None
        except KeyboardInterrupt as exc:
            if self.owns_process:  # on its way out: a second press must not end it by SIGINT
                ignore_interrupts()
            if isinstance(exc, Terminated):
                raise _Terminated("terminated") from None
            raise _Interrupted("interrupted") from None
        except MemoryError:
            task = ctx.meta.get(_TASK) or f"in ccodec {ctx.invoked_subcommand}"
            raise _Failure(f"out of memory {task}") from None


_TASK = "ccodec.task"


def _working_on(task: str) -> None:
    """Say what the command is doing, for the message if memory runs out ("decoding x.ccz")."""
    click.get_current_context().meta[_TASK] = task


class _KList(click.ParamType):
    """A comma-separated list of palette sizes, e.g. ``2,5,10``."""

    name = "K,K,..."

    def convert(self, value, param, ctx) -> tuple[int, ...]:
        if isinstance(value, tuple):
            return value
        try:
            ks = tuple(int(part) for part in str(value).split(","))
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of integers", param, ctx)
        bad = [k for k in ks if not 1 <= k <= MAX_COLORS]
        if bad:
            self.fail(f"K={bad[0]} is not in the range 1<=K<={MAX_COLORS}", param, ctx)
        return ks


# Options shared between commands, defined once.
force_option = click.option("-f", "--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
quiet_option = click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
seed_option = click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of the k-means++ initialisation; the same seed gives the same file.",
)
max_iter_option = click.option(
    "--max-iter",
    type=click.IntRange(min=1),
    default=300,
    show_default=True,
    help="Most Lloyd iterations.",
)
level_option = click.option(
    "--level",
    type=click.IntRange(1, 22),
    default=None,
    help="zstd level 1-22 [default: 19; 9 above 4 megapixels].",
)
max_pixels_option = click.option(
    "--max-pixels",
    type=click.IntRange(min=0),
    default=DEFAULT_MAX_PIXELS,
    show_default=True,
    help="Refuse .ccz files with more pixels than this; 0 means no limit.",
)


frame_option = click.option(
    "--frame",
    type=click.IntRange(min=0),
    metavar="N",
    help="Frame N of an animated or multi-page image (GIF, APNG, TIFF, WebP), counted "
    "from 0 [default: the first, with a warning when there are more].",
)
stretch_option = click.option(
    "--stretch",
    is_flag=True,
    help="Map a 16-bit or float grey image's own lowest..highest value onto 0..255, "
    "instead of v/257 (16-bit) or clipping to 0..255 (float): for data in a narrow range "
    "(12-bit scans, FITS), which otherwise comes out (nearly) black.",
)


def jobs_option(help: str):
    """-j N: how many processes share the work."""
    return click.option(
        "-j",
        "--jobs",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        metavar="N",
        help=help,
    )


# Paths are not checked by click (exists, readable, file_okay): a problem with a file is
# ccodec's to report, with exit status 1; click's usage errors (status 2) are about the
# command line alone.
_PATH = click.Path(path_type=Path, readable=False)
_NAME = click.Path(readable=False)  # kept a str: Path("new/") drops the slash
input_argument = click.argument("input", type=_PATH)
output_argument = click.argument("output", type=_NAME)


def _scheduler_address(ctx: click.Context, param: click.Parameter, value: str | None):
    """--scheduler's value, checked: an empty or malformed address is a usage error."""
    try:
        return None if value is None else check_address(value)
    except OptionError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group(
    "ccodec",
    cls=_Cli,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Exit status: 0 done; 1 an error with a file, its data or the system (one "
    "ccodec: error: line); 2 a malformed command line; 98 encode --skip-if-larger kept an "
    "input; 99 encode --quality MIN not met (nothing written); 130 interrupted (Ctrl-C); "
    "143 terminated (SIGTERM).",
)
@click.version_option(__version__, "-V", "--version", prog_name="ccodec")
def main() -> None:
    """Compress images by k-means colour quantization into .ccz files, and back.

    \b
      ccodec encode photo.jpg -k 16 photo.ccz
      ccodec encode *.jpg -k 16 -o out/ -j 2
      ccodec decode photo.ccz photo.png
      ccodec stats photo.jpg -k 4,16,64
    """


def run() -> None:
    """The ``ccodec`` program (console script and ``python -m ccodec``): `main` as a process."""
    assert isinstance(main, _Cli)
    main.owns_process = True
    main(prog_name="ccodec")


DEFAULT_COLORS = 256  # pngquant's default


def _parse_quality(ctx: click.Context, param: click.Parameter, value: str | None):
    """--quality's MIN-MAX, checked: a malformed range is a usage error."""
    try:
        return None if value is None else parse_quality(value)
    except OptionError as exc:
        raise click.BadParameter(str(exc)) from None


def _encode_output_options(command: Callable) -> Callable:
    """encode's output format and pngquant's conventions (--quality, --skip-if-larger, --ext)."""
    options = [
        click.option(
            "--format",
            "format_name",
            metavar="NAME",
            help="Output format: ccz, png, webp (lossless) or another exact writer "
            "(default: from OUTPUT's extension, else ccz; with -o, ccz).",
        ),
        click.option(
            "--quality",
            metavar="MIN-MAX",
            callback=_parse_quality,
            help="pngquant's 0-100 quality: the smallest K (up to -k) that reaches MAX; if "
            "even that K is below MIN, nothing is written and the exit status is 99. Also "
            "MAX (MIN = 90% of it), -MAX (MIN 0) and MIN- (MAX 100).",
        ),
        click.option(
            "--skip-if-larger",
            is_flag=True,
            help="Write nothing, and keep the input, when the result is not smaller than the "
            "input file (exit status 98, as pngquant).",
        ),
        click.option(
            "--ext",
            metavar="EXT",
            help="Several files: write each as its name without extension + EXT (e.g. "
            "-fs8.png), beside the input or in -o DIR; the format follows EXT. "
            "--ext .png --force replaces PNG inputs with their results.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command(context_settings={"max_content_width": 100})
@click.argument("paths", nargs=-1, required=True, metavar="INPUT OUTPUT | INPUT... -o DIR")
@click.option(
    "-o",
    "--output-dir",
    type=_PATH,
    metavar="DIR",
    help="Encode every INPUT (files, folders, glob patterns) into DIR, as NAME.ccz; "
    "DIR is made if missing.",
)
@click.option(
    "-k",
    "--colors",
    "k",
    type=click.IntRange(1, MAX_COLORS),
    help=f"Number of palette colours, 1-{MAX_COLORS:,} [default: 256]; with --quality, "
    "--max-mse or --min-psnr, the most that may be used. Time grows with K times the image's "
    "distinct colours: K in the thousands takes minutes on a large photo, K = 65,536 "
    "can take hours (a bar shows progress on a terminal).",
)
@click.option(
    "--max-mse",
    type=click.FloatRange(min=0),
    help="Instead of a fixed K: the smallest K whose MSE (0-1 scale) is at most this.",
)
@click.option(
    "--min-psnr",
    type=click.FloatRange(min=0),
    metavar="DB",
    help="Instead of a fixed K: the smallest K whose PSNR is at least DB decibels.",
)
@click.option(
    "--dither",
    "dither_method",
    type=click.Choice(DITHER_METHODS),
    default="none",
    show_default=True,
    help="How pixels map to the palette: nearest entry (none), Floyd-Steinberg error "
    "diffusion, or an ordered 8x8 Bayer pattern. Dithering raises MSE and size but "
    "hides banding.",
)
@click.option(
    "--space",
    type=click.Choice(SPACES),
    default="rgb",
    show_default=True,
    help="Colour space k-means clusters in: rgb (lowest MSE) or oklab (perceptual: lower "
    "visible error on photos, higher MSE). The palette is stored as sRGB either way.",
)
@click.option(
    "--speed",
    type=click.IntRange(1, FASTEST),
    default=DEFAULT_SPEED,
    show_default=True,
    metavar="N",
    help="Quantizer speed, 1 (slowest, lowest error) to "
    f"{FASTEST} (fastest), as pngquant counts. " + SPEED_HELP,
)
@click.option(
    "--strip",
    is_flag=True,
    help="Drop the input's ICC profile and text metadata (kept in the .ccz by default).",
)
@click.option(
    "--coding",
    type=click.Choice(["auto", *CODINGS]),
    default="auto",
    show_default=True,
    help="How the indices are stored: zstd (bit-packed rows), context (adaptive context "
    "coder, .ccz 1.2), rans (1.1's rANS, written only when asked for), or auto: zstd and "
    "context tried, the smaller kept.",
)
@click.option(
    "--map",
    "map_image",
    type=_PATH,
    metavar="IMAGE",
    help="Map every INPUT onto the colours of IMAGE instead of quantizing: its palette if "
    "it is a palette image (PNG-8, GIF; entries kept in their order), else its distinct "
    "colours (at most 65,536). Works with every --dither; not with -k or a quality target.",
)
@click.option(
    "--shared-palette",
    is_flag=True,
    help="With -o: one palette of K colours for all INPUTs together (their colour "
    "histograms added), each image then mapped onto it (with --dither); the inputs meet in "
    "the widest mode among them. A file that cannot be read stops it before anything is "
    "written.",
)
@frame_option
@stretch_option
@seed_option
@max_iter_option
@level_option
@_encode_output_options
@jobs_option("With -o: encode N files at once, in separate processes.")
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    callback=_scheduler_address,
    help="With -o: run the files on the Dask cluster at ADDRESS (tcp://host:8786; needs "
    'pip install "ccodec[dask]", and workers that see the same paths). Fails if no Dask '
    "scheduler answers there within --scheduler-timeout.",
)
@click.option(
    "--scheduler-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_SCHEDULER_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the --scheduler to answer.",
)
@click.option(
    "--skip-existing",
    is_flag=True,
    help="Leave outputs that already exist as they are, and do not encode their inputs.",
)
@force_option
@quiet_option
@click.pass_context
def encode(
    ctx: click.Context,
    paths: tuple[str, ...],
    output_dir: Path | None,
    k: int | None,
    max_mse: float | None,
    min_psnr: float | None,
    dither_method: str,
    space: str,
    speed: int,
    strip: bool,
    coding: str,
    map_image: Path | None,
    shared_palette: bool,
    frame: int | None,
    stretch: bool,
    seed: int,
    max_iter: int,
    level: int | None,
    jobs: int,
    scheduler: str | None,
    scheduler_timeout: float,
    skip_existing: bool,
    force: bool,
    quiet: bool,
    format_name: str | None,
    ext: str | None,
    quality: tuple[int, int] | None,
    skip_if_larger: bool,
) -> None:
    """Quantize images to K colours and write them as .ccz, PNG or WebP files.

    \b
      ccodec encode photo.jpg -k 16 photo.ccz     one file: INPUT OUTPUT
      ccodec encode shot.png -k 64 small.png      a palette PNG
      ccodec encode *.jpg shots/ -k 16 -o out/    many: INPUT... -o DIR
      ccodec encode *.png --quality 60-80 --ext -q.png
      cat photo.jpg | ccodec encode - -k 16 - > photo.ccz

    INPUT is any image Pillow reads; - is standard input (and OUTPUT -
    standard output). With -o, each INPUT may be a file, a folder (its
    images) or a quoted glob pattern ('shots/**/*.png'), each written to
    DIR/NAME.ccz (--format or --ext for others); a file that fails is
    reported and the others go on, and a last line sums up; Ctrl-C
    abandons the files in progress (leaving nothing of them), lists those
    written and exits with status 130. Give
    -k K (default 256), or a quality target (--quality, --max-mse or
    --min-psnr) and ccodec finds the smallest K that meets it. The format
    follows OUTPUT's extension (.png, .webp, .ccz; other names .ccz) or
    --format. Prints K, the error (MSE on a 0-1 scale, PSNR) and the size of
    each result.
    """
    if sum(target is not None for target in (max_mse, min_psnr, quality)) > 1:
        raise click.UsageError("give one of --quality, --max-mse and --min-psnr")
    least_mse = None
    if quality is not None:
        least, most = quality
        max_mse = quality_to_mse(most)
        least_mse = quality_to_mse(least) if least > 0 else None
    targeted = max_mse is not None or min_psnr is not None
    _check_palette_options(ctx, map_image, shared_palette, targeted, output_dir)
    if k is None and not targeted and map_image is None:
        k = DEFAULT_COLORS
    if targeted and dither_method != "none":
        # The target is met by the undithered labels; dithering would raise the error again.
        raise click.UsageError("--dither cannot be combined with --max-mse or --min-psnr")
    if force and skip_existing:
        raise click.UsageError("give --force or --skip-existing, not both")
    options = EncodeOptions(
        k=k,
        max_mse=max_mse,
        min_psnr=min_psnr,
        dither_method=dither_method,
        space=space,
        speed=speed,
        seed=seed,
        max_iter=max_iter,
        level=level,
        strip=strip,
        coding=coding,
        stretch=stretch,
    )
    if map_image is not None:
        options = dataclasses.replace(options, k=None, palette=_map_palette(map_image))
    quality_text = "" if quality is None else "{}-{}".format(*quality)

    def make_job(source: str, target: str, writer: Writer) -> Job:
        return Job(
            source,
            target,
            options,
            force,
            skip_existing,
            frame,
            writer=writer.name,
            least_mse=least_mse,
            quality=quality_text,
            skip_if_larger=skip_if_larger,
            in_place=_same_path(source, target),
        )

    if output_dir is None and ext is None:
        if len(paths) != 2:
            raise click.UsageError(
                "give INPUT OUTPUT for one file, or INPUT... -o DIR (or --ext EXT) for several"
                if len(paths) > 2
                else "give an OUTPUT file after INPUT, or -o DIR to write INPUT.ccz into DIR"
            )
        _refuse_options(
            ctx, ["-j", "--scheduler", "--scheduler-timeout"], "several files, with -o DIR"
        )
        source, target = paths
        writer = _encode_writer(target, format_name)
        if skip_if_larger and source == STDIN:
            raise OptionError("--skip-if-larger compares with an input file, not - (stdin)")
        _encode_one_file(
            dataclasses.replace(make_job(source, target, writer), in_place=False), quiet
        )
        return
    if jobs > 1 and scheduler is not None:
        raise click.UsageError("give -j N or --scheduler, not both")
    writer, suffix = _batch_writer(format_name, ext)
    inputs = expand_inputs(paths)
    outputs = plan_outputs(inputs, output_dir, suffix, in_place=force)
    batch = [
        make_job(str(source), str(target), writer)
        for source, target in zip(inputs, outputs, strict=True)
    ]
    if shared_palette:
        palette = _shared_palette(batch, options)
        batch = [dataclasses.replace(job, options=palette) for job in batch]
    connect = dask_client(scheduler, timeout=scheduler_timeout) if scheduler is not None else None
    with connect or contextlib.nullcontext() as client:
        if output_dir is not None:
            _make_folder(output_dir)
        _run_batch(batch, jobs, client, quiet)


def _encode_writer(target: str, format_name: str | None) -> Writer:
    """The writer for encode's OUTPUT: --format, else its extension's, else ccz."""
    if format_name:
        writer = get_writer(format_name)
    elif target == STDIN:
        writer = get_writer("ccz")
    else:
        try:
            writer = writer_for_path(target)
        except OptionError:  # no extension, or one no writer claims: a .ccz, as before
            writer = get_writer("ccz")
    if writer.lossy:
        raise OptionError(
            f"{target}: encode writes exact formats (ccz, png, webp, ...), and {writer.name} "
            f"is lossy; write a .png or .ccz, then `ccodec decode --quality Q` it to "
            f"{writer.name}"
        )
    return writer


def _batch_writer(format_name: str | None, ext: str | None) -> tuple[Writer, str]:
    """The writer and the output name suffix for encode's many-files form."""
    if ext is not None and (not ext or "/" in ext or os.sep in ext):
        raise OptionError(f"--ext {ext!r}: give the end of a file name, like .png or -fs8.png")
    if format_name is None and ext is not None:
        writer = _encode_writer(f"x{ext}", None)
    else:
        writer = _encode_writer("x", format_name)
    return writer, ext if ext is not None else writer.extensions[0]


def _same_path(a: str, b: str) -> bool:
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _check_palette_options(
    ctx: click.Context,
    map_image: Path | None,
    shared_palette: bool,
    targeted: bool,
    output_dir: Path | None,
) -> None:
    """Usage errors for --map and --shared-palette given with options they exclude."""
    k_given = ctx.get_parameter_source("k") is click.core.ParameterSource.COMMANDLINE
    if map_image is not None:
        if shared_palette:
            raise click.UsageError("give --map or --shared-palette, not both")
        if k_given or targeted:
            raise click.UsageError(
                "--map takes its colours from IMAGE: give no -k, --quality, --max-mse or --min-psnr"
            )
    if shared_palette:
        if output_dir is None:
            raise click.UsageError("--shared-palette is for several files: INPUT... -o DIR")
        if targeted:
            raise click.UsageError("--shared-palette takes -k K, not a quality target")


def _map_palette(path: Path) -> np.ndarray:
    """The palette of the --map image, its problems the command's errors."""
    _working_on(f"reading the --map image {path}")
    try:
        image = open_image(path, capture_stderr=True)
    except CczError as exc:
        raise type(exc)(f"--map {exc}") from None  # the message starts with the path
    try:
        return palette_of(image)
    except CczError as exc:
        raise type(exc)(f"--map {path}: {exc}") from None


def _shared_palette(batch: list[Job], options: EncodeOptions) -> EncodeOptions:
    """`options` with the --shared-palette of all the batch's inputs (k replaced by it).

    Every input is read once here for its colour histogram, added to the others' at once
    (then again by its job): the palette depends on all of them, so one that cannot be read
    stops the command before anything is written.
    """
    colours = ColorCounts()
    failed = []
    with progress(len(batch), "reading for the shared palette") as step:
        for job in batch:
            _working_on(f"reading {job.source} for the shared palette")
            try:
                image = open_image(job.source, frame=job.frame, capture_stderr=True)
                colours.add(*color_histogram(to_pixels(image, stretch=options.stretch)))
            except CczError as exc:
                failed.append(str(exc))
            step()
    for line in failed:
        click.echo(f"ccodec: error: {safe_text(line)}", err=True)
    if failed:
        raise _Failure(
            f"--shared-palette needs every input: {len(failed)} of {_files(len(batch))} "
            "could not be read, nothing written"
        )
    _working_on(f"making one palette of K={options.k} for {_files(len(batch))}")
    assert options.k is not None  # -k, or its default, when there is no quality target
    palette = colours.palette(
        options.k, seed=options.seed, max_iter=options.max_iter, space=options.space
    )
    return dataclasses.replace(options, k=None, palette=palette)


def _encode_one_file(job: Job, quiet: bool) -> None:
    """The INPUT OUTPUT form: errors are the command's errors."""
    if job.target == STDIN:
        _refuse_terminal(job.writer)
    else:
        if Path(job.target).is_dir():
            raise OptionError(f"{job.target}: is a folder; to write into it, use -o {job.target}")
    _working_on(f"encoding {job.source}")
    with _quantize_progress() as on_progress:
        result = encode_one(job, on_progress)
    if result.status == "kept":
        raise _NotSmaller(result.line)
    if result.data is not None:
        write_stdout(result.data)
    if result.warning:
        click.echo(f"ccodec: warning: {safe_text(result.warning)}", err=True)
    if not quiet:
        # With the .ccz on stdout, the summary goes to stderr.
        click.echo(safe_text(result.line), err=job.target == STDIN)


# A bar for quick encodes would only flicker: it appears once one has run this long.
PROGRESS_AFTER_SECONDS = 2.0


@contextlib.contextmanager
def _quantize_progress() -> Iterator[Callable[[float], None]]:
    """Yield an `on_progress` for `quantize` that draws a bar on a terminal (stderr) once
    the quantization has run `PROGRESS_AFTER_SECONDS`; nothing otherwise."""
    with contextlib.ExitStack() as stack:
        started = time.monotonic()
        step: Callable[[], None] | None = None
        shown = 0

        def on_progress(fraction: float) -> None:
            nonlocal step, shown
            if step is None:
                if time.monotonic() - started < PROGRESS_AFTER_SECONDS:
                    return
                step = stack.enter_context(progress(100, "quantizing"))
            while shown < int(fraction * 100):
                step()
                shown += 1

        yield on_progress


def _run_batch(
    batch: list,
    workers: int,
    client: object,
    quiet: bool,
    *,
    work: Callable[..., FileResult] | None = None,
    verb: str = "encoding",
) -> None:
    """The INPUT... -o DIR form of encode and decode: one line per file, failures do not stop
    the rest; `work` (default `batch.encode_file`) does one job.

    Ctrl-C stops the files in progress (they leave nothing behind), lists the
    files written (even with -q) and the summary, and exits with status 130.
    """
    counts = {"written": 0, "skipped": 0, "kept": 0, "failed": 0}
    statuses: set[int] = set()
    sizes = {"in": 0, "out": 0}
    written: list[FileResult] = []
    drawing = len(batch) > 1 and sys.stderr.isatty()
    before = {job.target: _file_identity(job.target) for job in batch}

    def report(result: FileResult) -> None:
        counts[result.status] += 1
        if result.status in ("failed", "kept"):
            statuses.add(result.exit_status or 1)
        sizes["in"] += result.bytes_in
        sizes["out"] += result.bytes_out
        if result.status == "written":
            written.append(result)
        if result.status == "failed":
            _echo_under_bar(f"ccodec: error: {result.line}", err=True, bar=drawing)
            return
        if result.warning:
            _echo_under_bar(f"ccodec: warning: {result.warning}", err=True, bar=drawing)
        if not quiet:
            _echo_under_bar(result.line, err=False, bar=drawing)

    def summary(rest: str = "") -> str:
        kept = f", {counts['kept']} not smaller (input kept)" if counts["kept"] else ""
        return (
            f"ccodec: {_files(len(batch))}: {counts['written']} written ({sizes['in']:,} bytes "
            f"in, {sizes['out']:,} bytes out), {counts['skipped']} skipped, "
            f"{counts['failed']} failed{kept}{rest}"
        )

    with run_jobs(batch, workers=workers, client=client, work=work) as results:
        try:
            with progress(len(batch), verb) as step:
                for result in results:
                    report(result)
                    step()
        except KeyboardInterrupt:
            for result in results.stop():  # finished while an earlier file was still running
                report(result)
            for result in _written_unreported(batch, before, written):
                report(result)
            if quiet:
                for result in written:
                    click.echo(safe_text(result.line))
            not_done = len(batch) - sum(counts.values())
            done = "encoded" if verb == "encoding" else "decoded"
            click.echo(summary(f", {not_done} not {done} (interrupted)"))
            raise
    if not quiet:
        click.echo(summary())
    if counts["failed"] and 1 in statuses:
        raise _Failure(f"{counts['failed']} of {_files(len(batch))} failed")
    if statuses:  # only pngquant's outcomes: the worst of them, as a status
        status = max(statuses)
        message = (
            f"{counts['failed']} of {_files(len(batch))} below the --quality minimum"
            if status == EXIT_QUALITY_TOO_LOW
            else f"{counts['kept']} of {_files(len(batch))} not smaller, inputs kept"
        )
        raise _FAILURES[status](message)


def _file_identity(path: str) -> tuple[int, ...] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)


def _written_unreported(
    batch: list[Job], before: dict[str, tuple[int, ...] | None], reported: list[FileResult]
) -> list[FileResult]:
    """Outputs an interrupt caught after their rename but before their result came back.

    Told by the file itself: it exists now and is not the file that was there before.
    """
    listed = {os.path.abspath(result.target) for result in reported}
    found = []
    for job in batch:
        now = _file_identity(job.target)
        if now is None or now == before[job.target]:
            continue
        if os.path.abspath(job.target) not in listed:
            line = f"{job.target}: written (interrupted before its summary)"
            found.append(FileResult("written", line, bytes_out=now[3], target=job.target))
    return found


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def _echo_under_bar(text: str, *, err: bool, bar: bool) -> None:
    """Print a line (escaped: it names a file) while a progress bar may be drawn on stderr."""
    if bar:  # clear the bar's line first (ANSI erase-in-line: click.style has no such code)
        click.echo("\r\x1b[K", nl=False, err=True)
    click.echo(safe_text(text), err=err)


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OptionError(f"{folder}: -o needs a folder, and this is a file") from None
    except OSError as exc:
        raise OptionError(f"{folder}: cannot make the folder: {exc.strerror or exc}") from None


def _refuse_terminal(what: str) -> None:
    """stdout must not be a terminal when it gets binary data."""
    if _stdout_is_terminal():
        raise OptionError(
            f"-: will not write {what} data to a terminal; redirect standard output "
            "(> file, | command) or name an OUTPUT file"
        )


def _stdout_is_terminal() -> bool:
    return sys.stdout is not None and sys.stdout.isatty()


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="INPUT OUTPUT | INPUT... -o DIR")
@click.option(
    "-o",
    "--output-dir",
    type=_PATH,
    metavar="DIR",
    help="Decode every INPUT (.ccz files, folders, glob patterns) into DIR, as NAME.png "
    "(or --format's extension); DIR is made if missing.",
)
@click.option(
    "--format",
    "format_name",
    metavar="NAME",
    help="Output format (default: from OUTPUT's extension; with -o, png); `ccodec writers` "
    "lists them.",
)
@click.option(
    "--quality",
    type=int,
    help="JPEG quality 1-95 (default 90), or WebP or AVIF quality 0-100 (makes WebP "
    "lossy); exact formats (PNG, TIFF, .ccz, ...) take none.",
)
@click.option(
    "--optimize",
    is_flag=True,
    help='PNG output: recompress it with oxipng (pip install "ccodec[png]"), as encode does; '
    "smaller, several times slower.",
)
@max_pixels_option
@jobs_option("With -o: decode N files at once, in separate processes.")
@click.option(
    "--skip-existing",
    is_flag=True,
    help="With -o: leave outputs that already exist as they are.",
)
@force_option
@quiet_option
@click.pass_context
def decode(
    ctx: click.Context,
    paths: tuple[str, ...],
    output_dir: Path | None,
    format_name: str | None,
    quality: int | None,
    optimize: bool,
    max_pixels: int,
    jobs: int,
    skip_existing: bool,
    force: bool,
    quiet: bool,
) -> None:
    """Decode the .ccz file INPUT and write it as OUTPUT (PNG, JPEG, WebP, TIFF, ...).

    \b
      ccodec decode photo.ccz photo.png         one file: INPUT OUTPUT
      ccodec decode *.ccz -o png/ -j 2          many: INPUT... -o DIR

    PNG, TIFF, WebP and .ccz outputs are exact; JPEG is lossy, and puts
    transparent parts on white. INPUT - reads standard input; OUTPUT -
    writes standard output and needs --format (ccodec decode - - --format png).
    With -o, the batch rules of encode apply: a file that fails is reported
    and the others go on, a last line sums up, Ctrl-C exits with status 130.
    """
    if output_dir is not None:
        if force and skip_existing:
            raise click.UsageError("give --force or --skip-existing, not both")
        _decode_batch(
            paths,
            output_dir,
            format_name,
            quality,
            optimize,
            max_pixels,
            jobs,
            skip_existing,
            force,
            quiet,
        )
        return
    if len(paths) != 2:
        raise click.UsageError(
            "give INPUT OUTPUT for one file, or INPUT... -o DIR for several"
            if len(paths) > 2
            else "give an OUTPUT file after INPUT, or -o DIR to decode into DIR"
        )
    _refuse_options(ctx, ["-j", "--skip-existing"], "several files, with -o DIR")
    input, output = Path(paths[0]), paths[1]
    to_stdout = output == STDIN
    if to_stdout and not format_name:
        raise OptionError("-: writing to standard output needs --format NAME (e.g. --format png)")
    inputs = [] if str(input) == STDIN else [input]
    if not to_stdout:  # before the work, and with OUTPUT as typed: "new/" is no file name
        check_output(output, inputs=inputs, force=force)
    writer = get_writer(format_name) if format_name else writer_for_path(output)
    if to_stdout:
        _refuse_terminal(f"{writer.name} image")
    _check_decode_quality(writer, quality)
    _check_optimize(writer, optimize)
    options = writer_options(quality, optimize)
    q = _read_ccz(input, max_pixels, doing="decoding")
    if to_stdout:
        # Written whole in memory first, so a failing writer sends nothing.
        buffer = io.BytesIO()
        writer.write(q, buffer, **options)
        write_stdout(buffer.getvalue())
        size = len(buffer.getvalue())
    else:
        write_atomic(output, lambda fp: writer.write(q, fp, **options), inputs=inputs, force=force)
        size = os.stat(output).st_size
    if not quiet:
        line = f"{output}: {_describe(q)}, {writer.name}, {size:,} bytes"
        click.echo(safe_text(line), err=to_stdout)


def _decode_batch(
    paths: tuple[str, ...],
    output_dir: Path,
    format_name: str | None,
    quality: int | None,
    optimize: bool,
    max_pixels: int,
    jobs: int,
    skip_existing: bool,
    force: bool,
    quiet: bool,
) -> None:
    """decode INPUT... -o DIR: encode's batch machinery with `decode_file` as the work."""
    writer = get_writer(format_name or "png")
    _check_decode_quality(writer, quality)
    _check_optimize(writer, optimize)
    inputs = expand_inputs(paths, folder_extensions=[".ccz"])
    outputs = plan_outputs(inputs, output_dir, writer.extensions[0])
    batch = [
        DecodeJob(
            str(source),
            str(target),
            writer.name,
            quality,
            max_pixels or None,
            force,
            skip_existing,
            optimize=optimize,
        )
        for source, target in zip(inputs, outputs, strict=True)
    ]
    _make_folder(output_dir)
    _run_batch(batch, jobs, None, quiet, work=decode_file, verb="decoding")


def _check_optimize(writer: Writer, optimize: bool) -> None:
    if optimize and (writer.options is None or "optimize" not in writer.options):
        raise OptionError(f"--optimize applies to png output, not {writer.name}")


def _check_decode_quality(writer: Writer, quality: int | None) -> None:
    if quality is not None and writer.options is not None and "quality" not in writer.options:
        raise OptionError(
            f"--quality applies to jpeg, webp and avif output; the {writer.name} writer takes none"
        )


@main.command()
@click.argument("file", required=False, type=_PATH)
@click.option(
    "-k",
    "ks",
    type=_KList(),
    default=",".join(map(str, DEFAULT_STATS_KS)),
    show_default=True,
    help="Palette sizes to try, comma-separated.",
)
@click.option(
    "--original",
    type=_PATH,
    help="For a .ccz FILE: the image it was made from, to report MSE and PSNR against.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text (see README).")
@click.option(
    "--plot",
    type=_NAME,
    metavar="FILE.png|FILE.svg",
    help='Draw MSE, PSNR and bytes against K (needs pip install "ccodec[plot]").',
)
@click.option(
    "--sheet",
    type=_NAME,
    metavar="FILE.png",
    help="Write a contact sheet: the original beside the image at each K.",
)
@frame_option
@stretch_option
@jobs_option("Quantize N values of K at once, in separate processes.")
@seed_option
@max_iter_option
@level_option
@max_pixels_option
@click.option("-f", "--force", is_flag=True, help="Overwrite the --plot and --sheet files.")
@click.pass_context
def stats(
    ctx: click.Context,
    file: Path | None,
    ks: tuple[int, ...],
    original: Path | None,
    as_json: bool,
    plot: str | None,
    sheet: str | None,
    frame: int | None,
    stretch: bool,
    jobs: int,
    seed: int,
    max_iter: int,
    level: int | None,
    max_pixels: int,
    force: bool,
) -> None:
    """Error and size at several K for an image, or what a .ccz FILE holds.

    For an image (default: the bundled 512x512 astronaut photo), one row per K:
    MSE, PSNR, .ccz bytes, bits per pixel, how many times smaller than the raw
    pixels and than the input file, and the same quantized image's size as
    palette PNG and lossless WebP (as `ccodec decode` writes them).
    FILE - reads standard input.
    """
    with _sample_or(file) as path:
        ccz_data, image_data = _read_stats_input(path, max_pixels)
        if ccz_data is not None:
            image_only = ["-k", "--plot", "--sheet", "-j", "--seed", "--max-iter", "--level"]
            _refuse_options(ctx, image_only, "an image, not to a .ccz file")
            if original is None:
                _refuse_options(ctx, ["--frame", "--stretch"], "an image, or to --original")
            info = _ccz_info(path, ccz_data, max_pixels, original, frame=frame, stretch=stretch)
            if as_json:
                _print_json(info.to_json(str(path)))
            else:
                _print_ccz_info(path, info)
            return
        _refuse_options(ctx, ["--original"], "a .ccz FILE")
        inputs = [] if str(path) == STDIN else [path]
        plot_format = _check_stats_outputs(plot, sheet, inputs=inputs, force=force)
        _working_on(f"reading {path}")
        pixels = _read_pixels(path, frame=frame, stretch=stretch, data=image_data)
        _working_on(f"quantizing {path} ({_size_of(pixels)})")
        with progress(len(ks), "quantizing") as step:
            result = sweep(
                pixels,
                ks,
                image="bundled sample" if file is None else str(file),
                input_bytes=path.stat().st_size if image_data is None else len(image_data),
                seed=seed,
                max_iter=max_iter,
                level=level,
                jobs=jobs,
                on_row=step,
            )
        _write_stats_outputs(result, pixels, plot, plot_format, sheet, inputs=inputs, force=force)
    if as_json:
        _print_json(result.to_json())
    else:
        _print_sweep(path.name, result)


@main.command()
def writers() -> None:
    """List the output formats decode can write, and where each comes from."""
    rows = [
        (w.name, " ".join(w.extensions), "lossy" if w.lossy else "exact", w.source, w.description)
        for w in available_writers()
    ]
    # Plugins' names and descriptions are someone else's text: escaped like a file's.
    table = [tuple(safe_text(cell) for cell in row) for row in rows]
    header = ("name", "extensions", "output", "source", "description")
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(4)]
    for row in [header, *table]:
        cells = (cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
        click.echo("  ".join([*cells, row[4]]))
    for problem in broken_plugins():
        click.echo(f"ccodec: warning: {safe_text(problem)}", err=True)


def _size_of(pixels: np.ndarray) -> str:
    height, width = pixels.shape[:2]
    return f"{width}x{height} {MODES[1 if pixels.ndim == 2 else pixels.shape[2]]}"


def _describe(q: Quantized) -> str:
    return f"{q.width}x{q.height} {q.mode}, K={q.k}"


@contextlib.contextmanager
def _sample_or(file: Path | None) -> Iterator[Path]:
    if file is not None:
        yield file
        return
    sample = importlib.resources.files("ccodec") / "data" / "astronaut.png"
    with importlib.resources.as_file(sample) as path:
        yield path


def _read_stats_input(path: Path, max_pixels: int) -> tuple[bytes | None, bytes | None]:
    """(the .ccz bytes, None) for a .ccz file; else (None, the image's bytes, or None for a
    regular file Pillow may open by name). Read once: a pipe or /dev/stdin cannot be reread."""
    with open_input(path, seekable=False) as fp:
        head = fp.read(HEADER_SIZE)
        if head[:4] == SIGNATURE[:4]:
            return _rest_of_ccz(path, head, fp, max_pixels, doing="reading"), None
        if _is_regular_file(fp):
            return None, None
        return None, head + read_all(fp, str(path))


def _is_regular_file(fp: BinaryIO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(fp.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # no file descriptor behind it
        return False


def _read_ccz_bytes(path: Path, max_pixels: int, *, doing: str) -> bytes:
    """The bytes of a .ccz file, reading no more than its header announces (+1 to see extra).

    `doing` ("decoding") names the work on it if memory runs out.
    """
    with open_input(path, seekable=False) as fp:
        return _rest_of_ccz(path, fp.read(HEADER_SIZE), fp, max_pixels, doing=doing)


def _rest_of_ccz(path: Path, head: bytes, fp: BinaryIO, max_pixels: int, *, doing: str) -> bytes:
    """`head`, a .ccz file's first bytes, and the rest its header announces (+1 to see extra)."""
    try:
        header = read_header(head, max_pixels=max_pixels or None)
    except FormatError as exc:
        raise type(exc)(f"{path}: {exc}") from None
    _working_on(f"{doing} {path} ({header.width}x{header.height} {header.mode})")
    return head + fp.read(header.file_size - len(head) + 1)


def _read_ccz(path: Path, max_pixels: int, *, doing: str) -> Quantized:
    data = _read_ccz_bytes(path, max_pixels, doing=doing)
    try:
        return ccz.decode(data, max_pixels=max_pixels or None)
    except FormatError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def _refuse_options(ctx: click.Context, names: list[str], applies_to: str) -> None:
    """OptionError if the user gave any of the options `names` (by their first spelling)."""
    for param in ctx.command.params:
        given = ctx.get_parameter_source(param.name) is click.core.ParameterSource.COMMANDLINE
        if given and param.opts[0] in names:
            raise OptionError(f"{param.opts[-1]} applies to {applies_to}")


def _check_stats_outputs(
    plot: str | None, sheet: str | None, *, inputs: list[Path], force: bool
) -> str:
    """Refuse bad --plot and --sheet files before any work; return the plot's format."""
    plot_format = ""
    if plot is not None:
        suffix = Path(plot).suffix
        plot_format = suffix.lower().lstrip(".")
        if plot_format not in PLOT_FORMATS:
            raise OptionError(f"{plot}: --plot writes .png or .svg files, not {suffix!r}")
        require_matplotlib()
        check_output(plot, inputs=inputs, force=force)
    if sheet is not None:
        if Path(sheet).suffix.lower() != ".png":
            raise OptionError(f"{sheet}: --sheet writes .png files, not {Path(sheet).suffix!r}")
        check_output(sheet, inputs=inputs, force=force)
    if plot is not None and sheet is not None and Path(plot).resolve() == Path(sheet).resolve():
        raise OptionError(f"{plot}: --plot and --sheet name the same file")
    return plot_format


def _write_stats_outputs(
    result: Sweep,
    pixels: np.ndarray,
    plot: str | None,
    plot_format: str,
    sheet: str | None,
    *,
    inputs: list[Path],
    force: bool,
) -> None:
    if plot is not None:
        draw = functools.partial(plot_sweep, result, format=plot_format)
        write_atomic(plot, draw, inputs=inputs, force=force)
    if sheet is not None:
        image = contact_sheet(pixels, result)
        save = functools.partial(image.save, format="PNG", optimize=True)
        write_atomic(sheet, save, inputs=inputs, force=force)


def _print_json(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2))


def _print_sweep(name: str, result: Sweep) -> None:
    click.echo(
        f"{safe_text(name)}: {result.width}x{result.height} {result.mode}, "
        f"{result.raw_bytes:,} raw bytes, "
        f"{result.input_bytes:,} file bytes, seed {result.seed}"
    )
    click.echo(
        f"{'K':>4} {'MSE':>11} {'PSNR dB':>8} {'.ccz bytes':>11} {'bpp':>7} "
        f"{'x raw':>7} {'x file':>7} {'PNG-8 bytes':>12} {'WebP bytes':>11}"
    )
    for row in result.rows:
        webp = "-" if row.webp_lossless_bytes is None else f"{row.webp_lossless_bytes:,}"
        click.echo(
            f"{row.k:>4} {row.mse:>11.6g} {_decibels(row.psnr):>8} {row.ccz_bytes:>11,} "
            f"{row.bits_per_pixel:>7.3f} {row.ratio_raw:>7.1f} {row.ratio_input:>7.1f} "
            f"{row.png8_bytes:>12,} {webp:>11}"
        )


def _decibels(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.2f}"


def _read_pixels(
    path: Path, *, frame: int | None, stretch: bool, data: bytes | None = None
) -> np.ndarray:
    """The pixels of the image at `path` (or its bytes `data`), a warning line for each note."""
    notes: list[str] = []
    image = open_image(path, frame=frame, notes=notes, capture_stderr=True, data=data)
    pixels = to_pixels(image, stretch=stretch, notes=notes)
    for note in notes:
        click.echo(f"ccodec: warning: {safe_text(f'{path}: {note}')}", err=True)
    return pixels


def _ccz_info(
    path: Path,
    data: bytes,
    max_pixels: int,
    original: Path | None,
    *,
    frame: int | None,
    stretch: bool,
) -> CczInfo:
    """The info of the .ccz file `data` read from `path`, compared with `original` if given."""
    pixels = None if original is None else _read_pixels(original, frame=frame, stretch=stretch)
    try:
        return ccz_info(data, max_pixels=max_pixels or None, original=pixels)
    except FormatError as exc:
        raise type(exc)(f"{path}: {exc}") from None
    except OptionError as exc:  # the original does not match the file
        raise OptionError(f"--original {original}: {exc}") from None


def _print_ccz_info(path: Path, info: CczInfo) -> None:
    lines = [
        ("size", f"{info.width}x{info.height}"),
        ("mode", info.mode),
        ("K", str(info.k)),
        ("bits per index", str(info.bits)),
        ("coding", info.coding),
        ("version", info.version),
        ("header+palette", f"{info.header_bytes:,} bytes"),
        ("palette", f"{info.palette_bytes:,} bytes"),
        ("payload", f"{info.payload_bytes:,} bytes"),
        ("total", f"{info.total_bytes:,} bytes"),
        ("bits per pixel", f"{info.bpp:.3f}"),
    ]
    if info.icc_profile_bytes:
        lines.append(("ICC profile", f"{info.icc_profile_bytes:,} bytes"))
    # One line each, and nothing a terminal would obey, whatever the text holds.
    lines += [(f"text {safe_text(key)}", safe_text(value)) for key, value in info.text]
    if info.mse is not None and info.psnr is not None:
        lines += [("MSE", f"{info.mse:.6g}"), ("PSNR", f"{_decibels(info.psnr)} dB")]
    click.echo(f"{safe_text(path.name)}: .ccz file")
    for label, value in lines:
        click.echo(f"  {label:<15} {value}")  # a space even after a long text key
    click.echo("  colours")
    color = _use_color(sys.stdout, os.environ)
    shown = info.palette[:MAX_SWATCHES]
    for start in range(0, len(shown), SWATCHES_PER_LINE):
        entries = shown[start : start + SWATCHES_PER_LINE]
        line = "    " + "  ".join(_swatch(entry, info.mode, color=color) for entry in entries)
        click.echo(line, color=color)  # click strips escapes unless told they are wanted
    if len(info.palette) > len(shown):
        more = len(info.palette) - len(shown)
        click.echo(f"    ... and {more:,} more (all of them: ccodec stats --json)")


SWATCHES_PER_LINE = 6
# A 65,536-colour palette would print 11,000 lines; the first 256 show its character.
MAX_SWATCHES = 256


def _use_color(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """True for a terminal, unless NO_COLOR is set to anything (no-color.org)."""
    return stream.isatty() and not environ.get("NO_COLOR")


def _swatch(entry: tuple[int, ...], mode: str, *, color: bool) -> str:
    """A palette entry as CSS hex, after a block of its colour on a terminal."""
    text = hex_color(entry, mode)
    if not color:
        return text
    red, green, blue = (entry[:1] * 3) if mode in ("L", "LA") else entry[:3]
    return click.style("  ", bg=(red, green, blue)) + " " + text
