"""The contact sheet: the original beside the image quantized at each K, labelled (Pillow only)."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import OptionError
from .model import MODES
from .report import Sweep

__all__ = ["TILE_WIDTH", "contact_sheet", "sheet_size"]

TILE_WIDTH = 256  # thumbnails at most this wide, so large inputs give a sheet of a sane size
MIN_CELL_WIDTH = 150  # room for a label under a small image
PAD = 6
LABEL_HEIGHT = 30  # two lines of Pillow's default font
BACKGROUND = (255, 255, 255)
INK = (0, 0, 0)


def sheet_size(width: int, height: int, tiles: int) -> tuple[int, int]:
    """(width, height) in pixels of the sheet for `tiles` images of `width` x `height`.

    >>> sheet_size(512, 512, 6)
    (804, 596)
    """
    tile_width, tile_height = _thumbnail_size(width, height)
    columns, rows = _grid(tiles)
    cell_width = max(tile_width, MIN_CELL_WIDTH) + 2 * PAD
    cell_height = tile_height + LABEL_HEIGHT + 2 * PAD
    return columns * cell_width, rows * cell_height


def contact_sheet(original: np.ndarray, sweep: Sweep) -> Image.Image:
    """An RGB image: the (H, W, C) `original` pixels, then each K of `sweep`, in a grid.

    Each tile is labelled with its K, MSE and .ccz bytes. Quantized tiles are
    downscaled nearest-neighbour so they show only palette colours; alpha is
    drawn over white.
    """
    original = np.asarray(original)
    if original.shape != (sweep.height, sweep.width, sweep.channels):
        raise OptionError(
            f"the original's pixels have shape {original.shape}, the sweep's "
            f"{(sweep.height, sweep.width, sweep.channels)}."
        )
    height, width = original.shape[:2]
    size = _thumbnail_size(width, height)
    flat = original[..., 0] if sweep.channels == 1 else original  # Pillow takes grey as (H, W)
    original_image = Image.fromarray(flat, MODES[sweep.channels])
    tiles = [(_thumbnail(original_image, size, smooth=True), _original_label(sweep))]
    for row, q in zip(sweep.rows, sweep.quantized, strict=True):
        label = (f"K={row.k}  MSE {row.mse:.4g}", f".ccz {row.ccz_bytes:,} bytes")
        tiles.append((_thumbnail(q.to_image(), size, smooth=False), label))
    columns, _ = _grid(len(tiles))
    sheet = Image.new("RGB", sheet_size(width, height, len(tiles)), BACKGROUND)
    cell_width = max(size[0], MIN_CELL_WIDTH) + 2 * PAD
    cell_height = size[1] + LABEL_HEIGHT + 2 * PAD
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for index, (tile, lines) in enumerate(tiles):
        left = (index % columns) * cell_width + (cell_width - size[0]) // 2
        top = (index // columns) * cell_height + PAD
        sheet.paste(tile, (left, top))
        text_left = (index % columns) * cell_width + PAD
        draw.multiline_text((text_left, top + size[1] + 4), "\n".join(lines), fill=INK, font=font)
    return sheet


def _original_label(sweep: Sweep) -> tuple[str, str]:
    if sweep.input_bytes is None:
        return "original", f"raw {sweep.raw_bytes:,} bytes"
    return "original", f"file {sweep.input_bytes:,} bytes"


def _thumbnail_size(width: int, height: int) -> tuple[int, int]:
    if width <= TILE_WIDTH:
        return width, height
    return TILE_WIDTH, max(1, round(height * TILE_WIDTH / width))


def _grid(tiles: int) -> tuple[int, int]:
    """Columns and rows: about square, filled row by row."""
    columns = math.ceil(math.sqrt(tiles))
    return columns, math.ceil(tiles / columns)


def _thumbnail(image: Image.Image, size: tuple[int, int], *, smooth: bool) -> Image.Image:
    """`image` resized to `size`, as RGB with any alpha over the background."""
    if image.mode in ("LA", "RGBA"):
        image = image.convert("RGBA")
        flat = Image.new("RGBA", image.size, BACKGROUND)
        image = Image.alpha_composite(flat, image)
    image = image.convert("RGB")
    if image.size == size:
        return image
    resample = Image.Resampling.LANCZOS if smooth else Image.Resampling.NEAREST
    return image.resize(size, resample)
