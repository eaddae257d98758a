"""Regenerate the .ccz conformance files in formats/conformance/ (see ccz.md).

    python formats/make_conformance.py              # rewrite formats/conformance/
    python formats/make_conformance.py --out DIR    # write somewhere else

Files are assembled here field by field from the specification, not with
ccodec's encoder, so they check the encoder as well as the decoder (the tests
compare the two). Every invalid file is a valid one with one thing changed;
the header CRC is recomputed after the change, so each file reaches the rule
it is named after. The output depends only on the images below: running the
script twice gives identical bytes.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import zstandard
from PIL import Image

SIGNATURE = b"\x89CCZ\r\n\x1a\n"
HEADER = struct.Struct("<8sBBHIIIBBBBHHQ")
DEFAULT_OUT = Path(__file__).resolve().parent / "conformance"


@dataclass(frozen=True)
class Fields:
    """Everything that goes into a file; `None` means "what a correct encoder writes"."""

    palette: np.ndarray  # (K, C) uint8
    labels: np.ndarray  # (H, W) indices
    major: int = 1
    minor: int = 0
    extra_header: bytes = b""
    width: int | None = None
    height: int | None = None
    k: int | None = None
    channels: int | None = None
    bits: int | None = None
    compression: int = 0
    filter: int = 0
    required_flags: int = 0
    optional_flags: int = 0
    header_length: int | None = None
    payload_length: int | None = None
    raw: bytes | None = None  # packed indices, default packed from labels
    payload: bytes | None = None  # zstd frame, default compressed from raw
    pad_bits: bool = False  # set padding bits to 1 (decoders must ignore them)


def smallest_bits(k: int) -> int:
    return next(b for b in (1, 2, 4, 8) if k <= 1 << b)


def pack_rows(labels: np.ndarray, bits: int, *, pad_bits: bool = False) -> bytes:
    """Indices MSB first, each row padded to a whole byte (a plain reference loop)."""
    out = bytearray()
    for row in labels.tolist():
        acc = used = 0
        for index in row:
            acc, used = (acc << bits) | index, used + bits
            if used == 8:
                out.append(acc)
                acc = used = 0
        if used:
            pad = 8 - used
            out.append((acc << pad) | ((1 << pad) - 1 if pad_bits else 0))
    return bytes(out)


def compress(raw: bytes, **options: bool) -> bytes:
    settings = {"write_checksum": True, "write_content_size": True, "write_dict_id": False}
    settings.update(options)
    return zstandard.ZstdCompressor(level=19, **settings).compress(raw)


def assemble(f: Fields) -> bytes:
    k, channels = f.palette.shape
    bits = f.bits if f.bits is not None else smallest_bits(k)
    raw = f.raw if f.raw is not None else pack_rows(f.labels, bits, pad_bits=f.pad_bits)
    payload = f.payload if f.payload is not None else compress(raw)
    height, width = f.labels.shape
    header = HEADER.pack(
        SIGNATURE,
        f.major,
        f.minor,
        f.header_length if f.header_length is not None else HEADER.size + len(f.extra_header),
        f.width if f.width is not None else width,
        f.height if f.height is not None else height,
        f.k if f.k is not None else k,
        f.channels if f.channels is not None else channels,
        bits,
        f.compression,
        f.filter,
        f.required_flags,
        f.optional_flags,
        f.payload_length if f.payload_length is not None else len(payload),
    )
    checked = header + f.extra_header + f.palette.tobytes()
    return checked + struct.pack("<I", zlib.crc32(checked)) + payload


def png(palette: np.ndarray, labels: np.ndarray) -> bytes:
    pixels = palette[labels]
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if palette.shape[1] == 1 else pixels).save(buffer, "PNG")
    return buffer.getvalue()


def image(k: int, channels: int, width: int, height: int, seed: int) -> Fields:
    """A test image using every one of its `k` palette entries where it has room."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (k, channels), dtype=np.uint8)
    labels = (np.arange(width * height) % k).astype(np.uint8)
    return Fields(palette, rng.permutation(labels).reshape(height, width))


def _example() -> Fields:
    """The 2x2 RGB image of ccz.md's worked example."""
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 0, 255]], np.uint8)
    return Fields(palette, np.array([[0, 1], [2, 0]], np.uint8))


# name: (fields, description); every bit width, channel layout, odd widths, 1xN, Nx1.
VALID: dict[str, tuple[Fields, str]] = {
    "example_2x2": (_example(), "the worked example of ccz.md: RGB, K=3, 2 bits"),
    "l_k1_1x1": (image(1, 1, 1, 1, 1), "smallest file: L, K=1, 1 bit, 1x1"),
    "rgb_k1_3x2": (image(1, 3, 3, 2, 2), "K=1: every index is 0"),
    "l_k2_bits1_5x3": (image(2, 1, 5, 3, 3), "1 bit, odd width: 3 padding bits a row"),
    "la_k3_bits2_7x2": (image(3, 2, 7, 2, 4), "LA, 2 bits, odd width"),
    "rgb_k4_bits2_4x4": (image(4, 3, 4, 4, 5), "RGB, 2 bits, rows exactly one byte"),
    "rgba_k5_bits4_3x3": (image(5, 4, 3, 3, 6), "RGBA, 4 bits, odd width"),
    "l_k16_bits4_9x2": (image(16, 1, 9, 2, 7), "L, 4 bits, K=16 fills the width"),
    "la_k17_bits8_5x5": (image(17, 2, 5, 5, 8), "LA, 8 bits, smallest K that needs them"),
    "rgba_k256_bits8_16x16": (image(256, 4, 16, 16, 9), "RGBA, K=256, all indices used"),
    "rgb_k2_1x9": (image(2, 3, 1, 9, 10), "1 pixel wide (1xN): a byte a row at 1 bit"),
    "rgb_k3_9x1": (image(3, 3, 9, 1, 11), "1 pixel high (Nx1)"),
    "rgb_k4_13x7": (image(4, 3, 13, 7, 12), "larger odd size, 2 bits"),
    "minor_newer_extra_header": (
        replace(_example(), minor=7, extra_header=bytes(range(1, 9))),
        "version 1.7 with 8 unknown header bytes: decoders skip them",
    ),
    "optional_flag_unknown": (
        replace(_example(), optional_flags=0x8001),
        "unknown optional flags are ignored",
    ),
    "bits8_for_k2": (
        replace(image(2, 1, 3, 2, 13), bits=8),
        "wider indices than needed (8 bits for K=2) are still valid",
    ),
    "padding_bits_set": (
        replace(image(2, 1, 5, 3, 3), pad_bits=True),
        "row padding bits are 1: decoders ignore them",
    ),
}


def _set_byte(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + bytes([value]) + data[offset + 1 :]


def _corrupt_block_type(f: Fields) -> bytes:
    # Frame header is magic 4 + descriptor 1 + content size 1 (single segment,
    # small); bits 1-2 of the block header are the type and 3 is reserved.
    payload = compress(pack_rows(f.labels, 2))
    return payload[:6] + bytes([payload[6] | 0b110]) + payload[7:]


def _with_dict_id(f: Fields) -> bytes:
    payload = compress(pack_rows(f.labels, 2))
    descriptor = payload[4] | 0b01  # one dictionary-ID byte follows the descriptor
    return payload[:4] + bytes([descriptor, 42]) + payload[5:]


def _huge_content_size() -> bytes:
    # A hand-built frame declaring 4 GiB: single segment, 8-byte content size,
    # checksum flag, then one 1-byte raw block and a checksum.
    header = struct.pack("<IBQ", 0xFD2FB528, 0b1110_0100, 4 << 30)
    return header + (0b1001).to_bytes(3, "little") + b"\0" + b"\0\0\0\0"


def _invalid() -> dict[str, tuple[Callable[[], bytes], str, str, str]]:
    """name: (build, error class, message substring, description)."""
    ex = _example()
    good = assemble(ex)
    raw = pack_rows(ex.labels, 2)
    big = VALID["rgb_k4_13x7"][0]
    big_raw = pack_rows(big.labels, 2)
    bad_index = ex.labels.copy()
    bad_index[1, 1] = 3

    def a(**changes: object) -> Callable[[], bytes]:
        return lambda: assemble(replace(ex, **changes))

    return {
        "empty": (lambda: b"", "NotCczError", "empty", "zero bytes"),
        "png_signature": (
            lambda: b"\x89PNG\r\n\x1a\n" + good[8:],
            "NotCczError",
            "not a .ccz file",
            "another format's signature (PNG)",
        ),
        "bad_magic": (
            lambda: b"CCZ1" + good[4:],
            "NotCczError",
            "not a .ccz file",
            "signature replaced",
        ),
        "signature_crlf_to_lf": (
            lambda: good.replace(b"\r\n", b"\n", 1),
            "CorruptError",
            "damaged .ccz signature",
            "CRLF turned into LF by a text-mode transfer",
        ),
        "signature_lf_to_crlf": (
            lambda: good[:6] + b"\x1a\r\n" + good[8:],
            "CorruptError",
            "damaged .ccz signature",
            "LF turned into CRLF by a text-mode transfer",
        ),
        "truncated_signature": (lambda: good[:5], "TruncatedError", "truncated signature", ""),
        "truncated_version": (lambda: good[:10], "TruncatedError", "truncated header", ""),
        "major_2": (a(major=2), "UnsupportedError", "unsupported .ccz version 2.0", ""),
        "major_0": (a(major=0), "UnsupportedError", "unsupported .ccz version 0.0", ""),
        "header_length_39": (a(header_length=39), "CorruptError", "header length 39", ""),
        "truncated_header": (lambda: good[:30], "TruncatedError", "truncated header", ""),
        "width_zero": (a(width=0), "CorruptError", "invalid dimensions 0x2", ""),
        "height_zero": (a(height=0), "CorruptError", "invalid dimensions 2x0", ""),
        "width_2_31": (a(width=1 << 31), "CorruptError", "invalid dimensions", "width >= 2^31"),
        "huge_dimensions": (
            a(width=100_000, height=100_000),
            "LimitError",
            "above the limit",
            "10^10 pixels: over the default pixel limit, refused before any allocation",
        ),
        "channels_zero": (
            a(palette=np.zeros((3, 0), np.uint8)),
            "CorruptError",
            "invalid channel count 0",
            "",
        ),
        "channels_5": (
            a(palette=np.zeros((3, 5), np.uint8)),
            "CorruptError",
            "invalid channel count 5",
            "",
        ),
        "bits_3": (a(bits=3, raw=raw), "CorruptError", "invalid bits per index 3", ""),
        "bits_16": (
            a(bits=16, raw=raw),
            "UnsupportedError",
            "reserved for a future version",
            "16-bit indices are reserved",
        ),
        "k_zero": (
            a(palette=np.zeros((0, 3), np.uint8), bits=2),
            "CorruptError",
            "K=0",
            "empty palette",
        ),
        "k_too_large_for_bits": (
            a(palette=np.zeros((5, 3), np.uint8), bits=2),
            "CorruptError",
            "K=5 does not fit in 2 bits",
            "",
        ),
        "k_257": (
            a(palette=np.zeros((257, 3), np.uint8), bits=8),
            "UnsupportedError",
            "K=257 is above 256",
            "K > 256 is reserved for a future 16-bit extension",
        ),
        "compression_1": (a(compression=1), "UnsupportedError", "unknown compression method 1", ""),
        "filter_1": (a(filter=1), "UnsupportedError", "unknown filter method 1", ""),
        "required_flag_unknown": (
            a(required_flags=0x0001),
            "UnsupportedError",
            "unknown required flags 0x0001",
            "",
        ),
        "payload_length_zero": (a(payload_length=0), "CorruptError", "payload length 0", ""),
        "payload_length_huge": (
            a(payload_length=1 << 40),
            "CorruptError",
            "is impossible",
            "more than zstd's bound for the raw size",
        ),
        "truncated_extended_header": (
            lambda: assemble(VALID["minor_newer_extra_header"][0])[:44],
            "TruncatedError",
            "truncated header",
            "cut inside the 8 extension bytes of a version 1.7 header",
        ),
        "truncated_palette": (lambda: good[:44], "TruncatedError", "truncated palette", ""),
        "truncated_crc": (lambda: good[:50], "TruncatedError", "truncated CRC-32", ""),
        "crc_mismatch": (
            lambda: _set_byte(good, 40, good[40] ^ 0x01),
            "ChecksumError",
            "CRC-32 mismatch",
            "palette byte flipped after the CRC was computed",
        ),
        "truncated_payload": (lambda: good[:-1], "TruncatedError", "truncated payload", ""),
        "trailing_bytes": (lambda: good + b"\0", "CorruptError", "1 trailing bytes", ""),
        "payload_not_zstd": (
            a(payload=b"\0" * 16),
            "CorruptError",
            "not a zstd frame",
            "",
        ),
        "payload_skippable_frame": (
            a(payload=struct.pack("<II", 0x184D2A50, 8) + bytes(8)),
            "CorruptError",
            "not a zstd frame",
            "a zstd skippable frame holds no image",
        ),
        "frame_header_reserved_bit": (
            a(payload=(p := compress(raw))[:4] + bytes([p[4] | 0b1000]) + p[5:]),
            "CorruptError",
            "cannot get frame parameters",
            "the reserved bit of the frame header descriptor is set",
        ),
        "payload_corrupted": (
            lambda: assemble(replace(ex, payload=_corrupt_block_type(ex))),
            "CorruptError",
            "corrupt payload",
            "reserved zstd block type",
        ),
        "zstd_checksum_mismatch": (
            lambda: assemble(replace(ex, payload=(p := compress(raw))[:-1] + bytes([p[-1] ^ 1]))),
            "ChecksumError",
            "payload checksum mismatch",
            "",
        ),
        "frame_content_size_mismatch": (
            a(payload=compress(raw + b"\0")),
            "CorruptError",
            "frame declares 3 bytes, the header implies 2",
            "",
        ),
        "frame_huge_content_size": (
            a(payload=_huge_content_size()),
            "CorruptError",
            "frame declares 4294967296 bytes",
            "must be refused before the 4 GiB are allocated",
        ),
        "frame_no_content_size": (
            a(payload=compress(raw, write_content_size=False)),
            "CorruptError",
            "does not declare its content size",
            "",
        ),
        "frame_no_checksum": (
            # A larger image, so that the frame is not too short to be valid anyway.
            lambda: assemble(replace(big, payload=compress(big_raw, write_checksum=False))),
            "CorruptError",
            "frame has no checksum",
            "",
        ),
        "frame_dictionary": (
            a(payload=_with_dict_id(ex)),
            "CorruptError",
            "needs a zstd dictionary",
            "",
        ),
        "two_frames": (
            a(payload=compress(raw) + compress(raw)),
            "CorruptError",
            "unused data",
            "a second frame after the first",
        ),
        "index_ge_k": (
            a(labels=bad_index),
            "CorruptError",
            "index 3 >= K=3 at row 1, column 1",
            "",
        ),
    }


def build() -> dict[str, bytes]:
    """Every conformance file (relative path: bytes), the manifest included."""
    files: dict[str, bytes] = {}
    manifest = []
    for name, (fields, description) in VALID.items():
        files[f"valid/{name}.ccz"] = assemble(fields)
        files[f"valid/{name}.png"] = png(fields.palette, fields.labels)
        manifest.append(
            {
                "file": f"valid/{name}.ccz",
                "expect": "ok",
                "png": f"valid/{name}.png",
                "description": description,
            }
        )
    for name, (make, error, message, description) in _invalid().items():
        files[f"invalid/{name}.ccz"] = make()
        entry = {"file": f"invalid/{name}.ccz", "expect": error, "message": message}
        manifest.append(entry | ({"description": description} if description else {}))
    text = json.dumps({"format": "ccz 1.0", "files": manifest}, indent=1) + "\n"
    files["manifest.json"] = text.encode()
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    out = parser.parse_args().out
    for sub in ("valid", "invalid"):
        shutil.rmtree(out / sub, ignore_errors=True)
    for relative, data in build().items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"wrote {len(build())} files to {out}")


if __name__ == "__main__":
    main()
