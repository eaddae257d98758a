"""The stats figure: valid PNG and SVG files of the expected size, the same bytes each time."""

from __future__ import annotations

import io
import sys
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
from PIL import Image

from ccodec import OutputError
from ccodec.plot import DPI, FIGURE_INCHES, plot_sweep, require_matplotlib
from ccodec.report import sweep


@pytest.fixture(scope="module")
def result():
    pixels = np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    pixels[:6] = 0  # so that K=256 is exact: MSE 0 and PSNR inf must not break the log scale
    return sweep(pixels, [2, 4, 256], image="test.png")


def _draw(result, format: str) -> bytes:
    buffer = io.BytesIO()
    plot_sweep(result, buffer, format=format)
    return buffer.getvalue()


def test_png_of_the_figure_size(result):
    pytest.importorskip("matplotlib")
    data = _draw(result, "png")
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert image.size == (FIGURE_INCHES[0] * DPI, FIGURE_INCHES[1] * DPI) == (900, 360)
        image.load()
    assert _draw(result, "png") == data


def test_svg_of_the_figure_size(result):
    pytest.importorskip("matplotlib")
    data = _draw(result, "svg")
    root = ElementTree.fromstring(data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.get("width"), root.get("height")) == ("648pt", "259.2pt")
    assert b"<dc:date>" not in data
    assert _draw(result, "svg") == data


def test_refuses_other_formats(result):
    with pytest.raises(OutputError, match="png, svg"):
        _draw(result, "pdf")


def test_without_matplotlib_says_what_to_install(result, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    with pytest.raises(OutputError, match=r'pip install "ccodec\[plot\]"'):
        require_matplotlib()
    with pytest.raises(OutputError, match="matplotlib"):
        _draw(result, "png")
