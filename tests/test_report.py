"""The rows behind `ccodec stats`: hand-checked on a four-pixel image."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ccodec
from ccodec.report import ccz_info, k_table


def test_k_table_on_four_pixels():
    # Two blacks and two greys of 0 and 255: K=1 puts the centre at 128 (127.5 rounded),
    # so each value is off by 128 or 127.
    pixels = np.array([[[0], [0]], [[255], [255]]], np.uint8)
    one, two = k_table(pixels, [1, 2])
    expected = (2 * 128**2 + 2 * 127**2) / 4 / 255**2
    assert (one.k, one.colors) == (1, 1)
    assert one.mse == pytest.approx(expected)
    assert one.psnr == pytest.approx(-10 * math.log10(expected))
    assert (two.k, two.colors, two.mse, two.psnr) == (2, 2, 0.0, math.inf)
    data = ccodec.encode(pixels, 2)
    assert two.nbytes == len(data)
    assert two.bpp == pytest.approx(8 * len(data) / 4)
    assert two.ratio == pytest.approx(4 / len(data))


def test_k_table_reports_fewer_colours_than_asked():
    [row] = k_table(np.zeros((3, 3, 3), np.uint8), [50])
    assert (row.k, row.colors, row.mse) == (50, 1, 0.0)


def test_ccz_info_describes_the_layout():
    q = ccodec.Quantized(np.arange(15, dtype=np.uint8).reshape(5, 3), np.zeros((4, 6), np.uint8))
    data = ccodec.encode_quantized(q)
    info = ccz_info(data)
    assert (info.width, info.height, info.mode, info.k, info.bits) == (6, 4, "RGB", 5, 4)
    assert info.version == "1.0"
    assert info.header_bytes == 40 + 15 + 4
    assert info.header_bytes + info.payload_bytes == info.total_bytes == len(data)
    assert info.bpp == pytest.approx(8 * len(data) / 24)


def test_ccz_info_refuses_a_damaged_payload():
    data = bytearray(ccodec.encode(np.zeros((4, 4, 3), np.uint8), 2))
    data[-1] ^= 1
    with pytest.raises(ccodec.FormatError):
        ccz_info(bytes(data))
