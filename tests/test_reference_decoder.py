"""formats/reference_decoder.py (written from the spec alone) against the manifest and ccodec."""

from __future__ import annotations

import importlib.util
import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ccodec

FORMATS = Path(__file__).resolve().parent.parent / "formats"
ROOT = FORMATS / "conformance"
MANIFEST = json.loads((ROOT / "manifest.json").read_text())["files"]
# Coding 1 (rANS) is not implemented in the reference decoder.
ENTRIES = [e for e in MANIFEST if not Path(e["file"]).stem.startswith("rans_")]


def _load(name: str, filename: str):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, FORMATS / filename)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


ref = _load("ccz_reference_decoder", "reference_decoder.py")
# Its range encoder is written from context.md section 6 and shares ref's model.
generator = _load("make_conformance", "make_conformance.py")


def _reference(data: bytes):
    try:
        d = ref.decode(data)
    except ref.FormatError as exc:
        return type(exc).__name__
    return np.array(d.palette, np.uint8).reshape(len(d.palette), -1), np.array(d.labels), d.info


def _ccodec(data: bytes):
    try:
        q = ccodec.decode(data)
    except ccodec.CczError as exc:
        return type(exc).__name__
    return q.palette, q.labels.astype(np.int64), q.info


def _same(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return all(np.array_equal(x, y) for x, y in zip(a[:2], b[:2], strict=True)) and a[2] == b[2]


@pytest.mark.parametrize("entry", ENTRIES, ids=[Path(e["file"]).stem for e in ENTRIES])
def test_reference_decoder_does_what_the_manifest_says(entry):
    outcome = _reference((ROOT / entry["file"]).read_bytes())
    if entry["expect"] != "ok":
        assert outcome == entry["expect"]
        return
    palette, labels, info = outcome
    with Image.open(ROOT / entry["png"]) as image:
        expected = np.asarray(image)
    pixels = palette[labels]
    np.testing.assert_array_equal(pixels[..., 0] if palette.shape[1] == 1 else pixels, expected)
    assert {k: v.hex() if isinstance(v, bytes) else v for k, v in info.items()} == entry["info"]


@pytest.mark.parametrize("entry", ENTRIES, ids=[Path(e["file"]).stem for e in ENTRIES])
def test_reference_and_ccodec_agree_on_every_conformance_file(entry):
    data = (ROOT / entry["file"]).read_bytes()
    assert _same(_reference(data), _ccodec(data))


def test_ccodec_follows_context_md_on_the_smallest_image_that_once_deviated():
    """W=1, H=2, K=2, indices [[1], [0]]: context.md's stream is 9fff8000; ccodec's coder
    wrote 8aafc000 until commit 8e1ea35 (it or-ed the diagonal bits over the outcomes)."""
    q = ccodec.Quantized(np.array([[0], [255]], np.uint8), np.array([[1], [0]], np.uint8))
    data = ccodec.encode_quantized(q, coding="context")
    assert data[46:-4] == bytes.fromhex("9fff8000")
    assert _same(_reference(data), _ccodec(data))


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [1, 2, 3, 5, 16, 256, 257, 1000])
def test_random_images_decode_alike(channels, k):
    """Both decoders give the labels, and ccodec's encoder the spec-built encoder's bytes."""
    rng = np.random.default_rng(k * 10 + channels)
    for _ in range(4):
        height, width = (int(v) for v in rng.integers(1, 12, 2))
        # Repeated colours (ties in context.md 4.3), and `near` (4.2) of both values at K = 256.
        palette = rng.integers(0, 256, (k, channels), dtype=np.uint8)
        palette[rng.random(k) < 0.3] = palette[0]
        labels = (rng.integers(0, 3, (height, width)) + np.arange(width) // 3) % k
        labels = labels.astype(np.uint8 if k <= 256 else np.uint16)
        data = ccodec.encode_quantized(ccodec.Quantized(palette, labels), coding="context")
        assert data[ccodec.read_header(data).payload_offset :] == generator.with_crc(
            generator.context_stream(labels, palette)
        )
        decoded = _reference(data)
        assert _same(decoded, _ccodec(data))
        np.testing.assert_array_equal(decoded[1], labels)


# Files of coding 2 that both decoders read: a flipped byte or a cut must give the same outcome.
MUTATED = ["ctx_rgb_k3_9x1", "ctx_rgba_k256_16x16", "ctx_rgb_k257_bits16_5x3", "ctx_bits16_for_k3"]


@pytest.mark.parametrize("name", MUTATED)
def test_flipped_and_cut_files_fail_alike(name):
    data = (ROOT / f"valid/{name}.ccz").read_bytes()
    rng = np.random.default_rng(len(data))
    variants = [data[:n] for n in range(0, len(data), max(1, len(data) // 60))]
    for at in rng.integers(0, len(data), 60):
        variants.append(data[:at] + bytes([data[at] ^ 1 << int(rng.integers(8))]) + data[at + 1 :])
    for variant in variants:
        assert _same(_reference(variant), _ccodec(variant)), variant.hex()


def _with_stream(data: bytes, stream: bytes) -> bytes:
    """`data` (a coding-2 file) with its context stream replaced and its CRC-32 recomputed."""
    start = len(data) - len(stream) - 4
    return data[:start] + stream + struct.pack("<I", zlib.crc32(stream))


def test_damaged_streams_with_a_valid_crc_fail_alike():
    """Bytes of the stream flipped and the payload's CRC-32 recomputed, so that both decoders
    reach the context stream itself: the same error class, or the same labels."""
    rng = np.random.default_rng(14)
    # Small files of every literal path; the last two have flags of both `near` values.
    names = [*MUTATED, "ctx_l_k6_duplicate_colours_12x8", "ctx_rgb_k16_32x24"]
    files = [(ROOT / f"valid/{name}.ccz").read_bytes() for name in names]
    outcomes = set()
    for case in range(200):
        data = files[case % len(files)]
        stream = bytearray(data[ccodec.read_header(data).payload_offset : -4])
        for at in rng.integers(0, len(stream), int(rng.integers(1, 4))):
            stream[at] ^= int(rng.integers(1, 256))
        variant = _with_stream(data, bytes(stream))
        mine, theirs = _reference(variant), _ccodec(variant)
        assert _same(mine, theirs), (case, variant.hex())
        outcomes.add(mine if isinstance(mine, str) else "ok")
    # The cases reach the stream's own checks and also decode (damaged labels, no error).
    assert outcomes == {"CorruptError", "ok"}


def test_command_line(capsys):
    assert ref.main([str(ROOT / "valid/ctx_rgb_k16_32x24.ccz")]) == 0
    assert capsys.readouterr().out.startswith("ok: 32x24 RGB, K=16")
    assert ref.main([str(ROOT / "invalid/ctx_stream_cut.ccz")]) == 1
    assert capsys.readouterr().out.startswith("CorruptError: context stream")
