"""The contact sheet: its size, layout and tiles."""

from __future__ import annotations

import numpy as np
import pytest

from ccodec.errors import OptionError
from ccodec.report import sweep
from ccodec.sheet import LABEL_HEIGHT, MIN_CELL_WIDTH, PAD, TILE_WIDTH, contact_sheet, sheet_size


def _pixels(width: int, height: int, channels: int = 3) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (height, width, channels), dtype=np.uint8)


def test_large_image_gives_thumbnails_in_a_square_grid():
    # 600x300 is downscaled to 256x128; three tiles (original, K=2, K=3) make a 2x2 grid.
    pixels = _pixels(600, 300)
    sheet = contact_sheet(pixels, sweep(pixels, [2, 3]))
    assert TILE_WIDTH == 256
    cell = (256 + 2 * PAD, 128 + LABEL_HEIGHT + 2 * PAD)
    assert sheet.mode == "RGB"
    assert sheet.size == (2 * cell[0], 2 * cell[1]) == sheet_size(600, 300, 3)


def test_small_image_keeps_its_size_and_gets_room_for_labels():
    pixels = _pixels(20, 10)
    result = sweep(pixels, [2, 3, 4])
    sheet = contact_sheet(pixels, result)
    cell = (MIN_CELL_WIDTH + 2 * PAD, 10 + LABEL_HEIGHT + 2 * PAD)
    assert sheet.size == (2 * cell[0], 2 * cell[1])
    # The original sits centred in the first cell, unscaled; K=3 (third tile) below it.
    left = (cell[0] - 20) // 2
    assert np.array_equal(np.asarray(sheet)[PAD : PAD + 10, left : left + 20], pixels)
    k3 = np.asarray(sheet)[cell[1] + PAD : cell[1] + PAD + 10, left : left + 20]
    assert np.array_equal(k3, result.quantized[1].to_array())


def test_quantized_tiles_show_only_palette_colours():
    pixels = _pixels(512, 300)
    result = sweep(pixels, [4])
    sheet = np.asarray(contact_sheet(pixels, result))
    left = (2 * PAD + 256 - 256) // 2 + (256 + 2 * PAD)  # second cell of the first row
    tile = sheet[PAD : PAD + 150, left : left + 256].reshape(-1, 3)
    palette = {tuple(entry) for entry in result.quantized[0].palette}
    assert {tuple(c) for c in np.unique(tile, axis=0)} <= palette


@pytest.mark.parametrize("channels", [1, 2, 4])
def test_grey_and_alpha_images_make_rgb_sheets(channels):
    pixels = _pixels(16, 8, channels)
    sheet = contact_sheet(pixels, sweep(pixels, [2]))
    assert sheet.mode == "RGB"
    assert sheet.size == sheet_size(16, 8, 2)


def test_labels_are_drawn():
    pixels = np.full((10, 20, 3), 255, np.uint8)  # white on white: only labels show
    sheet = np.asarray(contact_sheet(pixels, sweep(pixels, [1])))
    label_band = sheet[PAD + 10 : PAD + 10 + LABEL_HEIGHT]
    assert (label_band < 128).any()


def test_refuses_pixels_that_are_not_the_sweeps():
    pixels = _pixels(16, 8)
    with pytest.raises(OptionError, match="shape"):
        contact_sheet(pixels[:4], sweep(pixels, [2]))
