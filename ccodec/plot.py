"""The stats figure: error and size against K, drawn with matplotlib (the ``plot`` extra).

matplotlib is imported only here and only when a figure is drawn; without it,
`plot_sweep` raises an `OutputError` saying what to install.
"""

from __future__ import annotations

import math
from typing import BinaryIO

from .errors import OutputError
from .report import Sweep

__all__ = ["DPI", "FIGURE_INCHES", "FORMATS", "plot_sweep", "require_matplotlib"]

FORMATS = ("png", "svg")
FIGURE_INCHES = (9.0, 3.6)
DPI = 100
INSTALL_HINT = 'pip install "ccodec[plot]"'
# No dates and a fixed id salt: the same numbers give byte-identical files.
_METADATA = {"png": {"Software": None}, "svg": {"Date": None}}


def require_matplotlib() -> None:
    """Raise `OutputError` with the install hint if matplotlib cannot be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise OutputError(
            f"--plot needs matplotlib, which is not installed: {INSTALL_HINT}"
        ) from None


def plot_sweep(sweep: Sweep, fp: BinaryIO, *, format: str = "png") -> None:
    """Draw MSE and PSNR against K, and bytes per format against K, into `fp`.

    `format` is ``"png"`` (FIGURE_INCHES x DPI pixels) or ``"svg"``.
    """
    if format not in FORMATS:
        raise OutputError(f"cannot draw the plot as {format!r}; use one of {', '.join(FORMATS)}")
    require_matplotlib()
    import matplotlib
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGURE_INCHES, dpi=DPI, layout="constrained")
    error_axes, size_axes = figure.subplots(1, 2)
    ks = [row.k for row in sweep.rows]
    _draw_error(error_axes, ks, sweep)
    _draw_sizes(size_axes, ks, sweep)
    name = sweep.image or "image"
    figure.suptitle(f"{name}: {sweep.width}x{sweep.height} {sweep.mode}, seed {sweep.seed}")
    with matplotlib.rc_context({"svg.hashsalt": "ccodec", "svg.fonttype": "path"}):
        figure.savefig(fp, format=format, dpi=DPI, metadata=_METADATA[format])


def _draw_error(axes, ks: list[int], sweep: Sweep) -> None:
    # An exact row has MSE 0 and PSNR inf: nan leaves the point out of a log scale.
    mses = [row.mse if row.mse > 0 else math.nan for row in sweep.rows]
    psnrs = [row.psnr if math.isfinite(row.psnr) else math.nan for row in sweep.rows]
    axes.plot(ks, mses, "o-", color="C0", label="MSE")
    axes.set_yscale("log")
    axes.set_ylabel("MSE (pixels on a 0-1 scale)", color="C0")
    _k_axis(axes, ks)
    twin = axes.twinx()
    twin.plot(ks, psnrs, "s--", color="C3", label="PSNR")
    twin.set_ylabel("PSNR (dB)", color="C3")
    axes.set_title("error against K")


def _draw_sizes(axes, ks: list[int], sweep: Sweep) -> None:
    series = [
        (".ccz", [row.ccz_bytes for row in sweep.rows], "o-"),
        ("PNG-8", [row.png8_bytes for row in sweep.rows], "^--"),
        ("WebP lossless", [_or_nan(row.webp_lossless_bytes) for row in sweep.rows], "v:"),
    ]
    for label, sizes, style in series:
        axes.plot(ks, sizes, style, label=label)
    axes.set_ylabel("bytes")
    axes.set_ylim(bottom=0)
    _k_axis(axes, ks)
    axes.legend()
    axes.set_title("file size against K")


def _k_axis(axes, ks: list[int]) -> None:
    axes.set_xscale("log")
    axes.set_xticks(ks, labels=[str(k) for k in ks])
    axes.minorticks_off()
    axes.set_xlabel("K (palette colours)")
    axes.grid(True, alpha=0.3)


def _or_nan(value: int | None) -> float:
    return math.nan if value is None else value
