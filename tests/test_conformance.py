"""Every file of formats/conformance/ decodes, or fails, as its manifest says."""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

import ccodec
from ccodec import errors
from ccodec.ccz import read_container

FORMATS = Path(__file__).resolve().parent.parent / "formats"
ROOT = FORMATS / "conformance"
MANIFEST = json.loads((ROOT / "manifest.json").read_text())["files"]
VALID = [e for e in MANIFEST if e["expect"] == "ok"]
INVALID = [e for e in MANIFEST if e["expect"] != "ok"]


@functools.cache
def _generator():
    """formats/make_conformance.py as a module (it is a script, not in a package)."""
    path = FORMATS / "make_conformance.py"
    spec = importlib.util.spec_from_file_location("make_conformance", path)
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve the module's string annotations through sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _png(entry: dict) -> tuple[str, np.ndarray]:
    with Image.open(ROOT / entry["png"]) as image:
        # With the .ccz plugin registered, other formats still reach their own.
        assert image.format == "PNG"
        return image.mode, np.asarray(image)


def _ids(entries: list[dict]) -> list[str]:
    return [Path(e["file"]).stem for e in entries]


def test_manifest_covers_the_required_cases():
    names = {Path(e["file"]).stem for e in MANIFEST}
    headers = [ccodec.read_header((ROOT / e["file"]).read_bytes()) for e in VALID]
    assert {h.bits for h in headers} == {1, 2, 4, 8, 16}
    assert {h.mode for h in headers} == {"L", "LA", "RGB", "RGBA"}
    assert {1, 256, 257, 65536} <= {h.k for h in headers}
    assert {h.minor for h in headers} >= {0, 1}
    assert any(h.has_metadata for h in headers)
    assert {h.coding for h in headers} == {"zstd", "rans", "context"}
    assert {1, 256, 300} <= {h.k for h in headers if h.coding == "rans"}
    assert any(h.width * h.bits % 8 for h in headers)
    assert any(h.width == 1 for h in headers) and any(h.height == 1 for h in headers)
    assert {"minor_newer_extra_header", "optional_flag_unknown", "index_ge_k"} <= names
    assert {e["expect"] for e in INVALID} == {
        "NotCczError",
        "UnsupportedError",
        "TruncatedError",
        "CorruptError",
        "ChecksumError",
        "LimitError",
    }


@pytest.mark.parametrize("entry", VALID, ids=_ids(VALID))
def test_valid_file_decodes_to_its_png(entry):
    q = ccodec.decode((ROOT / entry["file"]).read_bytes())
    mode, pixels = _png(entry)
    assert q.mode == mode
    assert q.labels.dtype == (np.uint8 if q.k <= 256 else np.uint16)
    np.testing.assert_array_equal(q.to_array(), pixels)
    assert _hex_info(q.info) == entry["info"]


def _hex_info(info: dict) -> dict:
    """`info` as the manifest writes it: the ICC profile in hex."""
    return {key: value.hex() if isinstance(value, bytes) else value for key, value in info.items()}


def test_files_that_use_version_1_1_say_so_and_1_0_files_do_not():
    for entry in VALID:
        header = ccodec.read_header((ROOT / entry["file"]).read_bytes())
        uses_1_1 = header.bits == 16 or header.coding_id != 0 or header.has_metadata
        assert ("v1_0" in entry) == uses_1_1, entry["file"]
        if "v1_0" in entry:
            assert header.minor == (2 if header.coding == "context" else 1)
            unsupported = header.bits == 16 or header.coding_id != 0
            assert entry["v1_0"].startswith("UnsupportedError" if unsupported else "ok")


@pytest.mark.parametrize("entry", INVALID, ids=_ids(INVALID))
def test_invalid_file_raises_its_error(entry):
    with pytest.raises(getattr(errors, entry["expect"])) as info:
        ccodec.decode((ROOT / entry["file"]).read_bytes())
    assert type(info.value).__name__ == entry["expect"]
    assert entry["message"] in str(info.value)


@pytest.mark.parametrize("entry", VALID, ids=_ids(VALID))
def test_pillow_opens_valid_files(entry):
    mode, pixels = _png(entry)
    with Image.open(ROOT / entry["file"]) as image:
        assert image.format == "CCZ"
        np.testing.assert_array_equal(np.asarray(image.convert(mode)), pixels)
        kept = {key: value for key, value in image.info.items() if key in entry["info"]}
        assert _hex_info(kept) == entry["info"]


@pytest.mark.parametrize("entry", INVALID, ids=_ids(INVALID))
def test_pillow_raises_oserror_with_the_decoders_message(entry):
    data = (ROOT / entry["file"]).read_bytes()
    if entry["expect"] == "NotCczError":
        # Not ours: Pillow tries its other plugins, and none claims these bytes.
        with pytest.raises(UnidentifiedImageError):
            Image.open(io.BytesIO(data))
        return
    if entry["expect"] == "LimitError":
        # The plugin leaves the size limit to Pillow's own MAX_IMAGE_PIXELS.
        with pytest.raises(Image.DecompressionBombError):
            Image.open(io.BytesIO(data))
        return
    with pytest.raises(ccodec.CczError) as decoded:
        ccodec.decode(data)
    try:
        # The plugin checks everything but the payload when the file is opened.
        read_container(data)
    except ccodec.CczError:
        fails_on_open = True
    else:
        fails_on_open = False
    if fails_on_open:
        with pytest.raises(OSError) as info:
            Image.open(io.BytesIO(data))
    else:
        with Image.open(io.BytesIO(data)) as image, pytest.raises(OSError) as info:
            image.load()
    assert str(info.value) == str(decoded.value)
    assert entry["message"] in str(info.value)


def test_committed_files_match_the_generator():
    built = _generator().build()
    on_disk = {p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if p.is_file()}
    assert on_disk == set(built)
    for name, data in built.items():
        if Path(name).stem.startswith("rans_"):
            # The rANS stream is ccodec.rans's to choose: a better encoder gives
            # other bytes for the same image, which the committed file must still match.
            _assert_same_outcome(ROOT / name, data)
        elif name.endswith(".png"):
            # PNG bytes depend on the zlib build; the pixels are what matters.
            built_image = Image.open(io.BytesIO(data))
            with Image.open(ROOT / name) as committed:
                assert committed.mode == built_image.mode
                np.testing.assert_array_equal(np.asarray(committed), np.asarray(built_image))
        else:
            assert (ROOT / name).read_bytes() == data, name


def _assert_same_outcome(path: Path, data: bytes) -> None:
    """The committed file and the generated bytes decode alike, or fail alike."""
    outcomes = []
    for candidate in (path.read_bytes(), data):
        try:
            q = ccodec.decode(candidate)
        except ccodec.CczError as exc:
            outcomes.append(type(exc).__name__)
        else:
            outcomes.append((q.palette.tobytes(), q.labels.tobytes(), q.info))
    assert outcomes[0] == outcomes[1], path.name


def test_generator_is_deterministic():
    generator = _generator()
    assert generator.build() == generator.build()


def test_encoder_writes_the_reference_bytes():
    generator = _generator()
    # Files whose every field but the image and its metadata is what an encoder writes.
    canonical = {
        name: fields
        for name, (fields, _) in generator.VALID.items()
        if all(
            getattr(fields, f.name) == f.default
            for f in dataclasses.fields(fields)
            if f.default is not dataclasses.MISSING and f.name != "info"
        )
    }
    assert len(canonical) >= 18
    for name, fields in canonical.items():
        q = ccodec.Quantized(fields.palette, fields.labels, info=dict(fields.info))
        data = ccodec.encode_quantized(q, coding="zstd")
        assert data == (ROOT / f"valid/{name}.ccz").read_bytes(), name


CONTEXT_VALID = [e for e in VALID if Path(e["file"]).stem.startswith("ctx_")]


@pytest.mark.parametrize("entry", CONTEXT_VALID, ids=_ids(CONTEXT_VALID))
def test_context_encoder_writes_the_spec_built_stream(entry):
    """ccodec's context coder and make_conformance.py's range encoder (written from
    context.md alone) code the same labels to the same bytes; so does the whole file
    where the generator wrote every field as an encoder does (not bits16_for_k3)."""
    data = (ROOT / entry["file"]).read_bytes()
    ours = ccodec.encode_quantized(ccodec.decode(data), coding="context")
    theirs_header, our_header = ccodec.read_header(data), ccodec.read_header(ours)
    assert ours[our_header.payload_offset :] == data[theirs_header.payload_offset :]
    if theirs_header.bits == our_header.bits:
        assert ours == data


@pytest.mark.parametrize("entry", INVALID, ids=_ids(INVALID))
@pytest.mark.parametrize("command", ["decode", "stats"])
def test_cli_gives_one_line_and_a_non_zero_exit_for_every_invalid_file(entry, command, tmp_path):
    from click.testing import CliRunner

    from ccodec.cli import main

    source = tmp_path / "input.ccz"
    source.write_bytes((ROOT / entry["file"]).read_bytes())
    target = tmp_path / "out.png"
    args = [command, str(source)] + ([str(target)] if command == "decode" else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ccodec: error: "), result.stderr
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.ccz"]


# ccodec/ccz.py as version 1.0 shipped it (the last commit before 1.1).
V1_0_COMMIT = "9dc0ec23abf0f0256e7c8292c173915acbcd8a38"
_V1_0_CHECK = """
import json, sys
from pathlib import Path
import numpy as np
from PIL import Image
from ccodec_v1_0.ccz import decode
root = Path(sys.argv[1])
for entry in json.loads((root / "manifest.json").read_text())["files"]:
    if "v1_0" not in entry:
        continue
    try:
        q = decode((root / entry["file"]).read_bytes())
    except Exception as exc:
        print(entry["file"], type(exc).__name__, exc)
    else:
        same = np.array_equal(q.to_array(), np.asarray(Image.open(root / entry["png"])))
        print(entry["file"], "ok" if same else "DIFFERENT")
"""


def test_a_1_0_decoder_does_what_the_manifest_says(tmp_path):
    """Run the 1.0 decoder, taken from the repository's history, on every 1.1 file."""
    import subprocess

    repo = FORMATS.parent
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", V1_0_COMMIT, "ccodec"], capture_output=True
    )
    if archive.returncode:
        pytest.skip("no git history (not a clone, or a shallow one)")
    subprocess.run(["tar", "-x", "-C", str(tmp_path)], input=archive.stdout, check=True)
    (tmp_path / "ccodec").rename(tmp_path / "ccodec_v1_0")
    # A separate process: importing the old package registers its own Pillow plugin.
    result = subprocess.run(
        [sys.executable, "-c", _V1_0_CHECK, str(ROOT)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    outcomes = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    expected = {e["file"]: e["v1_0"] for e in VALID if "v1_0" in e}
    assert set(outcomes) == set(expected)
    for name, outcome in outcomes.items():
        if expected[name].startswith("ok"):
            assert outcome == "ok", name
        else:
            assert outcome.startswith("UnsupportedError"), name
            reserved = "16-bit indices are reserved" in outcome
            assert reserved == ("rule 8" in expected[name]), name
