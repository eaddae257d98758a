"""The ccodec command: encode, decode, stats, writers.

Commands stay thin: they parse options, call the library and format its
results. Library errors become one ``ccodec: error: ...`` line and exit
status 1 in exactly one place, `_Cli.invoke`.
"""

from __future__ import annotations

import contextlib
import importlib.resources
from collections.abc import Iterator
from pathlib import Path

import click
from PIL import Image

from . import __version__, ccz
from .ccz import DEFAULT_MAX_PIXELS, HEADER_SIZE, SIGNATURE, read_header
from .codec import encode_image
from .errors import CczError, FormatError, OptionError
from .images import open_image, open_input, to_pixels
from .metrics import bits_per_pixel, mse, psnr
from .output import check_output, write_atomic
from .quantize import MAX_COLORS, MODES, Quantized
from .report import ccz_info, k_table
from .writers import available_writers, broken_plugins, get_writer, writer_for_path

__all__ = ["main"]

EXIT_INTERRUPTED = 130
DEFAULT_STATS_KS = (2, 5, 10, 20, 50)


class _Failure(click.ClickException):
    """A one-line error on stderr and a non-zero exit status."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(" ".join(message.split()))
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        click.echo(f"ccodec: error: {self.format_message()}", err=True)


class _Cli(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CczError as exc:
            raise _Failure(str(exc)) from None
        except KeyboardInterrupt:
            raise _Failure("interrupted", EXIT_INTERRUPTED) from None


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
input_argument = click.argument("input", type=click.Path(path_type=Path))
output_argument = click.argument("output", type=click.Path(path_type=Path))


@click.group("ccodec", cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="ccodec")
def main() -> None:
    """Compress images by k-means colour quantization into .ccz files, and back.

    \b
      ccodec encode photo.jpg -k 16 photo.ccz
      ccodec decode photo.ccz photo.png
      ccodec stats photo.jpg -k 4,16,64
    """


@main.command()
@input_argument
@output_argument
@click.option(
    "-k",
    "--colors",
    "k",
    type=click.IntRange(1, MAX_COLORS),
    required=True,
    help=f"Number of palette colours, 1-{MAX_COLORS}.",
)
@seed_option
@max_iter_option
@level_option
@force_option
@quiet_option
def encode(
    input: Path,
    output: Path,
    k: int,
    seed: int,
    max_iter: int,
    level: int | None,
    force: bool,
    quiet: bool,
) -> None:
    """Quantize INPUT (any image Pillow reads) to K colours and write OUTPUT as .ccz.

    Prints K, the error (MSE on a 0-1 scale, PSNR) and the size of the result.
    """
    _refuse_image_extension(output)
    pixels = to_pixels(open_image(input))
    check_output(output, inputs=[input], force=force)
    q, data = encode_image(pixels, k, seed=seed, max_iter=max_iter, level=level)
    write_atomic(output, lambda fp: fp.write(data), inputs=[input], force=force)
    if not quiet:
        error = mse(pixels, q.to_array())
        click.echo(
            f"{output}: {_describe(q)}, MSE {error:.6f}, PSNR {psnr(error):.2f} dB, "
            f"{len(data):,} bytes, {bits_per_pixel(len(data), q.width, q.height):.3f} bpp"
        )


@main.command()
@input_argument
@output_argument
@click.option(
    "--format",
    "format_name",
    metavar="NAME",
    help="Output format (default: from OUTPUT's extension); `ccodec writers` lists them.",
)
@click.option(
    "--quality",
    type=int,
    help="JPEG quality 1-95 (default 90), or WebP quality (lossy WebP).",
)
@max_pixels_option
@force_option
@quiet_option
def decode(
    input: Path,
    output: Path,
    format_name: str | None,
    quality: int | None,
    max_pixels: int,
    force: bool,
    quiet: bool,
) -> None:
    """Decode the .ccz file INPUT and write it as OUTPUT (PNG, JPEG, WebP, TIFF, ...).

    PNG, TIFF, WebP and .ccz outputs are exact; JPEG is lossy, and puts
    transparent parts on white.
    """
    writer = get_writer(format_name) if format_name else writer_for_path(output)
    options = {} if quality is None else {"quality": quality}
    q = _read_ccz(input, max_pixels)
    write_atomic(output, lambda fp: writer.write(q, fp, **options), inputs=[input], force=force)
    if not quiet:
        size = output.stat().st_size
        click.echo(f"{output}: {_describe(q)}, {writer.name}, {size:,} bytes")


@main.command()
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option(
    "-k",
    "ks",
    type=_KList(),
    default=",".join(map(str, DEFAULT_STATS_KS)),
    show_default=True,
    help="Palette sizes to try, comma-separated.",
)
@seed_option
@max_pixels_option
def stats(file: Path | None, ks: tuple[int, ...], seed: int, max_pixels: int) -> None:
    """Error and size at several K for an image, or what a .ccz FILE holds.

    Without FILE, uses the bundled 512x512 astronaut photo.
    """
    with _sample_or(file) as path:
        if _looks_like_ccz(path):
            _print_ccz_info(path, _read_ccz_bytes(path, max_pixels), max_pixels)
            return
        pixels = to_pixels(open_image(path))
        rows = k_table(pixels, ks, seed=seed)
    height, width, channels = pixels.shape
    click.echo(
        f"{path.name}: {width}x{height} {MODES[channels]}, {pixels.size:,} raw bytes, seed {seed}"
    )
    click.echo(f"{'K':>4} {'MSE':>11} {'PSNR dB':>8} {'.ccz bytes':>11} {'bpp':>7} {'ratio':>7}")
    for row in rows:
        click.echo(
            f"{row.k:>4} {row.mse:>11.6g} {row.psnr:>8.2f} {row.nbytes:>11,} "
            f"{row.bpp:>7.3f} {row.ratio:>6.1f}x"
        )


@main.command()
def writers() -> None:
    """List the output formats decode can write, and where each comes from."""
    table = [
        (w.name, " ".join(w.extensions), "lossy" if w.lossy else "exact", w.source, w.description)
        for w in available_writers()
    ]
    header = ("name", "extensions", "output", "source", "description")
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(4)]
    for row in [header, *table]:
        cells = (cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
        click.echo("  ".join([*cells, row[4]]))
    for problem in broken_plugins():
        click.echo(f"ccodec: warning: {problem}", err=True)


def _describe(q: Quantized) -> str:
    return f"{q.width}x{q.height} {q.mode}, K={q.k}"


def _refuse_image_extension(output: Path) -> None:
    """encode writes .ccz only; refuse names that promise another image format."""
    extension = output.suffix.lower()
    if extension and extension != ".ccz" and extension in Image.registered_extensions():
        raise OptionError(
            f"{output}: encode writes .ccz files, not {extension}; "
            f"name the output .ccz, then `ccodec decode` it to {extension}"
        )


@contextlib.contextmanager
def _sample_or(file: Path | None) -> Iterator[Path]:
    if file is not None:
        yield file
        return
    sample = importlib.resources.files("ccodec") / "data" / "astronaut.png"
    with importlib.resources.as_file(sample) as path:
        yield path


def _looks_like_ccz(path: Path) -> bool:
    with open_input(path) as fp:
        return fp.read(4) == SIGNATURE[:4]


def _read_ccz_bytes(path: Path, max_pixels: int) -> bytes:
    """The bytes of a .ccz file, reading no more than its header announces (+1 to see extra)."""
    limit = max_pixels or None
    with open_input(path) as fp:
        head = fp.read(HEADER_SIZE)
        try:
            header = read_header(head, max_pixels=limit)
        except FormatError as exc:
            raise type(exc)(f"{path}: {exc}") from None
        return head + fp.read(header.file_size - len(head) + 1)


def _read_ccz(path: Path, max_pixels: int) -> Quantized:
    data = _read_ccz_bytes(path, max_pixels)
    try:
        return ccz.decode(data, max_pixels=max_pixels or None)
    except FormatError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def _print_ccz_info(path: Path, data: bytes, max_pixels: int) -> None:
    try:
        info = ccz_info(data, max_pixels=max_pixels or None)
    except FormatError as exc:
        raise type(exc)(f"{path}: {exc}") from None
    lines = [
        ("size", f"{info.width}x{info.height}"),
        ("mode", info.mode),
        ("K", str(info.k)),
        ("bits per index", str(info.bits)),
        ("version", info.version),
        ("header+palette", f"{info.header_bytes:,} bytes"),
        ("payload", f"{info.payload_bytes:,} bytes"),
        ("total", f"{info.total_bytes:,} bytes"),
        ("bits per pixel", f"{info.bpp:.3f}"),
    ]
    click.echo(f"{path.name}: .ccz file")
    for label, value in lines:
        click.echo(f"  {label:<16}{value}")
