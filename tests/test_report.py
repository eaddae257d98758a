"""The rows behind `ccodec stats`: hand-checked on a four-pixel image."""

from __future__ import annotations

import io
import json
import math
import os
import re

import numpy as np
import pytest
from PIL import Image

import ccodec
from ccodec import report
from ccodec.report import SCHEMA, ccz_info, hex_color, k_table, sweep
from ccodec.writers import get_writer

ROW_FIELDS = [
    "k",
    "colors",
    "mse",
    "psnr_db",
    "ccz_bytes",
    "bits_per_pixel",
    "ratio_raw",
    "ratio_input",
    "png8_bytes",
    "webp_lossless_bytes",
]


def test_k_table_on_four_pixels():
    # Two blacks and two greys of 0 and 255: K=1 puts the centre at 128 (127.5 rounded),
    # so each value is off by 128 or 127.
    pixels = np.array([[[0], [0]], [[255], [255]]], np.uint8)
    one, two = k_table(pixels, [1, 2], input_bytes=100)
    expected = (2 * 128**2 + 2 * 127**2) / 4 / 255**2
    assert (one.k, one.colors) == (1, 1)
    assert one.mse == pytest.approx(expected)
    assert one.psnr == pytest.approx(-10 * math.log10(expected))
    assert (two.k, two.colors, two.mse, two.psnr) == (2, 2, 0.0, math.inf)
    data = ccodec.encode(pixels, 2)
    assert two.ccz_bytes == len(data)
    assert two.bits_per_pixel == pytest.approx(8 * len(data) / 4)
    assert two.ratio_raw == pytest.approx(4 / len(data))
    assert two.ratio_input == pytest.approx(100 / len(data))


def test_peer_sizes_are_what_decode_writes():
    pixels = np.random.default_rng(2).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    result = sweep(pixels, [3])
    [row], [q] = result.rows, result.quantized
    for name, size, format in [
        ("png", row.png8_bytes, "PNG"),
        ("webp", row.webp_lossless_bytes, "WEBP"),
    ]:
        buffer = io.BytesIO()
        get_writer(name).write(q, buffer)
        assert size == len(buffer.getvalue())
        with Image.open(buffer) as image:  # a real file, holding the quantized image exactly
            assert image.format == format
            assert np.array_equal(np.asarray(image.convert("RGB")), q.to_array())
    assert row.ratio_input is None  # no input file given


def test_k_table_reports_fewer_colours_than_asked():
    [row] = k_table(np.zeros((3, 3, 3), np.uint8), [50])
    assert (row.k, row.colors, row.mse) == (50, 1, 0.0)


def test_sweep_keeps_the_quantized_images_in_k_order():
    pixels = np.random.default_rng(0).integers(0, 256, (8, 10, 3), dtype=np.uint8)
    result = sweep(pixels, [4, 2], image="x.png", input_bytes=7, seed=3)
    assert [row.k for row in result.rows] == [4, 2]
    assert [q.k for q in result.quantized] == [4, 2]
    assert result.quantized[1] == ccodec.quantize(pixels, 2, seed=3)
    assert (result.width, result.height, result.channels, result.mode) == (10, 8, 3, "RGB")
    assert (result.raw_bytes, result.input_bytes, result.seed) == (240, 7, 3)


def test_sweep_on_worker_processes_matches_one_process():
    pixels = np.random.default_rng(1).integers(0, 256, (12, 9, 4), dtype=np.uint8)
    calls = []
    one = sweep(pixels, [5, 2, 3], seed=1)
    many = sweep(pixels, [5, 2, 3], seed=1, jobs=3, on_row=lambda: calls.append(1))
    assert many == one
    assert list(many.quantized) == list(one.quantized)
    assert len(calls) == 3


def test_an_error_in_a_worker_is_raised_in_the_caller(monkeypatch):
    measure = report._measure

    def refuse_three(pixels, k, **options):
        if k == 3:
            raise ccodec.OptionError("no K=3 here")
        return measure(pixels, k, **options)

    monkeypatch.setattr(report, "_measure", refuse_three)  # the forked workers inherit it
    with pytest.raises(ccodec.OptionError, match="no K=3 here"):
        sweep(np.zeros((4, 4, 3), np.uint8), [2, 3, 4], jobs=2)


def test_a_worker_that_dies_is_an_error_naming_its_k(monkeypatch):
    monkeypatch.setattr(report, "_measure", lambda pixels, k, **options: os._exit(3))
    with pytest.raises(ccodec.CczError, match=r"measuring K=2 died \(status 3\)"):
        sweep(np.zeros((4, 4, 3), np.uint8), [2, 5], jobs=2)


@pytest.mark.parametrize(
    ("ks", "jobs", "pixels", "message"),
    [
        ([], 1, np.zeros((2, 2, 3), np.uint8), "no K values"),
        ([2], 0, np.zeros((2, 2, 3), np.uint8), "jobs=0"),
        ([2], True, np.zeros((2, 2, 3), np.uint8), "jobs=True"),
        ([2], 1, np.zeros((2, 2), np.uint8), "(H, W, C)"),
    ],
)
def test_sweep_refuses_bad_arguments(ks, jobs, pixels, message):
    with pytest.raises(ccodec.OptionError, match=re.escape(message)):
        sweep(pixels, ks, jobs=jobs)


def test_sweep_json_schema():
    pixels = np.array([[[0, 0, 0], [0, 0, 0]], [[255, 0, 0], [255, 0, 0]]], np.uint8)
    document = sweep(pixels, [1, 2], image="a.png", input_bytes=50).to_json()
    assert list(document) == [
        "schema",
        "image",
        "width",
        "height",
        "channels",
        "mode",
        "seed",
        "input_bytes",
        "raw_bytes",
        "rows",
    ]
    assert document["schema"] == SCHEMA == 1
    assert (document["image"], document["width"], document["height"]) == ("a.png", 2, 2)
    assert (document["channels"], document["mode"], document["raw_bytes"]) == (3, "RGB", 12)
    one, two = document["rows"]
    assert list(one) == list(two) == ROW_FIELDS
    assert one["psnr_db"] == pytest.approx(-10 * math.log10(one["mse"]))
    assert (two["mse"], two["psnr_db"]) == (0.0, None)  # exact: PSNR inf is null in JSON
    json.dumps(document, allow_nan=False)  # plain JSON: no Infinity or NaN


def test_ccz_info_describes_the_layout():
    q = ccodec.Quantized(np.arange(15, dtype=np.uint8).reshape(5, 3), np.zeros((4, 6), np.uint8))
    data = ccodec.encode_quantized(q, coding="zstd")
    info = ccz_info(data)
    assert (info.width, info.height, info.mode, info.k, info.bits) == (6, 4, "RGB", 5, 4)
    assert (info.version, info.coding, info.icc_profile_bytes, info.text) == ("1.0", "zstd", 0, ())
    assert info.header_bytes == 40 + 15 + 4
    assert info.palette_bytes == 15
    assert info.header_bytes + info.payload_bytes == info.total_bytes == len(data)
    assert info.bpp == pytest.approx(8 * len(data) / 24)
    assert info.palette == ((0, 1, 2), (3, 4, 5), (6, 7, 8), (9, 10, 11), (12, 13, 14))
    assert (info.mse, info.psnr) == (None, None)
    document = info.to_json("x.ccz")
    assert document["schema"] == SCHEMA
    assert document["file"] == "x.ccz"
    assert document["palette"][:2] == ["#000102", "#030405"]
    assert document["bits_per_index"] == 4
    assert (document["mse"], document["psnr_db"]) == (None, None)


def test_ccz_info_of_a_1_1_file_with_16_bit_indices_rans_and_metadata():
    rng = np.random.default_rng(0)
    palette = rng.integers(0, 256, (300, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(300, dtype=np.uint16), 4).reshape(30, 40)
    info = {"icc_profile": b"\1" * 20, "Title": "ramp", "Comment": "\u2603"}
    q = ccodec.Quantized(palette, labels, info=info)
    data = ccodec.encode_quantized(q, coding="rans")
    report = ccz_info(data, original=q.to_array())
    assert (report.k, report.bits, report.version, report.coding) == (300, 16, "1.1", "rans")
    assert report.header_bytes == ccodec.read_header(data).payload_offset
    assert report.header_bytes + report.payload_bytes == report.total_bytes == len(data)
    assert len(report.palette) == 300 and report.mse == 0.0
    assert report.icc_profile_bytes == 20
    assert report.text == (("Title", "ramp"), ("Comment", "\u2603"))
    document = report.to_json("x.ccz")
    assert document["coding"] == "rans" and document["text"] == {
        "Title": "ramp",
        "Comment": "\u2603",
    }
    assert document["icc_profile_bytes"] == 20 and document["bits_per_index"] == 16


def test_ccz_info_against_the_original():
    pixels = np.array([[[0], [10]], [[255], [255]]], np.uint8)
    data = ccodec.encode(pixels, 2)
    info = ccz_info(data, original=pixels)
    decoded = ccodec.decode(data).to_array()
    assert info.mse == pytest.approx(ccodec.mse(pixels, decoded))
    assert info.mse > 0
    assert info.psnr == pytest.approx(-10 * math.log10(info.mse))
    exact = ccz_info(data, original=decoded)
    assert (exact.mse, exact.psnr) == (0.0, math.inf)
    assert exact.to_json("x")["psnr_db"] is None


def test_ccz_info_refuses_an_original_of_another_shape():
    data = ccodec.encode(np.zeros((2, 2, 3), np.uint8), 1)
    with pytest.raises(ccodec.OptionError, match="shape"):
        ccz_info(data, original=np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(ccodec.OptionError, match="shape"):
        ccz_info(data, original=np.zeros((2, 2, 4), np.uint8))


def test_ccz_info_refuses_a_damaged_payload():
    data = bytearray(ccodec.encode(np.zeros((4, 4, 3), np.uint8), 2))
    data[-1] ^= 1
    with pytest.raises(ccodec.FormatError):
        ccz_info(bytes(data))


@pytest.mark.parametrize(
    ("entry", "mode", "expected"),
    [
        ((255, 128, 0), "RGB", "#ff8000"),
        ((1, 2, 3, 4), "RGBA", "#01020304"),
        ((17,), "L", "#111111"),
        ((17, 255), "LA", "#111111ff"),
    ],
)
def test_hex_color(entry, mode, expected):
    assert hex_color(entry, mode) == expected


def test_webp_size_is_none_where_pillow_cannot_write_webp(monkeypatch):
    monkeypatch.setattr(report, "get_writer", _writer_without_webp)
    [row] = k_table(np.zeros((2, 2, 3), np.uint8), [1])
    assert row.webp_lossless_bytes is None
    assert row.png8_bytes > 0


def _writer_without_webp(name: str):
    if name == "webp":
        raise ccodec.OptionError("no writer for webp")
    return get_writer(name)
