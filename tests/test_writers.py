"""Output writers: exact PNG, JPEG, the .ccz writer, Pillow's formats, plugins."""

from __future__ import annotations

import io
from importlib.metadata import EntryPoint

import numpy as np
import pytest
from PIL import Image

import ccodec
from ccodec import writers
from ccodec.errors import OptionError, OutputError
from ccodec.writers import available_writers, broken_plugins, get_writer, writer_for_path


def _written(name: str, q: ccodec.Quantized, **options) -> bytes:
    buffer = io.BytesIO()
    get_writer(name).write(q, buffer, **options)
    return buffer.getvalue()


def _read(data: bytes, mode: str) -> tuple[Image.Image, np.ndarray]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        pixels = np.asarray(image.convert(mode))
    return image, pixels[..., 0] if pixels.ndim == 3 and mode == "L" else pixels


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
@pytest.mark.parametrize("k", [1, 2, 16, 17, 256])
def test_png_is_exact(mode, k, make_quantized):
    q = make_quantized(mode, k, size=(19, 15))
    image, pixels = _read(_written("png", q), q.mode)
    assert image.format == "PNG"
    assert image.mode == "P"
    assert np.array_equal(pixels, q.to_array())


@pytest.mark.parametrize(("k", "bits"), [(2, 1), (4, 2), (16, 4), (17, 8)])
def test_png_uses_the_fewest_bits_per_index(k, bits, make_quantized):
    data = _written("png", make_quantized("RGB", k, size=(64, 64)))
    # IHDR bit depth is the byte after width and height.
    assert data[24] == bits


def test_png_alpha_is_per_entry_transparency(make_quantized):
    q = make_quantized("RGBA", 4)
    image, _ = _read(_written("png", q), "RGBA")
    assert image.info["transparency"] == q.palette[:, 3].tobytes().rstrip(b"\xff")


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_jpeg_is_close_and_the_right_size(mode, make_quantized):
    q = make_quantized(mode, 2, size=(32, 24))
    q = ccodec.Quantized(q.palette, np.repeat(np.arange(2, dtype=np.uint8), 384).reshape(24, 32))
    image, pixels = _read(_written("jpeg", q), mode)
    assert image.format == "JPEG"
    assert image.size == (32, 24)
    assert image.mode == mode
    assert ccodec.mse(pixels, q.to_array()) < 0.001


def test_jpeg_quality_changes_the_size(make_quantized):
    q = make_quantized("RGB", 64, size=(64, 64))
    assert len(_written("jpeg", q, quality=20)) < len(_written("jpeg", q, quality=95))


def test_jpeg_composites_alpha_on_white():
    palette = np.array([[0, 0, 0, 0], [0, 0, 0, 255]], np.uint8)
    labels = np.zeros((16, 16), np.uint8)
    labels[:, 8:] = 1
    _, pixels = _read(_written("jpeg", ccodec.Quantized(palette, labels)), "RGB")
    assert pixels[:, :4].min() > 240  # transparent black shows as white
    assert pixels[:, 12:].max() < 15


@pytest.mark.parametrize("quality", [0, 96, -1, "high", True])
def test_jpeg_rejects_bad_quality(quality, make_quantized):
    with pytest.raises(OptionError, match="quality"):
        _written("jpeg", make_quantized(), quality=quality)


def test_ccz_writer_round_trips(make_quantized):
    q = make_quantized("LA", 5)
    assert ccodec.decode(_written("ccz", q)) == q


@pytest.mark.parametrize("coding", ["zstd", "rans"])
def test_ccz_writer_takes_a_coding(coding, make_quantized):
    q = make_quantized("RGB", 16, size=(40, 30))
    data = _written("ccz", q, coding=coding, level=3)
    assert ccodec.read_header(data).coding == coding
    assert ccodec.decode(data) == q


def _wide(mode: str, k: int, size: tuple[int, int] = (37, 23)) -> ccodec.Quantized:
    """A `Quantized` with K > 256: uint16 labels, every entry used."""
    rng = np.random.default_rng(k)
    width, height = size
    palette = rng.integers(0, 256, (k, len(mode)), dtype=np.uint8)
    labels = np.resize(rng.permutation(k), (height, width)).astype(np.uint16)
    return ccodec.Quantized(palette, labels)


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_png_above_256_colours_is_a_plain_png_and_exact(mode):
    q = _wide(mode, 700)
    image, pixels = _read(_written("png", q), q.mode)
    assert image.mode == mode
    assert np.array_equal(pixels, q.to_array())


@pytest.mark.parametrize("name", ["webp", "tiff"])
def test_pillow_fallback_above_256_colours_is_exact(name):
    q = _wide("RGBA", 300)
    _, pixels = _read(_written(name, q), "RGBA")
    assert np.array_equal(pixels, q.to_array())


def test_gif_refuses_more_than_256_colours():
    with pytest.raises(OutputError, match="at most 256 colours, not 300"):
        _written("gif", _wide("RGB", 300))


ICC = b"\0\0\0\x84ccod" + bytes(28) + b"acsp" + bytes(92)


@pytest.mark.parametrize("k", [16, 700])
def test_png_keeps_the_icc_profile_and_text(k, make_quantized):
    q = make_quantized("RGB", k) if k <= 256 else _wide("RGB", k)
    info = {
        "icc_profile": ICC,
        "Title": "astronaut",
        "Comment": "Gr\u00f6\u00dfe \u2603",  # not Latin-1: an iTXt chunk
        "Schl\u00fcssel": "Latin-1 key",
        "\u2603": "a key PNG cannot hold",
        "k" * 80: "too long for a PNG keyword",
        "dpi": (72, 72),
    }
    q = ccodec.Quantized(q.palette, q.labels, info=info)
    image, pixels = _read(_written("png", q), "RGB")
    assert np.array_equal(pixels, q.to_array())
    assert image.info["icc_profile"] == ICC
    assert {key: image.text[key] for key in image.text} == {
        "Title": "astronaut",
        "Comment": "Gr\u00f6\u00dfe \u2603",
        "Schl\u00fcssel": "Latin-1 key",
    }


def test_png_without_metadata_has_no_text_or_icc(make_quantized):
    image, _ = _read(_written("png", make_quantized("RGB", 4)), "RGB")
    assert "icc_profile" not in image.info and not image.text


def test_jpeg_keeps_the_icc_profile(make_quantized):
    q = make_quantized("RGBA", 4)
    q = ccodec.Quantized(q.palette, q.labels, info={"icc_profile": ICC, "transparency": 0})
    image, _ = _read(_written("jpeg", q), "RGB")
    assert image.info["icc_profile"] == ICC


def test_source_transparency_in_info_does_not_reach_the_saver(make_quantized):
    # Pillow's info of a palette source can hold "transparency": an index, wrong here.
    q = make_quantized("RGB", 16)
    q = ccodec.Quantized(q.palette, q.labels, info={"transparency": 3})
    for name in ("png", "webp", "tiff"):
        _, pixels = _read(_written(name, q), "RGBA")
        assert (pixels[..., 3] == 255).all(), name


@pytest.mark.parametrize("name", ["webp", "bmp", "tiff", "gif", "tga", "qoi"])
def test_pillow_fallback_is_exact_for_rgb(name, make_quantized):
    q = make_quantized("RGB", 16)
    image, pixels = _read(_written(name, q), "RGB")
    assert image.format == name.upper()
    assert np.array_equal(pixels, q.to_array())


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA"])
@pytest.mark.parametrize("name", ["webp", "tiff"])
def test_webp_and_tiff_hold_every_mode(name, mode, make_quantized):
    q = make_quantized(mode, 16)
    if mode == "RGBA":  # a fully transparent entry must keep its colour too
        q.palette[0, 3] = 0
    _, pixels = _read(_written(name, q), mode)
    assert np.array_equal(pixels, q.to_array())


def test_webp_with_quality_is_lossy_webp(make_quantized):
    q = make_quantized("RGB", 64, size=(64, 64))
    lossy = _written("webp", q, quality=50)
    assert lossy[12:16] == b"VP8 "  # VP8L would be lossless
    assert _written("webp", q)[12:16] == b"VP8L"


@pytest.mark.parametrize(("name", "mode"), [("bmp", "RGBA"), ("bmp", "LA"), ("gif", "RGBA")])
def test_fallback_refuses_to_drop_alpha(name, mode, make_quantized):
    with pytest.raises(OutputError, match=f"cannot write this {mode} image as {name.upper()}"):
        _written(name, make_quantized(mode, 4))


def test_fallback_reports_modes_a_format_cannot_take(make_quantized):
    with pytest.raises(OutputError, match="XBM"):
        _written("xbm", make_quantized("RGB", 4))


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("a.png", "png"),
        ("dir.x/A.PNG", "png"),
        ("a.jpg", "jpeg"),
        ("a.jpeg", "jpeg"),
        ("a.ccz", "ccz"),
        ("a.webp", "webp"),
        ("a.tif", "tiff"),
        ("a.bmp", "bmp"),
    ],
)
def test_writer_for_path_goes_by_extension(path, name):
    assert writer_for_path(path).name == name


@pytest.mark.parametrize("path", ["a.xyz", "noextension", "a.png.bak"])
def test_writer_for_unknown_extension_lists_the_writers(path):
    with pytest.raises(OptionError, match=r"available: png \(\.png\), jpeg"):
        writer_for_path(path)


def test_get_writer_is_case_insensitive_and_rejects_unknown_names():
    assert get_writer("PNG").name == "png"
    with pytest.raises(OptionError, match="unknown output format 'nope'.*png"):
        get_writer("nope")


def test_writers_refuse_options_they_do_not_take(make_quantized):
    with pytest.raises(OptionError, match="png writer does not take quality"):
        _written("png", make_quantized(), quality=50)


def test_available_writers_lists_builtins_first_and_each_name_once():
    names = [w.name for w in available_writers()]
    assert names[:3] == ["png", "jpeg", "ccz"]
    assert len(names) == len(set(names))
    assert {"webp", "tiff", "bmp", "gif"} <= set(names)
    assert not {"bufr", "grib", "hdf5", "wmf"} & set(names)  # need handlers to save


# -- plugins -------------------------------------------------------------------

PLUGIN_SOURCE = """
class FakeWriter:
    name = "fake"
    extensions = (".fake",)
    description = "writes the palette size"
    lossy = True

    @staticmethod
    def write(q, fp, **options):
        fp.write(f"{q.k}{options}".encode())


class NotAWriter:
    name = "half"


class Impostor(FakeWriter):
    name = "PNG"


def explode():
    raise RuntimeError("boom")


class Buggy(FakeWriter):
    name = "buggy"
    extensions = (".bug",)

    @staticmethod
    def write(q, fp):
        raise ZeroDivisionError("division by zero")
"""


@pytest.fixture
def plugin_module(tmp_path, monkeypatch, fresh_writer_registry):
    """An importable module `fake_ccodec_plugin` holding plugin objects good and bad."""
    (tmp_path / "fake_ccodec_plugin.py").write_text(PLUGIN_SOURCE)
    (tmp_path / "fake_ccodec_crash.py").write_text("raise RuntimeError('plugin import failed')")
    monkeypatch.syspath_prepend(tmp_path)
    return "fake_ccodec_plugin"


def _entry_points(monkeypatch, *values: tuple[str, str]) -> None:
    points = [EntryPoint(name, value, writers.ENTRY_POINT_GROUP) for name, value in values]

    def fake(*, group):
        return points if group == writers.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(writers, "entry_points", fake)


def test_plugin_writer_is_found_by_name_and_extension(monkeypatch, plugin_module, make_quantized):
    _entry_points(monkeypatch, ("fake", f"{plugin_module}:FakeWriter"))
    writer = writer_for_path("x.FAKE")
    assert writer is get_writer("fake")
    assert (writer.source, writer.lossy) == ("plugin", True)
    buffer = io.BytesIO()
    writer.write(make_quantized("RGB", 3), buffer, quality=5)
    assert buffer.getvalue() == b"3{'quality': 5}"
    assert "fake" in [w.name for w in available_writers()]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("fake_ccodec_plugin:NotAWriter", "has no extensions, write"),
        ("no_such_module_xyz:thing", "No module named"),
        ("fake_ccodec_plugin:missing_attribute", "missing_attribute"),
        ("fake_ccodec_plugin:explode", "has no name, extensions, write"),
        ("fake_ccodec_crash:Writer", "plugin import failed"),
        ("fake_ccodec_plugin:Impostor", "'png' is already taken"),
    ],
)
def test_broken_plugin_is_named_and_others_still_load(monkeypatch, plugin_module, value, problem):
    _entry_points(monkeypatch, ("broken", value), ("fake", f"{plugin_module}:FakeWriter"))
    names = [w.name for w in available_writers()]
    assert "fake" in names and "broken" not in names
    assert get_writer("png").source == "built-in"
    [message] = broken_plugins()
    assert "'broken'" in message and value in message and problem in message
    with pytest.raises(OptionError, match="writer plugin 'broken'"):
        get_writer("broken")


def test_plugins_load_on_first_lookup_only_once(monkeypatch, fresh_writer_registry):
    calls = []
    monkeypatch.setattr(writers, "entry_points", lambda **kw: calls.append(kw) or [])
    assert writer_for_path("x.png").name == "png"  # a built-in needs no plugins
    assert calls == []
    available_writers()
    get_writer("webp")
    assert calls == [{"group": "ccodec.writers"}]


def test_plugin_bug_becomes_an_output_error_naming_it(monkeypatch, plugin_module, make_quantized):
    _entry_points(monkeypatch, ("buggy", f"{plugin_module}:Buggy"))
    with pytest.raises(OutputError, match="writer plugin 'buggy' failed: ZeroDivisionError"):
        writer_for_path("x.bug").write(make_quantized(), io.BytesIO())
