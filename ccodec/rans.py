"""Context-modelled rANS coding of a label map: the .ccz payload coding 1.

`formats/rans.md` is the byte-level specification; this module follows it.

Each index is predicted from its decoded neighbours: a first symbol says
which neighbour it equals (left, up, up-right, up-left: the first that
matches) or that it equals none, in a context made of the equality pattern
of the neighbours; an escaped index is then coded as a literal in the
context of its left neighbour (for K > 256: a high byte, then a low byte).
The model is static: the encoder counts every context's symbols, stores the
counts log-quantized and zstd-compressed, and both sides derive the same
rANS frequencies from them.

Each row is its own rANS stream, and row r runs two pixels behind row r-1,
so that its up-right neighbour is known: one NumPy step decodes one pixel of
every active row (a wavefront of W + 2H - 2 steps), and all rows share one
word stream, read in the order the steps consume it.
"""

from __future__ import annotations

import struct

import numpy as np
import zstandard

from .errors import CorruptError, LimitError, OptionError, TruncatedError

__all__ = ["MAX_K", "decode_labels", "encode_labels"]

#: The largest palette the coding handles (16-bit indices).
MAX_K = 1 << 16

PROB_BITS = 12
PROB_SCALE = 1 << PROB_BITS
RANS_L = 1 << 16  # states live in [RANS_L, 2**32); words are 16 bits
_SLOT = PROB_SCALE - 1

# Stage 1: which neighbour the index equals, first match in this order.
NEIGHBOURS = ("left", "up", "up-right", "up-left")
ESCAPE = 4
STAGE1_SYMBOLS = 5
STAGE1_CONTEXTS = 256
# Literal contexts for K > 256 are the left neighbour's top 8 bits.
_LITERAL_CONTEXT_BITS = 8

MODEL_VERSION = 0
_PREFIX = struct.Struct("<BI")  # model version, table frame length
_MAX_WEIGHT_CODE = 255
_ZSTD_LEVEL = 19
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def encode_labels(labels: np.ndarray, k: int) -> bytes:
    """Code an (H, W) label map with indices below `k` as a payload.

    >>> labels = np.array([[0, 1, 1], [0, 1, 2]], np.uint8)
    >>> payload = encode_labels(labels, 3)
    >>> decode_labels(payload, 3, 2, 3).tolist()
    [[0, 1, 1], [0, 1, 2]]
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
        raise OptionError(f"k={k!r} should be an integer in 1..{MAX_K}.")
    labels = np.asarray(labels)
    if labels.ndim != 2 or 0 in labels.shape:
        raise OptionError(f"labels must be a non-empty (H, W) array, not shape {labels.shape}.")
    if labels.dtype.kind not in "ui":
        raise OptionError(f"labels must be integers, not {labels.dtype}.")
    if int(labels.min()) < 0 or int(labels.max()) >= k:
        raise OptionError(f"labels must lie in 0..{k - 1}.")
    return _encode(labels.astype(np.int64), int(k))


def decode_labels(payload: bytes | memoryview, width: int, height: int, k: int) -> np.ndarray:
    """Decode a payload into the (height, width) label map it codes.

    The result is uint8 when `k` <= 256, else uint16. `payload` is untrusted:
    every size is checked before anything is allocated from it, and bad data
    raises a `CczError` subclass.

    >>> decode_labels(encode_labels(np.zeros((2, 2), np.uint8), 1), 2, 2, 1).tolist()
    [[0, 0], [0, 0]]
    """
    for name, value, top in (("width", width, None), ("height", height, None), ("k", k, MAX_K)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise OptionError(f"{name}={value!r} should be a positive integer.")
        if top is not None and value > top:
            raise OptionError(f"{name}={value} should be at most {top}.")
    try:
        view = memoryview(payload).cast("B")
    except (TypeError, ValueError) as exc:
        raise OptionError(f"payload must be bytes-like: {exc}") from None
    width, height, k = int(width), int(height), int(k)
    model = _Model(k)
    tables, states, words = _split(view, model, height)
    try:
        labels = _decode(model, tables, states, words, width, height)
    except MemoryError:
        raise LimitError(f"not enough memory to decode a {width}x{height} label map") from None
    return labels.astype(np.uint8 if k <= 256 else np.uint16)


class _Model:
    """The shapes of the frequency tables for a given K."""

    def __init__(self, k: int) -> None:
        self.k = k
        if k <= 256:
            self.shift = 0
            # (contexts, symbols) of each literal stage
            self.literal_shapes = [(k, k)]
        else:
            self.shift = max(0, (k - 1).bit_length() - _LITERAL_CONTEXT_BITS)
            hi_count = (k + 255) >> 8
            self.literal_shapes = [(((k - 1) >> self.shift) + 1, hi_count), (hi_count, 256)]
        self.shapes = [(STAGE1_CONTEXTS, STAGE1_SYMBOLS), *self.literal_shapes]

    @property
    def table_size(self) -> int:
        return sum(c * s for c, s in self.shapes)

    def split_codes(self, codes: np.ndarray) -> list[np.ndarray]:
        """The flat weight codes cut into one (contexts, symbols) array per stage."""
        out, offset = [], 0
        for c, s in self.shapes:
            out.append(codes[offset : offset + c * s].reshape(c, s))
            offset += c * s
        return out


# ---------------------------------------------------------------- weights


def _weights(codes: np.ndarray) -> np.ndarray:
    """Weight codes (0-255) to weights: 0-15 as is, then 16 steps per octave."""
    codes = codes.astype(np.int64)
    exponent = codes >> 4
    mantissa = codes & 15
    big = (16 + mantissa) << np.maximum(exponent - 1, 0)
    return np.where(exponent == 0, codes, big)


_CODE_WEIGHTS = _weights(np.arange(256))


def _weight_codes(counts: np.ndarray) -> np.ndarray:
    """Counts to the nearest weight codes, each row scaled to fit the largest weight."""
    counts = counts.astype(np.int64)
    top = counts.max(axis=1, keepdims=True)
    limit = int(_CODE_WEIGHTS[-1])
    scaled = np.where(top > limit, counts * limit // np.maximum(top, 1), counts)
    scaled = np.where(counts > 0, np.maximum(scaled, 1), 0)
    # nearest code in linear terms: the first code whose weight reaches the
    # value, or the one below it if that is closer
    upper = np.searchsorted(_CODE_WEIGHTS, scaled)
    upper = np.minimum(upper, 255)
    lower = np.maximum(upper - 1, 0)
    closer = (scaled - _CODE_WEIGHTS[lower]) < (_CODE_WEIGHTS[upper] - scaled)
    codes = np.where(closer & (lower > 0), lower, upper)
    return np.where(counts > 0, codes, 0).astype(np.uint8)


def _frequencies(codes: np.ndarray, default: int) -> np.ndarray:
    """rANS frequencies (rows summing to PROB_SCALE) from a (contexts, symbols) code table.

    Every symbol with a non-zero weight gets at least 1; the rounding
    remainder goes to the first symbol of largest weight. A row without
    weights gives all of PROB_SCALE to `default`.
    """
    weights = _CODE_WEIGHTS[codes]
    present = weights > 0
    n = present.sum(axis=1, keepdims=True)
    total = weights.sum(axis=1, keepdims=True)
    freq = np.where(present, 1 + weights * (PROB_SCALE - n) // np.maximum(total, 1), 0)
    rest = PROB_SCALE - freq.sum(axis=1)
    rows = np.arange(len(codes))
    freq[rows, np.argmax(weights, axis=1)] += rest
    empty = n[:, 0] == 0
    freq[empty] = 0
    freq[empty, default] = PROB_SCALE
    return freq


def _identity_row(freq: np.ndarray) -> np.ndarray:
    """`freq` with one more context that codes nothing (symbol 0 at full scale)."""
    row = np.zeros((1, freq.shape[1]), freq.dtype)
    row[0, 0] = PROB_SCALE
    return np.concatenate([freq, row])


def _stage_frequencies(model: _Model, codes: np.ndarray) -> list[np.ndarray]:
    tables = model.split_codes(codes)
    freqs = [_frequencies(tables[0], ESCAPE)]
    freqs += [_identity_row(_frequencies(t, 0)) for t in tables[1:]]
    return freqs


# ---------------------------------------------------------------- contexts


def _pattern(left, up, up_left, up_right, left_left, up_up) -> np.ndarray:
    """Stage-1 context: eight neighbour equalities as bits."""
    bits = (
        (left == up),
        (left == up_left),
        (up == up_left),
        (up == up_right),
        (left == up_right),
        (up_left == up_right),
        (left_left == left),
        (up_up == up),
    )
    out = np.zeros(bits[0].shape, np.int64)
    for i, bit in enumerate(bits):
        out |= bit.astype(np.int64) << i
    return out


# ---------------------------------------------------------------- layout
#
# Labels live in a zero-padded flat array with 2 rows above, 2 columns to the
# left and 1 to the right; pixel (r, c) is decoded at step c + 2r, so at each
# step the active rows form a slice with stride W + 1.


class _Layout:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pitch = width + 3
        self.size = (height + 2) * self.pitch
        self.steps = width + 2 * (height - 1)
        self.stride = self.pitch - 2

    def rows(self, t: int) -> tuple[int, int]:
        """The first and one-past-last row active at step `t`."""
        return max(0, (t - self.width + 2) // 2), min(self.height, t // 2 + 1)

    def start(self, t: int, r0: int) -> int:
        return 2 * self.pitch + 2 + t + r0 * self.stride


# ---------------------------------------------------------------- encoder


def _encode(labels: np.ndarray, k: int) -> bytes:
    height, width = labels.shape
    model = _Model(k)
    lay = _Layout(width, height)
    pad = np.zeros((height + 2, lay.pitch), np.int64)
    pad[2:, 2 : width + 2] = labels

    def at(dr: int, dc: int) -> np.ndarray:
        return pad[2 + dr : 2 + dr + height, 2 + dc : 2 + dc + width]

    left, up, up_left, up_right = at(0, -1), at(-1, 0), at(-1, -1), at(-1, 1)
    ctx1 = _pattern(left, up, up_left, up_right, at(0, -2), at(-2, 0))
    sym1 = np.full(labels.shape, ESCAPE, np.int64)
    for i, nb in reversed(list(enumerate((left, up, up_right, up_left)))):
        sym1[labels == nb] = i
    escaped = sym1 == ESCAPE
    if k <= 256:
        literal_ctx = [left]
        literal_sym = [labels]
    else:
        hi = labels >> 8
        literal_ctx = [left >> model.shift, hi]
        literal_sym = [hi, labels & 255]

    counts = [np.bincount(ctx1.ravel() * STAGE1_SYMBOLS + sym1.ravel(), minlength=256 * 5)]
    for (contexts, symbols), c, s in zip(
        model.literal_shapes, literal_ctx, literal_sym, strict=True
    ):
        counts.append(np.bincount(c[escaped] * symbols + s[escaped], minlength=contexts * symbols))
    codes = np.concatenate(
        [
            _weight_codes(c.reshape(shape)).ravel()
            for c, shape in zip(counts, model.shapes, strict=True)
        ]
    )
    freqs = _stage_frequencies(model, codes)

    # Per pixel and stage: frequency and cumulative start, in the padded layout.
    stage_ctx = [ctx1] + [
        np.where(escaped, c, len(f) - 1) for c, f in zip(literal_ctx, freqs[1:], strict=True)
    ]
    stage_sym = [sym1] + [np.where(escaped, s, 0) for s in literal_sym]
    per_pixel = []
    for f, c, s in zip(freqs, stage_ctx, stage_sym, strict=True):
        starts = np.cumsum(f, axis=1) - f
        fp = np.zeros((height + 2, lay.pitch), np.int64)
        bp = np.zeros((height + 2, lay.pitch), np.int64)
        fp[2:, 2 : width + 2] = f[c, s]
        bp[2:, 2 : width + 2] = starts[c, s]
        per_pixel.append((fp.ravel(), bp.ravel()))

    x = np.full(height, RANS_L, np.int64)
    chunks: list[np.ndarray] = []
    for t in range(lay.steps - 1, -1, -1):
        r0, r1 = lay.rows(t)
        start = lay.start(t, r0)
        sl = slice(start, start + (r1 - r0 - 1) * lay.stride + 1, lay.stride)
        xs = x[r0:r1]
        for fp, bp in reversed(per_pixel):
            f = fp[sl]
            big = np.flatnonzero(xs >= f << (32 - PROB_BITS))
            if big.size:
                chunks.append(xs[big] & 0xFFFF)
                xs[big] >>= 16
            q, rem = np.divmod(xs, f)
            xs[:] = (q << PROB_BITS) + rem + bp[sl]
    chunks.reverse()
    words = np.concatenate(chunks).astype("<u2") if chunks else np.zeros(0, "<u2")
    table = zstandard.ZstdCompressor(
        level=_ZSTD_LEVEL, write_checksum=False, write_content_size=True, write_dict_id=False
    ).compress(codes.tobytes())
    return b"".join(
        [
            _PREFIX.pack(MODEL_VERSION, len(table)),
            table,
            x.astype("<u4").tobytes(),
            words.tobytes(),
        ]
    )


# ---------------------------------------------------------------- decoder


def _split(view: memoryview, model: _Model, height: int):
    """Validate the payload's parts and return (codes, states, words)."""
    if len(view) < _PREFIX.size:
        raise TruncatedError(f"truncated rANS payload: {len(view)} bytes, need {_PREFIX.size}")
    version, table_length = _PREFIX.unpack_from(view)
    if version != MODEL_VERSION:
        raise CorruptError(f"unknown rANS model version {version}")
    table_end = _PREFIX.size + table_length
    states_end = table_end + 4 * height
    if len(view) < states_end:
        raise TruncatedError(
            f"truncated rANS payload: {len(view)} bytes, the tables and states need {states_end}"
        )
    if (len(view) - states_end) % 2:
        raise CorruptError("rANS word stream has an odd number of bytes")
    codes = _read_table(view[_PREFIX.size : table_end], model)
    states = np.frombuffer(view[table_end:states_end], "<u4").astype(np.int64)
    bad = np.flatnonzero(states < RANS_L)
    if bad.size:
        raise CorruptError(f"rANS state of row {bad[0]} is below {RANS_L}")
    words = np.frombuffer(view[states_end:], "<u2").astype(np.int64)
    return codes, states, words


def _read_table(frame: memoryview, model: _Model) -> np.ndarray:
    expected = model.table_size
    if bytes(frame[:4]) != _ZSTD_MAGIC:
        raise CorruptError("rANS frequency table is not a zstd frame")
    try:
        params = zstandard.get_frame_parameters(frame)
    except zstandard.ZstdError as exc:
        raise CorruptError(f"corrupt rANS frequency table: {exc}") from exc
    if params.content_size != expected:
        raise CorruptError(
            f"rANS frequency table declares {params.content_size} bytes, K={model.k} needs "
            f"{expected}"
        )
    if params.dict_id != 0:
        raise CorruptError("rANS frequency table needs a zstd dictionary")
    try:
        raw = zstandard.ZstdDecompressor().decompress(
            frame, max_output_size=expected, allow_extra_data=False
        )
    except zstandard.ZstdError as exc:
        raise CorruptError(f"corrupt rANS frequency table: {exc}") from exc
    if len(raw) != expected:
        raise CorruptError(f"rANS frequency table holds {len(raw)} bytes, need {expected}")
    codes = np.frombuffer(raw, np.uint8)
    if model.k > 256:
        lo = model.split_codes(codes)[2]
        if lo[-1, model.k - ((len(lo) - 1) << 8) :].any():
            raise CorruptError(f"rANS frequency table gives weight to indices >= K={model.k}")
    return codes


def _decode_tables(freq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symbol, frequency and bias for every (context, slot): index ctx << PROB_BITS | slot."""
    flat = freq.ravel()
    symbols = np.tile(np.arange(freq.shape[1], dtype=np.int64), freq.shape[0])
    starts = (np.cumsum(freq, axis=1) - freq).ravel()
    sym = np.repeat(symbols, flat)
    f = np.repeat(flat, flat)
    bias = (np.arange(sym.size, dtype=np.int64) & _SLOT) - np.repeat(starts, flat)
    return sym, f, bias


def _decode(model: _Model, codes, states, words, width: int, height: int) -> np.ndarray:
    lay = _Layout(width, height)
    freqs = _stage_frequencies(model, codes)
    tables = [_decode_tables(f) for f in freqs]
    identity = [len(f) - 1 for f in freqs[1:]]
    out = np.zeros(lay.size, np.int64)
    x = states.copy()
    pos = 0
    nwords = words.size
    p, s = lay.pitch, lay.stride
    for t in range(lay.steps):
        r0, r1 = lay.rows(t)
        a = lay.start(t, r0)
        b = a + (r1 - r0 - 1) * s + 1
        left = out[a - 1 : b - 1 : s]
        up = out[a - p : b - p : s]
        up_left = out[a - p - 1 : b - p - 1 : s]
        up_right = out[a - p + 1 : b - p + 1 : s]
        ctx = _pattern(
            left, up, up_left, up_right, out[a - 2 : b - 2 : s], out[a - 2 * p : b - 2 * p : s]
        )
        xs = x[r0:r1]
        sym_t, f_t, b_t = tables[0]
        i = (ctx << PROB_BITS) | (xs & _SLOT)
        sym1 = sym_t[i]
        xs[:] = f_t[i] * (xs >> PROB_BITS) + b_t[i]
        pos = _renorm(xs, words, pos, nwords)
        escaped = sym1 == ESCAPE
        if model.k <= 256:
            ctxs = [np.where(escaped, left, identity[0])]
        else:
            ctxs = [np.where(escaped, left >> model.shift, identity[0])]
        literal = []
        for stage, (sym_t, f_t, b_t) in enumerate(tables[1:]):
            if stage == 1:
                ctxs.append(np.where(escaped, literal[0], identity[1]))
            i = (ctxs[stage] << PROB_BITS) | (xs & _SLOT)
            literal.append(sym_t[i])
            xs[:] = f_t[i] * (xs >> PROB_BITS) + b_t[i]
            pos = _renorm(xs, words, pos, nwords)
        value = literal[0] if model.k <= 256 else (literal[0] << 8) | literal[1]
        out[a:b:s] = np.choose(sym1, (left, up, up_right, up_left, value))
    if pos != nwords:
        raise CorruptError(f"rANS word stream has {nwords - pos} words left over")
    if (x != RANS_L).any():
        raise CorruptError("rANS streams do not end in their initial state: the data is damaged")
    return out.reshape(height + 2, lay.pitch)[2:, 2 : width + 2]


def _renorm(xs: np.ndarray, words: np.ndarray, pos: int, nwords: int) -> int:
    low = np.flatnonzero(xs < RANS_L)
    n = low.size
    if n:
        if pos + n > nwords:
            raise CorruptError("rANS word stream ends early: the data is damaged")
        xs[low] = (xs[low] << 16) | words[pos : pos + n]
    return pos + n
