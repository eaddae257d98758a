"""Regenerate the .ccz conformance files in formats/conformance/ (see ccz.md).

    python formats/make_conformance.py              # rewrite formats/conformance/
    python formats/make_conformance.py --out DIR    # write somewhere else

Files are assembled here field by field from the specification, not with
ccodec's encoder, so they check the encoder as well as the decoder (the tests
compare the two). The one exception is the rANS stream of coding 1
(formats/rans.md), which comes from `ccodec.rans.encode_labels`. Every
invalid file is a valid one with one thing changed; the header CRC is
recomputed after the change, so each file reaches the rule it is named
after. The output depends only on the images below (and, for coding 1, on
ccodec.rans): running the script twice gives identical bytes. Context streams
(coding 2) come from `context_stream` below, a range encoder written from
formats/context.md section 6 that uses formats/reference_decoder.py's model.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import shutil
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

import numpy as np
import zstandard
from PIL import Image

SIGNATURE = b"\x89CCZ\r\n\x1a\n"
HEADER = struct.Struct("<8sBBHIIIBBBBHHQ")
METADATA_FLAG = 0x0002
DEFAULT_OUT = Path(__file__).resolve().parent / "conformance"


@dataclass(frozen=True)
class Fields:
    """Everything that goes into a file; `None` means "what a correct encoder writes"."""

    palette: np.ndarray  # (K, C) uint8
    labels: np.ndarray  # (H, W) indices
    info: tuple[tuple[str, str | bytes], ...] = ()  # metadata, written as chunks in this order
    major: int = 1
    minor: int | None = None  # default: 1 if the file uses a 1.1 feature, else 0
    extra_header: bytes | None = None  # default: the metadata chunks of `info`
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
    return next(b for b in (1, 2, 4, 8, 16) if k <= 1 << b)


def pack_rows(labels: np.ndarray, bits: int, *, pad_bits: bool = False) -> bytes:
    """Indices MSB first, each row padded to a whole byte (a plain reference loop);
    16-bit indices as little-endian pairs of bytes."""
    out = bytearray()
    if bits == 16:
        for index in labels.ravel().tolist():
            out += struct.pack("<H", index)
        return bytes(out)
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


def _reference() -> ModuleType:
    """formats/reference_decoder.py, whose model (context.md section 4) the encoder shares."""
    name = "ccz_reference_decoder"
    if name not in sys.modules:
        path = Path(__file__).resolve().parent / "reference_decoder.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


class RangeEncoder:
    """context.md section 6: LZMA's range encoder with section 3's adaptive contexts."""

    def __init__(self, contexts: int) -> None:
        self.low, self.range, self.cache, self.pending = 0, 0xFFFFFFFF, 0, 0
        self.out = bytearray()
        self.p = [32768] * contexts
        self.count = [0] * contexts

    def _shift_low(self) -> None:
        if self.low < 0xFF000000 or self.low >= 1 << 32:
            carry = self.low >> 32
            self.out.append((self.cache + carry) & 0xFF)
            self.out += bytes([(0xFF + carry) & 0xFF]) * self.pending
            self.pending = 0
            self.cache = (self.low >> 24) & 0xFF
        else:
            self.pending += 1
        self.low = (self.low & 0x00FFFFFF) << 8

    def bit(self, context: int, bit: int) -> None:
        p = self.p[context]
        bound = (self.range >> 16) * p
        if bit == 0:
            self.range = bound
        else:
            self.low += bound
            self.range -= bound
        while self.range < 1 << 24:
            self.range <<= 8
            self._shift_low()
        n = self.count[context]
        rate = 131072 // (2 * n + 3)
        self.p[context] = (
            p + ((65504 - p) * rate >> 16) if bit == 0 else p - ((p - 32) * rate >> 16)
        )
        self.count[context] = min(n + 1, 60)

    def tree(self, base: int, depth: int, value: int) -> None:
        """`value`'s low `depth` bits, most significant first, in contexts base + node."""
        node = 1
        for shift in reversed(range(depth)):
            bit = value >> shift & 1
            self.bit(base + node, bit)
            node = 2 * node + bit

    def finish(self) -> bytes:
        for _ in range(5):
            self._shift_low()
        return bytes(self.out[1:])  # the first byte is always 0 and is left out


def context_stream(labels: np.ndarray, palette: np.ndarray, *, forced: dict | None = None) -> bytes:
    """The context stream of `labels` (context.md). `forced` maps a pixel (x, y) that
    escapes to what its literal codes instead of its index: ("rank", r) for the
    rank after exclusion, ("exponent", e), or ("index", v) for K > 256; invalid files."""
    ref = _reference()
    rows = labels.tolist()
    height, width = labels.shape
    k = len(palette)
    colours = [tuple(c) for c in palette.tolist()]
    coder = RangeEncoder(ref.LITERAL_BASE + (2 * 65536 if k > 256 else 16 * 9 + 256 * 9))
    order = ref.DistanceOrder(colours)
    emax = (k - 1).bit_length()
    depth = emax.bit_length()
    high_bits = ((k - 1) >> 8).bit_length()
    forced = forced or {}
    outcomes: list[list[int]] = []
    for y in range(height):
        row_outcomes: list[int] = []
        outcomes.append(row_outcomes)
        for x in range(width):
            value = rows[y][x]
            around = ref.neighbours(rows, x, y, width)
            cand = ref.candidates(around)
            ow = row_outcomes[x - 1] if x > 0 else 0
            on = outcomes[y - 1][x] if y > 0 else 0
            context = ref.pattern(around, ow, on, ref.near_bit(order, cand, k))
            escape = (x, y) in forced or value not in cand
            for i, c in enumerate(cand):
                coder.bit(i * ref.PATTERNS + context, int(escape or c != value))
                if not escape and c == value:
                    row_outcomes.append(int(i > 0))
                    break
            else:
                row_outcomes.append(2)
                kind, number = forced.get((x, y), ("index", value))
                if k > 256:
                    coder.tree(ref.LITERAL_BASE + 256 * (around[0] >> 8), high_bits, number >> 8)
                    coder.tree(ref.LITERAL_BASE + 65536 + 256 * (number >> 8), 8, number & 255)
                    continue
                _, rank = order(around[0])
                cls = rank[cand[1]].bit_length() if len(cand) >= 2 else 0
                if kind == "index":
                    number = rank[value] - sum(rank[c] < rank[value] for c in cand)
                e = number if kind == "exponent" else number.bit_length()
                coder.tree(ref.LITERAL_BASE + 16 * cls, depth, e)
                if e and kind != "exponent":
                    coder.tree(ref.LITERAL_BASE + 144 + 256 * cls, e - 1, number)
                elif e:
                    coder.tree(ref.LITERAL_BASE + 144 + 256 * cls, e - 1, 0)
    return coder.finish()


def rans_payload(labels: np.ndarray, k: int) -> bytes:
    """Coding 1: the rANS stream of formats/rans.md, then its CRC-32."""
    from ccodec.rans import encode_labels

    return with_crc(encode_labels(labels, k))


def with_crc(stream: bytes) -> bytes:
    return stream + struct.pack("<I", zlib.crc32(stream))


def chunk(kind: bytes, data: bytes) -> bytes:
    """One metadata chunk: 4-byte type, u32 length, data."""
    return struct.pack("<4sI", kind, len(data)) + data


def metadata(info: tuple[tuple[str, str | bytes], ...]) -> bytes:
    """The chunks for `info`: ``icc_profile`` as ICCP, every other entry as TEXT."""
    return b"".join(
        chunk(b"ICCP", value)
        if key == "icc_profile"
        else chunk(b"TEXT", key.encode() + b"\0" + value.encode())
        for key, value in info
    )


def assemble(f: Fields) -> bytes:
    k, channels = f.palette.shape
    bits = f.bits if f.bits is not None else smallest_bits(k)
    raw = f.raw if f.raw is not None else pack_rows(f.labels, bits, pad_bits=f.pad_bits)
    if f.payload is not None:
        payload = f.payload
    elif f.compression == 1:
        payload = rans_payload(f.labels, k)
    elif f.compression == 2:
        payload = with_crc(context_stream(f.labels, f.palette))
    else:
        payload = compress(raw)
    height, width = f.labels.shape
    extra = f.extra_header if f.extra_header is not None else metadata(f.info)
    flags = f.optional_flags | (METADATA_FLAG if f.info else 0)
    uses_1_1 = bits == 16 or f.compression != 0 or flags & METADATA_FLAG
    header = HEADER.pack(
        SIGNATURE,
        f.major,
        f.minor if f.minor is not None else 2 if f.compression == 2 else int(bool(uses_1_1)),
        f.header_length if f.header_length is not None else HEADER.size + len(extra),
        f.width if f.width is not None else width,
        f.height if f.height is not None else height,
        f.k if f.k is not None else k,
        f.channels if f.channels is not None else channels,
        bits,
        f.compression,
        f.filter,
        f.required_flags,
        flags,
        f.payload_length if f.payload_length is not None else len(payload),
    )
    checked = header + extra + f.palette.tobytes()
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
    labels = (np.arange(width * height) % k).astype(np.uint8 if k <= 256 else np.uint16)
    return Fields(palette, rng.permutation(labels).reshape(height, width))


def _stripes(k: int, channels: int, width: int, height: int, seed: int) -> Fields:
    """Diagonal bands with a few random pixels: neighbours predict most indices, as in photos."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (k, channels), dtype=np.uint8)
    y, x = np.mgrid[:height, :width]
    labels = (x + 2 * y) // 5 % k
    noise = rng.random((height, width)) < 0.1
    labels[noise] = rng.integers(0, k, int(noise.sum()))
    return Fields(palette, labels.astype(np.uint8 if k <= 256 else np.uint16))


def _k65536() -> Fields:
    """L, K = 65536: a grey ramp palette, 256 pixels that include the first and last index."""
    palette = (np.arange(1 << 16) % 256).astype(np.uint8)[:, None]
    labels = np.random.default_rng(18).integers(0, 1 << 16, 256).astype(np.uint16)
    labels[:2] = 0, (1 << 16) - 1
    return Fields(palette, labels.reshape(16, 16))


def _duplicates() -> Fields:
    """L, K=6: colours 10 and 20 twice, 0 and 20 equidistant from 10 (context.md 4.3's ties)."""
    palette = np.array([[10], [20], [10], [0], [20], [30]], np.uint8)
    y, x = np.mgrid[:8, :12]
    labels = ((x * 7 + y * 3) // 4 + (x * y) % 5) % 6
    return Fields(palette, labels.astype(np.uint8))


# 132 bytes shaped like an ICC profile header (size, 'acsp' at offset 36):
# a container test, not a usable profile.
ICC_STAND_IN = struct.pack(">I4s", 132, b"ccod") + bytes(28) + b"acsp" + bytes(range(92))
TEXT = (("Title", "conformance"), ("Beschreibung", "Gr\u00f6\u00dfe 2\u00d72 \u2603"))


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
    # Version 1.1: 16-bit indices.
    "rgb_k300_bits16_23x17": (image(300, 3, 23, 17, 14), "1.1: RGB, K=300, 16-bit indices"),
    "la_k257_bits16_5x3": (
        image(257, 2, 5, 3, 15),
        "1.1: LA, K=257, the smallest K that needs 16 bits",
    ),
    "rgba_k1000_bits16_9x4": (image(1000, 4, 9, 4, 16), "1.1: RGBA, K=1000"),
    "l_k65536_bits16_16x16": (
        _k65536(),
        "1.1: L, K=65536, the largest palette; indices 0 and 65535 used",
    ),
    "bits16_for_k3": (
        replace(image(3, 3, 4, 3, 17), bits=16),
        "1.1: 16-bit indices for K=3 (wider than needed) are valid",
    ),
    # Version 1.1: metadata chunks.
    "metadata_icc_text": (
        replace(_example(), info=(("icc_profile", ICC_STAND_IN), *TEXT)),
        "1.1: an ICC profile chunk and two text chunks (one value non-ASCII UTF-8)",
    ),
    "metadata_text_only": (
        replace(image(16, 1, 9, 2, 7), info=(("Comment", ""), ("Title", "only text"))),
        "1.1: text chunks, one with an empty value",
    ),
    "metadata_unknown_chunk": (
        replace(
            _example(),
            info=TEXT,
            extra_header=chunk(b"zzzz", b"a chunk type from the future") + metadata(TEXT),
        ),
        "1.1: a chunk of unknown type before the text: skipped",
    ),
    "metadata_flag_no_chunks": (
        replace(_example(), optional_flags=METADATA_FLAG),
        "1.1: metadata flag set, no extension bytes: no metadata",
    ),
    "metadata_with_bits16": (
        replace(image(300, 3, 23, 17, 14), info=(("icc_profile", ICC_STAND_IN),)),
        "1.1: 16-bit indices and an ICC profile",
    ),
    # Version 1.1: rANS coding.
    "rans_rgb_k6_24x16": (replace(_stripes(6, 3, 24, 16, 19), compression=1), "1.1: rANS, RGB"),
    "rans_l_k1_3x2": (replace(image(1, 1, 3, 2, 20), compression=1), "1.1: rANS, K=1"),
    "rans_la_k2_1x7": (replace(image(2, 2, 1, 7, 21), compression=1), "1.1: rANS, 1 pixel wide"),
    "rans_rgba_k256_16x16": (
        replace(image(256, 4, 16, 16, 22), compression=1),
        "1.1: rANS, K=256: the largest literal table of 8-bit indices",
    ),
    "rans_rgb_k300_bits16_19x9": (
        replace(_stripes(300, 3, 19, 9, 23), compression=1),
        "1.1: rANS with 16-bit indices (literals as high and low byte)",
    ),
    "rans_metadata": (
        replace(_stripes(6, 3, 24, 16, 19), compression=1, info=TEXT),
        "1.1: rANS and text metadata",
    ),
    # Version 1.2: the context coder (coding 2).
    **{
        f"ctx_{name}": (replace(fields, compression=2), f"1.2: context coder, {description}")
        for name, (fields, description) in {
            "l_k1_1x1": (image(1, 1, 1, 1, 30), "smallest file: L, K=1, 1x1"),
            "la_k2_7x5": (_stripes(2, 2, 7, 5, 31), "LA, K=2 (one literal bit path)"),
            "rgb_k3_9x1": (_stripes(3, 3, 9, 1, 32), "RGB, K=3, 1 pixel high (Nx1)"),
            "rgba_k16_1x9": (image(16, 4, 1, 9, 33), "RGBA, K=16, 1 pixel wide (1xN)"),
            "rgb_k16_32x24": (
                _stripes(16, 3, 32, 24, 34),
                "RGB, K=16: stripes and noise, every flag and literal path",
            ),
            "rgba_k256_16x16": (image(256, 4, 16, 16, 35), "RGBA, K=256: every index a literal"),
            "l_k6_duplicate_colours_12x8": (
                _duplicates(),
                "L, K=6 with repeated and equidistant colours (ties by the smaller index)",
            ),
            "rgb_k257_bits16_5x3": (image(257, 3, 5, 3, 36), "RGB, K=257: two-byte literals"),
            "la_k1000_bits16_19x9": (_stripes(1000, 2, 19, 9, 37), "LA, K=1000: two-byte literals"),
            "l_k65536_bits16_16x16": (_k65536(), "L, K=65536: every high byte"),
            "bits16_for_k3": (replace(image(3, 3, 4, 3, 38), bits=16), "16-bit field for K=3"),
            "metadata": (
                replace(_stripes(6, 3, 24, 16, 39), info=(("icc_profile", ICC_STAND_IN), *TEXT)),
                "RGB, K=6, an ICC profile and text",
            ),
        }.items()
    },
}

#: What a version 1.0 decoder does with each file that uses a 1.1 feature.
V1_0 = {
    "rgb_k300_bits16_23x17": "UnsupportedError (rule 8: 16-bit indices are reserved)",
    "la_k257_bits16_5x3": "UnsupportedError (rule 8: 16-bit indices are reserved)",
    "rgba_k1000_bits16_9x4": "UnsupportedError (rule 8: 16-bit indices are reserved)",
    "l_k65536_bits16_16x16": "UnsupportedError (rule 8: 16-bit indices are reserved)",
    "bits16_for_k3": "UnsupportedError (rule 8: 16-bit indices are reserved)",
    "metadata_icc_text": "ok: the same pixels, metadata skipped",
    "metadata_text_only": "ok: the same pixels, metadata skipped",
    "metadata_unknown_chunk": "ok: the same pixels, metadata skipped",
    "metadata_flag_no_chunks": "ok: the same pixels",
    "metadata_with_bits16": "UnsupportedError (rule 8: 16-bit indices are reserved)",
    "rans_rgb_k6_24x16": "UnsupportedError (rule 10: unknown compression method 1)",
    "rans_l_k1_3x2": "UnsupportedError (rule 10: unknown compression method 1)",
    "rans_la_k2_1x7": "UnsupportedError (rule 10: unknown compression method 1)",
    "rans_rgba_k256_16x16": "UnsupportedError (rule 10: unknown compression method 1)",
    "rans_rgb_k300_bits16_19x9": "UnsupportedError (rule 8: 16-bit indices are reserved)",
    "rans_metadata": "UnsupportedError (rule 10: unknown compression method 1)",
    **{
        name: "UnsupportedError (rule 8: 16-bit indices are reserved)"
        if "bits16" in name or "k257" in name or "k1000" in name or "k65536" in name
        else "UnsupportedError (rule 10: unknown compression method 2)"
        for name in VALID
        if name.startswith("ctx_")
    },
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
        "bits_32": (a(bits=32, raw=raw), "CorruptError", "invalid bits per index 32", ""),
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
            "CorruptError",
            "K=257 does not fit in 8 bits",
            "K > 256 needs 16-bit indices (1.0 decoders: UnsupportedError, reserved)",
        ),
        "k_65537": (
            a(palette=np.zeros((65537, 1), np.uint8), bits=16),
            "CorruptError",
            "K=65537 does not fit in 16 bits",
            "",
        ),
        "coding_3": (a(compression=3), "UnsupportedError", "unknown payload coding 3", ""),
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
        **_invalid_1_1(),
    }


def _invalid_1_1() -> dict[str, tuple[Callable[[], bytes], str, str, str]]:
    """Invalid files for the features of version 1.1: 16-bit indices and metadata chunks."""
    wide = VALID["rgb_k300_bits16_23x17"][0]
    wide_index = wide.labels.copy()
    wide_index[3, 4] = 300
    ex = _example()
    meta = VALID["metadata_icc_text"][0]
    good_meta = assemble(meta)
    text = chunk(b"TEXT", b"Title\0x")

    def m(extension: bytes) -> Callable[[], bytes]:
        return lambda: assemble(replace(ex, extra_header=extension, optional_flags=METADATA_FLAG))

    return {
        "bits16_index_ge_k": (
            lambda: assemble(replace(wide, labels=wide_index)),
            "CorruptError",
            "index 300 >= K=300 at row 3, column 4",
            "",
        ),
        "bits16_payload_of_8_bits": (
            lambda: assemble(replace(ex, bits=16, raw=pack_rows(ex.labels, 8))),
            "CorruptError",
            "frame declares 4 bytes, the header implies 8",
            "indices packed at 8 bits under a 16-bit header",
        ),
        "metadata_chunk_cut": (
            m(text + b"ICCP"),
            "CorruptError",
            "metadata chunk at byte 55 is cut by the end of the header",
            "4 bytes left after the last chunk: too few for a chunk header",
        ),
        "metadata_chunk_overrun": (
            m(struct.pack("<4sI", b"TEXT", 100) + b"Title\0x"),
            "CorruptError",
            "claims 100 bytes, 7 are left in the header",
            "",
        ),
        "metadata_two_icc": (
            m(chunk(b"ICCP", ICC_STAND_IN) * 2),
            "CorruptError",
            "second ICC profile chunk",
            "",
        ),
        "metadata_empty_icc": (m(chunk(b"ICCP", b"")), "CorruptError", "empty ICC profile", ""),
        "metadata_text_no_nul": (
            m(chunk(b"TEXT", b"Title")),
            "CorruptError",
            "has no NUL after its key",
            "",
        ),
        "metadata_text_not_utf8": (
            m(chunk(b"TEXT", b"Title\0\xff\xfe")),
            "CorruptError",
            "is not UTF-8",
            "",
        ),
        "metadata_text_empty_key": (
            m(chunk(b"TEXT", b"\0value")),
            "CorruptError",
            "reserved key ''",
            "",
        ),
        "metadata_text_icc_key": (
            m(chunk(b"TEXT", b"icc_profile\0value")),
            "CorruptError",
            "reserved key 'icc_profile'",
            "the key that holds the ICC profile in Image.info",
        ),
        "metadata_text_duplicate": (
            m(text + text),
            "CorruptError",
            "text key 'Title' appears twice",
            "",
        ),
        "metadata_crc_mismatch": (
            lambda: _set_byte(good_meta, 60, good_meta[60] ^ 0x01),
            "ChecksumError",
            "CRC-32 mismatch",
            "a byte of the ICC profile flipped after the CRC was computed",
        ),
        "truncated_metadata": (
            lambda: good_meta[:100],
            "TruncatedError",
            "truncated header",
            "cut inside the metadata chunks",
        ),
        **_invalid_rans(),
        **_invalid_context(),
    }


def _invalid_rans() -> dict[str, tuple[Callable[[], bytes], str, str, str]]:
    """Invalid files of coding 1: the container's checks, then the rANS stream's own."""
    rn = VALID["rans_rgb_k6_24x16"][0]
    stream = rans_payload(rn.labels, 6)[:-4]

    def r(payload: bytes, **changes: object) -> Callable[[], bytes]:
        return lambda: assemble(replace(rn, payload=payload, **changes))

    return {
        "rans_payload_length_small": (
            r(with_crc(b"")),
            "CorruptError",
            "payload length 4 is impossible",
            "a CRC-32 and no rANS stream",
        ),
        "rans_payload_length_huge": (
            r(with_crc(stream), payload_length=1 << 32),
            "CorruptError",
            "is impossible",
            "",
        ),
        "rans_crc_mismatch": (
            r(with_crc(stream)[:-1] + bytes([with_crc(stream)[-1] ^ 1])),
            "ChecksumError",
            "rANS payload CRC-32 mismatch",
            "",
        ),
        "rans_stream_damaged": (
            r(stream[:-1] + bytes([stream[-1] ^ 1]) + with_crc(stream)[-4:]),
            "ChecksumError",
            "rANS payload CRC-32 mismatch",
            "last byte of the stream flipped, CRC-32 left as it was",
        ),
        "rans_model_version": (
            r(with_crc(b"\x09" + stream[1:])),
            "CorruptError",
            "unknown rANS model version 9",
            "CRC-32 recomputed, so the stream's own checks are reached",
        ),
        "rans_table_for_other_k": (
            lambda: assemble(
                replace(rn, palette=rn.palette[:5], labels=rn.labels % 5, payload=with_crc(stream))
            ),
            "CorruptError",
            "rANS frequency table: frame declares",
            "a stream coded for K=6 under a header that says K=5",
        ),
        "rans_width_16385": (
            lambda: assemble(replace(rn, width=16385, height=1, payload=with_crc(stream))),
            "UnsupportedError",
            "rANS coding of an image 16,385 pixels wide",
            "1.1 defines rANS up to 16,384 columns (its decoder steps once per column)",
        ),
        "rans_truncated_stream": (
            r(with_crc(stream[:-2])),
            "CorruptError",
            "rANS word stream ends early",
            "last word of the stream removed, CRC-32 recomputed",
        ),
        "rans_band_taller_than_width_allows": (
            _tall_band,
            "CorruptError",
            "rANS band height 300 is not in 1..128",
            "a 1x300 image declaring one band of 300 rows: rule 3 allows"
            " min(H, 2 * max(64, W // 4)) = 128 (decoding takes W + 2B steps);"
            " stream and CRC-32 otherwise valid",
        ),
    }


def _invalid_context() -> dict[str, tuple[Callable[[], bytes], str, str, str]]:
    """Invalid files of coding 2: the container's rules 14 and 20, then context.md's own."""
    cx = replace(VALID["ctx_rgb_k16_32x24"][0])
    stream = context_stream(cx.labels, cx.palette)
    small = replace(cx, palette=cx.palette[:4], labels=cx.labels % 4)
    escaping = _first_escape(small)
    wide = VALID["ctx_rgb_k257_bits16_5x3"][0]
    one = Fields(np.zeros((1, 3), np.uint8), np.zeros((2, 3), np.uint8), compression=2)
    zero_tail = _zero_tail_stripes()

    def c(payload: bytes, fields: Fields = cx, **changes: object) -> Callable[[], bytes]:
        return lambda: assemble(replace(fields, payload=payload, **changes))

    def forced(fields: Fields, literal: tuple[str, int]) -> Callable[[], bytes]:
        at = _first_escape(fields)
        stream = context_stream(fields.labels, fields.palette, forced={at: literal})
        return c(with_crc(stream), fields)

    pixels = cx.labels.size
    return {
        "ctx_payload_length_7": (
            c(with_crc(stream[:3])),
            "CorruptError",
            "payload length 7 is impossible",
            "rule 14: a 3-byte stream and its CRC-32 (the stream needs 4 bytes)",
        ),
        "ctx_payload_length_huge": (
            c(with_crc(stream), payload_length=32 * pixels + 13),
            "CorruptError",
            "is impossible",
            "rule 14: one byte over 32 * pixels + 12",
        ),
        "ctx_truncated_payload": (
            lambda: assemble(cx)[:-1],
            "TruncatedError",
            "truncated payload",
            "rule 17: the file cut inside the CRC-32 of the stream",
        ),
        "ctx_trailing_bytes": (
            lambda: assemble(cx) + b"\0",
            "CorruptError",
            "1 trailing bytes",
            "rule 18",
        ),
        "ctx_crc_mismatch": (
            c(with_crc(stream)[:-1] + bytes([with_crc(stream)[-1] ^ 1])),
            "ChecksumError",
            "CRC-32 mismatch",
            "rule 20: the stream's CRC-32 has a bit flipped",
        ),
        "ctx_stream_damaged": (
            c(_set_byte(stream, 5, stream[5] ^ 0x10) + with_crc(stream)[-4:]),
            "ChecksumError",
            "CRC-32 mismatch",
            "rule 20: a stream byte flipped, the CRC-32 left as it was",
        ),
        "ctx_stream_cut": (
            c(with_crc(stream[:-1])),
            "CorruptError",
            "context stream",
            "context.md 5: last byte of the stream removed, CRC-32 recomputed",
        ),
        "ctx_stream_cut_zero_byte": (
            c(with_crc(zero_tail[1][:-1]), zero_tail[0]),
            "CorruptError",
            "context stream",
            "context.md 5: a stream ending in 00 loses it; bytes past the end read as 0,"
            " so every pixel decodes as before, but the decoder consumed a byte past the end",
        ),
        "ctx_stream_extra_byte": (
            c(with_crc(stream + b"\0")),
            "CorruptError",
            "context stream",
            "context.md 5: a 00 byte appended, CRC-32 recomputed: one byte is never consumed",
        ),
        "ctx_literal_rank_ge_k": (
            forced(small, ("rank", 3)),
            "CorruptError",
            "context stream",
            f"context.md 4.3 step 5: K=4, the escape at {escaping} codes rank 3 among the"
            " colours left after exclusion: at least 4 once the candidates are put back",
        ),
        "ctx_literal_exponent_gt_emax": (
            forced(cx, ("exponent", 5)),
            "CorruptError",
            "context stream",
            "context.md 4.3 step 2: K=16 has emax 4, an escape codes exponent 5",
        ),
        "ctx_k1_escape": (
            c(with_crc(context_stream(one.labels, one.palette, forced={(1, 0): ("rank", 0)})), one),
            "CorruptError",
            "context stream",
            "context.md 4.3 step 5: K=1, pixel (1, 0) escapes; its only colour is a candidate",
        ),
        "ctx_literal16_ge_k": (
            forced(wide, ("index", 257)),
            "CorruptError",
            "context stream",
            "context.md 4.4 step 3: K=257, an escape codes index 257",
        ),
    }


def _first_escape(fields: Fields) -> tuple[int, int]:
    """The first pixel (x, y), in raster order, that is none of its candidates."""
    ref = _reference()
    rows = fields.labels.tolist()
    for y, row in enumerate(rows):
        for x, value in enumerate(row):
            if value not in ref.candidates(ref.neighbours(rows, x, y, len(row))):
                return x, y
    raise ValueError("no escape")


def _zero_tail_stripes() -> tuple[Fields, bytes]:
    """The first of a few seeded stripe images whose context stream ends in a 00 byte."""
    for seed in range(100, 200):
        fields = replace(_stripes(5, 3, 9, 7, seed), compression=2)
        stream = context_stream(fields.labels, fields.palette)
        if stream[-1] == 0:
            return fields, stream
    raise ValueError("no stream ends in 00")


def _tall_band() -> bytes:
    """A valid 1x300 rANS file whose band height field is raised to 300 (CRC-32 recomputed)."""
    labels = (np.arange(300)[:, None] // 7 % 2).astype(np.uint8)
    stream = rans_payload(labels, 2)[:-4]
    stream = stream[:1] + struct.pack("<I", 300) + stream[5:]
    tall = Fields(np.array([[0, 0, 0], [255, 255, 255]], np.uint8), labels, compression=1)
    return assemble(replace(tall, payload=with_crc(stream)))


def build() -> dict[str, bytes]:
    """Every conformance file (relative path: bytes), the manifest included."""
    files: dict[str, bytes] = {}
    manifest = []
    for name, (fields, description) in VALID.items():
        files[f"valid/{name}.ccz"] = assemble(fields)
        files[f"valid/{name}.png"] = png(fields.palette, fields.labels)
        entry = {
            "file": f"valid/{name}.ccz",
            "expect": "ok",
            "png": f"valid/{name}.png",
            "info": {key: v if isinstance(v, str) else v.hex() for key, v in fields.info},
            "description": description,
        }
        manifest.append(entry | ({"v1_0": V1_0[name]} if name in V1_0 else {}))
    for name, (make, error, message, description) in _invalid().items():
        files[f"invalid/{name}.ccz"] = make()
        entry = {"file": f"invalid/{name}.ccz", "expect": error, "message": message}
        manifest.append(entry | ({"description": description} if description else {}))
    text = json.dumps({"format": "ccz 1.2", "files": manifest}, indent=1) + "\n"
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
