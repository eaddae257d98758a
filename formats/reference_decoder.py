"""A reference .ccz decoder in plain Python, written from formats/ccz.md and its stream documents.

    python formats/reference_decoder.py FILE [--max-pixels N]

It applies ccz.md section 7's validation rules in their order and decodes
payload codings 0 (zstd, through the `zstandard` package: zstd itself is
not ours to specify), 1 (rANS, rans.md) and 2 (the context coder,
context.md). It shares no code with ccodec: it exists so that the tests can
check ccodec's compiled decoder against the documents, file by file and
error by error. Errors carry the names of `ccodec.errors`' classes (same
hierarchy: ChecksumError is a CorruptError). Speed is not a goal.
"""

from __future__ import annotations

import argparse
import struct
import sys
import zlib
from dataclasses import dataclass, field

SIGNATURE = b"\x89CCZ\r\n\x1a\n"
DEFAULT_MAX_PIXELS = 89_478_485
METADATA_FLAG = 0x0002
MAX_RANS_WIDTH = 16_384
CODINGS = {0: "zstd", 1: "rans", 2: "context"}
MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


class FormatError(Exception):
    """A .ccz file that must be rejected (ccodec.errors.FormatError)."""


class NotCczError(FormatError):
    pass


class UnsupportedError(FormatError):
    pass


class TruncatedError(FormatError):
    pass


class CorruptError(FormatError):
    pass


class ChecksumError(CorruptError):
    pass


class LimitError(FormatError):
    pass


@dataclass
class Decoded:
    header: dict  # the fixed header's fields by name
    palette: list[tuple[int, ...]]  # K entries of C values
    labels: list[list[int]]  # H rows of W indices
    info: dict = field(default_factory=dict)  # metadata: "icc_profile" (bytes) and text

    @property
    def mode(self) -> str:
        return MODES[self.header["channels"]]


# ccz.md section 7, in its order.


def decode(data: bytes, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Decoded:
    """Decode a .ccz file, or raise the error of the first validation rule it breaks."""
    data = bytes(data)
    _check_signature(data)  # rule 1
    if len(data) < 12:  # rule 2
        raise TruncatedError(f"truncated header: {len(data)} bytes")
    major, minor, header_length = struct.unpack_from("<BBH", data, 8)
    if major != 1:  # rule 3
        raise UnsupportedError(f"unsupported .ccz version {major}.{minor}")
    if header_length < 40:  # rule 4
        raise CorruptError(f"header length {header_length} < 40")
    if len(data) < 40:  # rule 5
        raise TruncatedError(f"truncated header: {len(data)} of 40 bytes")
    names = ("width", "height", "k", "channels", "bits", "coding", "filter")
    values = struct.unpack_from("<IIIBBBBHHQ", data, 12)
    header = dict(zip(names, values[:7], strict=True), major=major, minor=minor)
    header |= {"header_length": header_length, "required_flags": values[7]}
    header |= {"optional_flags": values[8], "payload_length": values[9]}
    width, height, k, channels, bits, coding, filter_ = values[:7]
    if not (1 <= width < 1 << 31 and 1 <= height < 1 << 31):  # rule 6
        raise CorruptError(f"invalid dimensions {width}x{height}")
    if channels not in MODES:  # rule 7
        raise CorruptError(f"invalid channel count {channels}")
    if bits not in (1, 2, 4, 8, 16):  # rule 8
        raise CorruptError(f"invalid bits per index {bits}")
    if k == 0 or k > 1 << bits:  # rule 9
        raise CorruptError(f"K={k} does not fit in {bits} bits")
    if coding not in CODINGS:  # rule 10
        raise UnsupportedError(f"unknown payload coding {coding}")
    if coding == 1 and width > MAX_RANS_WIDTH:
        raise UnsupportedError(f"rANS coding of an image {width} pixels wide")
    if filter_ != 0:  # rule 11
        raise UnsupportedError(f"unknown filter method {filter_}")
    if header["required_flags"]:  # rule 12
        raise UnsupportedError(f"unknown required flags {header['required_flags']:#06x}")
    if max_pixels is not None and width * height > max_pixels:  # rule 13
        raise LimitError(f"{width}x{height} pixels, above the limit of {max_pixels}")
    payload_length = header["payload_length"]
    low, high = _payload_bounds(coding, width, height, bits)
    if not low <= payload_length <= high:  # rule 14
        raise CorruptError(f"payload length {payload_length} is impossible")
    crc_at = header_length + k * channels
    if len(data) < crc_at + 4:  # rule 15
        raise TruncatedError("truncated header, palette or CRC-32")
    (stored_crc,) = struct.unpack_from("<I", data, crc_at)
    if zlib.crc32(data[:crc_at]) != stored_crc:  # rule 16
        raise ChecksumError("CRC-32 mismatch")
    payload = data[crc_at + 4 :]
    if len(payload) < payload_length:  # rule 17
        raise TruncatedError("truncated payload")
    if len(payload) > payload_length:  # rule 18
        raise CorruptError(f"{len(payload) - payload_length} trailing bytes")
    info = {}
    if header["optional_flags"] & METADATA_FLAG:  # rule 19
        info = _metadata(data[40:header_length])
    raw_palette = data[header_length:crc_at]
    palette = [tuple(raw_palette[i : i + channels]) for i in range(0, len(raw_palette), channels)]
    if coding == 0:  # rules 20-21
        labels = _zstd_labels(payload, width, height, bits)
    else:
        stream = _checked_stream(payload)
        if coding == 1:
            labels = decode_rans(stream, width, height, k)
        else:
            labels = decode_context(stream, width, height, k, palette)
    for y, row in enumerate(labels):  # rule 22
        for x, index in enumerate(row):
            if index >= k:
                raise CorruptError(f"index {index} >= K={k} at row {y}, column {x}")
    return Decoded(header, palette, labels, info)


def _check_signature(data: bytes) -> None:
    if data[:8] == SIGNATURE:
        return
    if not data:
        raise NotCczError("empty")
    if len(data) < 8 and SIGNATURE.startswith(data):
        raise TruncatedError(f"truncated signature: {len(data)} of 8 bytes")
    if data[:4] == SIGNATURE[:4]:
        raise CorruptError("damaged .ccz signature")
    raise NotCczError("not a .ccz file")


def _payload_bounds(coding: int, width: int, height: int, bits: int) -> tuple[int, int]:
    if coding == 0:
        n = (width * bits + 7) // 8 * height
        return 14, n + (n >> 8) + ((131072 - n) >> 11 if n < 131072 else 0) + 32
    if coding == 1:
        return 5, 12 * width * height + 8 * height + (1 << 20)
    return 8, 32 * width * height + 12


def _metadata(extension: bytes) -> dict:
    """Rule 19: the chunks of section 4, which fill the extension exactly."""
    info: dict = {}
    at = 0
    while at < len(extension):
        if len(extension) - at < 8:
            raise CorruptError(f"metadata chunk at byte {40 + at} is cut by the end of the header")
        kind, size = struct.unpack_from("<4sI", extension, at)
        at += 8
        if size > len(extension) - at:
            raise CorruptError(f"chunk claims {size} bytes, {len(extension) - at} are left")
        body = extension[at : at + size]
        at += size
        if kind == b"ICCP":
            if "icc_profile" in info:
                raise CorruptError("second ICC profile chunk")
            if not body:
                raise CorruptError("empty ICC profile")
            info["icc_profile"] = body
        elif kind == b"TEXT":
            if b"\0" not in body:
                raise CorruptError("text chunk has no NUL after its key")
            key, value = body.split(b"\0", 1)
            try:
                key_text, value_text = key.decode("utf-8"), value.decode("utf-8")
            except UnicodeDecodeError:
                raise CorruptError("text chunk is not UTF-8") from None
            if key_text in ("", "icc_profile"):
                raise CorruptError(f"reserved key {key_text!r}")
            if key_text in info:
                raise CorruptError(f"text key {key_text!r} appears twice")
            info[key_text] = value_text
    return info


# Coding 0: one zstd frame (ccz.md 6.1).


def _zstd_labels(payload: bytes, width: int, height: int, bits: int) -> list[list[int]]:
    stride = (width * bits + 7) // 8
    raw_size = stride * height
    _check_frame_header(payload, raw_size)  # rule 20
    import zstandard  # zstd is RFC 8878's, not this format's: the library decompresses it

    decompressor = zstandard.ZstdDecompressor().decompressobj()
    try:
        raw = decompressor.decompress(payload)
    except zstandard.ZstdError as exc:  # rule 21
        if "checksum" in str(exc).lower():
            raise ChecksumError("payload checksum mismatch") from None
        raise CorruptError(f"corrupt payload: {exc}") from None
    if not decompressor.eof:
        raise CorruptError("corrupt payload: the frame is cut")
    if decompressor.unused_data:
        raise CorruptError("unused data after the zstd frame")
    if len(raw) != raw_size:
        raise CorruptError(f"frame gave {len(raw)} bytes, the header implies {raw_size}")
    if bits == 16:
        return [
            [raw[2 * i] | raw[2 * i + 1] << 8 for i in range(y * width, (y + 1) * width)]
            for y in range(height)
        ]
    mask = (1 << bits) - 1
    return [
        [raw[y * stride + x * bits // 8] >> (8 - bits - x * bits % 8) & mask for x in range(width)]
        for y in range(height)
    ]


def _check_frame_header(payload: bytes, raw_size: int) -> None:
    """Rule 20 from RFC 8878's frame header, before anything is decompressed."""
    if payload[:4] != b"\x28\xb5\x2f\xfd":
        raise CorruptError("the payload is not a zstd frame")
    if len(payload) < 5:
        raise CorruptError("cannot get frame parameters: the frame header is cut")
    descriptor = payload[4]
    size_flag, single_segment = descriptor >> 6, descriptor >> 5 & 1
    checksum, dict_flag = descriptor >> 2 & 1, descriptor & 3
    if descriptor & 0b1000:
        raise CorruptError("cannot get frame parameters: reserved bit set")
    at = 5 + (0 if single_segment else 1)  # the window descriptor
    dict_size = (0, 1, 2, 4)[dict_flag]
    size_size = (1 if single_segment else 0, 2, 4, 8)[size_flag]
    if len(payload) < at + dict_size + size_size:
        raise CorruptError("cannot get frame parameters: the frame header is cut")
    dictionary = int.from_bytes(payload[at : at + dict_size], "little")
    at += dict_size
    if size_size == 0:
        raise CorruptError("the frame does not declare its content size")
    declared = int.from_bytes(payload[at : at + size_size], "little") + (
        256 if size_size == 2 else 0
    )
    if declared != raw_size:
        raise CorruptError(f"frame declares {declared} bytes, the header implies {raw_size}")
    if dictionary:
        raise CorruptError("the frame needs a zstd dictionary")
    if not checksum:
        raise CorruptError("the frame has no checksum")


def _checked_stream(payload: bytes) -> bytes:
    """Codings 1 and 2, rule 20: the stream, after its CRC-32 is checked."""
    stream, (stored,) = payload[:-4], struct.unpack("<I", payload[-4:])
    if zlib.crc32(stream) != stored:
        raise ChecksumError("payload CRC-32 mismatch")
    return stream


# Coding 2: the adaptive context coder (context.md).

PATTERNS = 18432
LITERAL_BASE = 6 * PATTERNS  # 110592: the first context after the flags


class RangeDecoder:
    """context.md sections 2 and 3: the binary range decoder and its adaptive contexts."""

    def __init__(self, stream: bytes, contexts: int) -> None:
        self.stream = stream
        self.pos = 0
        self.range = 0xFFFFFFFF
        self.code = 0
        for _ in range(4):
            self.code = self.code << 8 | self._next_byte()
        self.p = [32768] * contexts
        self.count = [0] * contexts

    def _next_byte(self) -> int:
        byte = self.stream[self.pos] if self.pos < len(self.stream) else 0
        self.pos += 1
        return byte

    def bit(self, context: int) -> int:
        p = self.p[context]
        bound = (self.range >> 16) * p
        if self.code < bound:
            bit, self.range = 0, bound
        else:
            bit = 1
            self.code -= bound
            self.range -= bound
        while self.range < 1 << 24:
            self.range <<= 8
            self.code = (self.code << 8 | self._next_byte()) & 0xFFFFFFFF
        n = self.count[context]
        rate = 131072 // (2 * n + 3)
        if bit == 0:
            self.p[context] = p + ((65504 - p) * rate >> 16)
        else:
            self.p[context] = p - ((p - 32) * rate >> 16)
        if n < 60:
            self.count[context] = n + 1
        return bit

    def tree(self, base: int, depth: int) -> int:
        """`depth` bits, most significant first, as a binary tree of contexts base + node."""
        node = 1
        for _ in range(depth):
            node = 2 * node + self.bit(base + node)
        return node


def neighbours(labels: list[list[int]], x: int, y: int, width: int) -> tuple[int, ...]:
    """context.md 4.1: w, n, nw, ne, ww, nn, nne, nww of pixel (x, y)."""
    row, up = labels[y], labels[y - 1] if y > 0 else None
    w = row[x - 1] if x > 0 else up[x] if up else 0
    n = up[x] if up else w
    nw = up[x - 1] if up and x > 0 else n
    ne = up[x + 1] if up and x + 1 < width else n
    ww = row[x - 2] if x > 1 else w
    nn = labels[y - 2][x] if y > 1 else n
    nne = labels[y - 2][x + 1] if y > 1 and x + 1 < width else ne
    nww = up[x - 2] if up and x > 1 else nw
    return w, n, nw, ne, ww, nn, nne, nww


def candidates(around: tuple[int, ...]) -> list[int]:
    """w, n, nw, ne, ww, nn without repeats, each where it first appears."""
    return list(dict.fromkeys(around[:6]))


class DistanceOrder:
    """context.md 4.3: each colour's palette sorted by squared distance, ties by index."""

    def __init__(self, palette: list[tuple[int, ...]]) -> None:
        self.palette = palette
        self._orders: dict[int, tuple[list[int], dict[int, int]]] = {}

    def __call__(self, c: int) -> tuple[list[int], dict[int, int]]:
        """(order_c, rank_c); computed when first needed (they depend on the palette alone)."""
        if c not in self._orders:
            origin = self.palette[c]

            def distance(v: int) -> int:
                return sum((a - b) ** 2 for a, b in zip(self.palette[v], origin, strict=True))

            order = sorted(range(len(self.palette)), key=lambda v: (distance(v), v))
            self._orders[c] = order, {v: r for r, v in enumerate(order)}
        return self._orders[c]


def pattern(around: tuple[int, ...], ow: int, on: int, near: int) -> int:
    """context.md 4.2: the neighbours' equalities, outcomes and `near`, 0 .. 18431."""
    w, n, nw, ne, ww, nn, nne, nww = around
    eq = (
        (w == n)
        | (w == nw) << 1
        | (w == ne) << 2
        | (n == nw) << 3
        | (n == ne) << 4
        | (nw == ne) << 5
        | (w == ww) << 6
        | (n == nn) << 7
    )
    diag = (ne == nne) | (nw == nww) << 1
    return eq + 256 * (3 * ow + on) + 2304 * diag + 9216 * near


def near_bit(order: DistanceOrder, cand: list[int], k: int) -> int:
    """context.md 4.2's `near`: cand[1]'s colour is among the 4 nearest to w's (K <= 256)."""
    if k > 256 or len(cand) < 2:
        return 0
    _, rank_w = order(cand[0])
    return int(rank_w[cand[1]] <= 3)


def decode_context(
    stream: bytes, width: int, height: int, k: int, palette: list[tuple[int, ...]]
) -> list[list[int]]:
    """The `height` rows of `width` indices a context stream codes (context.md)."""
    coder = RangeDecoder(stream, LITERAL_BASE + (2 * 65536 if k > 256 else 16 * 9 + 256 * 9))
    order = DistanceOrder(palette)
    emax = (k - 1).bit_length()
    depth = emax.bit_length()
    high_bits = ((k - 1) >> 8).bit_length()
    labels: list[list[int]] = []
    outcomes: list[list[int]] = []
    for y in range(height):
        row: list[int] = []
        row_outcomes: list[int] = []
        labels.append(row)
        outcomes.append(row_outcomes)
        for x in range(width):
            row.append(0)  # a placeholder, so that labels[y] can be indexed; set below
            around = neighbours(labels, x, y, width)
            cand = candidates(around)
            ow = row_outcomes[x - 1] if x > 0 else 0
            on = outcomes[y - 1][x] if y > 0 else 0
            context = pattern(around, ow, on, near_bit(order, cand, k))
            for i, value in enumerate(cand):
                if coder.bit(i * PATTERNS + context) == 0:
                    row[x], outcome = value, int(i > 0)
                    break
            else:
                outcome = 2
                if k <= 256:
                    row[x] = _small_literal(coder, order, around[0], cand, k, emax, depth)
                else:
                    row[x] = _large_literal(coder, around[0], k, high_bits)
            row_outcomes.append(outcome)
    if coder.pos != len(stream):  # section 5
        raise CorruptError(
            f"context stream: {coder.pos} bytes consumed, the stream has {len(stream)}"
        )
    return labels


def _small_literal(
    coder: RangeDecoder,
    order: DistanceOrder,
    ref: int,
    cand: list[int],
    k: int,
    emax: int,
    depth: int,
) -> int:
    """context.md 4.3: a rank in the reference colour's distance order, candidates left out."""
    order_ref, rank_ref = order(ref)
    cls = rank_ref[cand[1]].bit_length() if len(cand) >= 2 else 0
    e = coder.tree(LITERAL_BASE + 16 * cls, depth) - (1 << depth)
    if e > emax:
        raise CorruptError(f"context stream: literal exponent {e} > {emax}")
    r = coder.tree(LITERAL_BASE + 144 + 256 * cls, e - 1) if e else 0
    for t in sorted(rank_ref[c] for c in cand):
        if t <= r:
            r += 1
    if r >= k:
        raise CorruptError(f"context stream: literal rank {r} >= K={k}")
    return order_ref[r]


def _large_literal(coder: RangeDecoder, w: int, k: int, high_bits: int) -> int:
    """context.md 4.4: the index as a high and a low byte."""
    hi = coder.tree(LITERAL_BASE + 256 * (w >> 8), high_bits) - (1 << high_bits)
    lo = coder.tree(LITERAL_BASE + 65536 + 256 * hi, 8) - 256
    value = 256 * hi + lo
    if value >= k:
        raise CorruptError(f"context stream: literal {value} >= K={k}")
    return value


# Coding 1: context-modelled rANS (rans.md).


def decode_rans(stream: bytes, width: int, height: int, k: int) -> list[list[int]]:
    """Not written yet: rans.md is checked by ccodec.rans's own tests, not by this module."""
    raise NotImplementedError("coding 1 (rANS) is not implemented in the reference decoder")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="a .ccz file")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="0: no limit")
    args = parser.parse_args(argv)
    with open(args.file, "rb") as source:
        data = source.read()
    try:
        decoded = decode(data, max_pixels=args.max_pixels or None)
    except (FormatError, NotImplementedError) as exc:
        print(f"{type(exc).__name__}: {exc}")
        return 1
    h = decoded.header
    used = len({index for row in decoded.labels for index in row})
    print(
        f"ok: {h['width']}x{h['height']} {decoded.mode}, K={h['k']} ({used} used), "
        f"{h['bits']} bits, coding {h['coding']} ({CODINGS[h['coding']]}), "
        f"version {h['major']}.{h['minor']}, crc32(labels)="
        f"{zlib.crc32(bytes(str(decoded.labels), 'ascii')):08x}"
    )
    for key, value in decoded.info.items():
        shown = f"{len(value)} bytes" if isinstance(value, bytes) else repr(value)
        print(f"  {key}: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
