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
from .model import MAX_COLORS, label_dtype
from .validate import check_int
from .zstdframe import decompress_exact

__all__ = ["decode_labels", "encode_labels"]


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
_PREFIX = struct.Struct("<BII")  # model version, band height, table frame length
_MAX_WEIGHT_CODE = 255
# The tables' zstd level: 19 makes them hardly smaller, at several times the time.
_ZSTD_LEVEL = 15


def encode_labels(labels: np.ndarray, k: int, *, budget: int | None = None) -> bytes | None:
    """Code an (H, W) label map with indices below `k` as a payload.

    With a `budget` (bytes), return None instead when even a lower estimate
    of the payload's size (ideal code lengths of the model's symbols, made
    before any is coded, never above the true size) exceeds it,
    so a caller comparing codings skips most of the work.

    >>> labels = np.array([[0, 1, 1], [0, 1, 2]], np.uint8)
    >>> payload = encode_labels(labels, 3)
    >>> decode_labels(payload, 3, 2, 3).tolist()
    [[0, 1, 1], [0, 1, 2]]
    """
    k = check_int("k", k, 1, MAX_COLORS)
    labels = np.asarray(labels)
    if labels.ndim != 2 or 0 in labels.shape:
        raise OptionError(f"labels must be a non-empty (H, W) array, not shape {labels.shape}.")
    if labels.dtype.kind not in "ui":
        raise OptionError(f"labels must be integers, not {labels.dtype}.")
    if int(labels.min()) < 0 or int(labels.max()) >= k:
        raise OptionError(f"labels must lie in 0..{k - 1}.")
    return _encode(labels, int(k), budget=budget)


def decode_labels(payload: bytes | memoryview, width: int, height: int, k: int) -> np.ndarray:
    """Decode a payload into the (height, width) label map it codes.

    The result is uint8 when `k` <= 256, else uint16. `payload` is untrusted:
    every size is checked before anything is allocated from it, and bad data
    raises a `CczError` subclass.

    >>> decode_labels(encode_labels(np.zeros((2, 2), np.uint8), 1), 2, 2, 1).tolist()
    [[0, 0], [0, 0]]
    """
    width, height = check_int("width", width, 1), check_int("height", height, 1)
    k = check_int("k", k, 1, MAX_COLORS)
    try:
        view = memoryview(payload).cast("B")
    except (TypeError, ValueError) as exc:
        raise OptionError(f"payload must be bytes-like: {exc}") from None
    width, height, k = int(width), int(height), int(k)
    model = _Model(k)
    band, codes, states, words = _split(view, model, width, height)
    try:
        labels = _decode(model, band, codes, states, words, width, height)
    except MemoryError:
        raise LimitError(f"not enough memory to decode a {width}x{height} label map") from None
    return labels.astype(label_dtype(k))


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


def _stage_frequencies(model: _Model, codes: np.ndarray) -> list[np.ndarray]:
    tables = model.split_codes(codes)
    freqs = [_frequencies(tables[0], ESCAPE)]
    freqs += [_frequencies(t, 0) for t in tables[1:]]
    return freqs


# ---------------------------------------------------------------- contexts
#
# Stage-1 context bits, in order: (a, b) means bit i is set when a == b.
# The first four "a" are the neighbours in stage-1 symbol order.
_PAIRS = (
    ("L", "U"),
    ("U", "UL"),
    ("UR", "U"),
    ("UL", "UR"),
    ("L", "UL"),
    ("L", "UR"),
    ("LL", "L"),
    ("UU", "U"),
)


def _neighbours(block: np.ndarray, above: int) -> dict[str, np.ndarray]:
    """The pixels of the (rows, W) `block` below its first `above` rows (at most 2,
    the rows above the band's part being coded), and each named neighbour of them,
    as flat views of one padded copy (outside: 0). Row-major with W + 3 entries a
    row, the last 3 of each row padding: flat slices compare several times faster
    than 2-D views."""
    rows, width = block.shape
    stride = width + 3
    pad = np.zeros((rows - above + 2, stride), block.dtype)
    pad[2 - above :, 2 : width + 2] = block
    flat = pad.ravel()
    start = 2 * stride + 2  # the first pixel
    end = len(flat) - 1  # after the last
    shifts = {"V": 0, "L": 1, "LL": 2, "U": stride, "UR": stride - 1, "UL": stride + 1}
    shifts["UU"] = 2 * stride
    return {name: flat[start - shift : end - shift] for name, shift in shifts.items()}


def _bits(near: dict[str, np.ndarray], pairs) -> np.ndarray:
    """Bit i set where the i-th pair of neighbour names is equal (at most 8 pairs)."""
    out = np.zeros(len(near["V"]), np.uint8)
    equal = np.empty(len(out), bool)
    for bit, (a, b) in enumerate(pairs):
        np.equal(near[a], near[b], out=equal)
        out |= equal.view(np.uint8) << np.uint8(bit)
    return out


# Stage-1 symbol of each pattern of (index == L, == U, == UR, == UL) bits: the first match.
_FIRST_MATCH = np.array(
    [next((i for i in range(ESCAPE) if m >> i & 1), ESCAPE) for m in range(16)], np.uint8
)


# ---------------------------------------------------------------- schedule
#
# The coded rows (the image's, then copies of the last row up to a multiple
# of the band height) form bands of `band` rows, each coded as an image of
# its own. Pixel (j, c) of every band is coded at step c + 2j, two steps
# behind the row above, so its up-right neighbour is known: at each step the
# same rows j0:j1 of every band are active, one pixel each.


def _active(t: int, width: int, band: int) -> tuple[int, int]:
    """Rows j0:j1 of each band code a pixel at step `t`."""
    return max(0, (t - width + 2) // 2), min(band, t // 2 + 1)


def _default_band(width: int, height: int) -> int:
    """Rows per band: about a quarter of the width (at least 64), equal bands."""
    target = max(_MIN_BAND, width // 4)
    bands = max(1, round(height / target))
    return -(-height // bands)


_MIN_BAND = 64


def max_band(width: int, height: int) -> int:
    """The tallest band a payload may declare: min(H, 2 * max(64, W // 4)).

    Decoding takes W + 2B steps, so a hostile 1-pixel-wide file with one band
    as tall as the image would cost hours; the default band stays below this.
    """
    return min(height, 2 * max(_MIN_BAND, width // 4))


# ---------------------------------------------------------------- encoder
#
# Memory: per coded pixel the encoder keeps only the labels (with a zero
# column in front, for the left neighbour of column 0) and the uint16 stage-1
# symbol index; contexts are found a block of rows at a time, and each step's
# frequencies are looked up from the small tables (a 24-megapixel image at
# K = 256 once took 62-137 bytes a pixel).

_BLOCK_PIXELS = 1 << 20


def _encode(
    labels: np.ndarray, k: int, band: int | None = None, budget: int | None = None
) -> bytes | None:
    height, width = labels.shape
    model = _Model(k)
    band = min(max_band(width, height), _default_band(width, height) if band is None else band)
    bands = -(-height // band)
    rows = bands * band
    grid = np.zeros((bands, band, width + 1), np.uint8 if k <= 256 else np.uint16)
    coded = grid.reshape(rows, width + 1)
    coded[:height, 1:] = labels
    coded[height:, 1:] = labels[-1]
    stage1 = np.zeros(grid.shape, np.uint16)  # context * STAGE1_SYMBOLS + symbol
    counts = _count(model, grid, stage1)
    codes = np.concatenate(
        [
            _weight_codes(c.reshape(shape)).ravel()
            for c, shape in zip(counts, model.shapes, strict=True)
        ]
    )
    freqs = _stage_frequencies(model, codes)
    table = zstandard.ZstdCompressor(
        level=_ZSTD_LEVEL, write_checksum=False, write_content_size=True, write_dict_id=False
    ).compress(codes.tobytes())
    if budget is not None:
        bits = sum(_cost_bits(c, f) for c, f in zip(counts, freqs, strict=True))
        # a final state may carry up to 16 bits of the symbols: count 2 of its 4 bytes
        if _PREFIX.size + len(table) + 2 * rows + bits / 8 > budget:
            return None
    tables = [_encode_table(f) for f in freqs]
    words = _encode_rows(model, coded, stage1.reshape(rows, width + 1), tables, band)
    return b"".join([_PREFIX.pack(MODEL_VERSION, band, len(table)), table, words])


def _cost_bits(counts: np.ndarray, freq: np.ndarray) -> float:
    """The bits rANS spends on symbols counted `counts` at frequencies `freq` (ideal)."""
    used = counts > 0
    # a sum of products, not @: a BLAS dot would wake its threads (CPU time on both cores)
    return float((counts[used] * (PROB_BITS - np.log2(freq.ravel()[used]))).sum())


def _rows(flat: np.ndarray, width: int) -> np.ndarray:
    """The (rows, width) pixels of a flat array laid out as `_neighbours` gives them."""
    return np.pad(flat, (0, 3)).reshape(-1, width + 3)[:, :width]


def _encode_table(freq: np.ndarray) -> np.ndarray:
    """(r, PROB_SCALE - f, start, f << 20) of every (context, symbol), one row each, as
    float64, with r = (1 / f)(1 + 2**-40): floor(x * r) is x // f exactly for integer
    x < 2**32 (the bias lifts an exact quotient n above the roundings' n * 2**-51 and
    stays below the 1 / f gap of the others), and float products vectorize where
    int64 division does not."""
    f = freq.ravel().astype(np.float64)
    start = (np.cumsum(freq, axis=1) - freq).ravel()
    with np.errstate(divide="ignore"):  # f = 0: symbols that never occur
        reciprocal = 1 / f * (1 + 2.0**-40)
    return np.stack([reciprocal, PROB_SCALE - f, start, f * (1 << (32 - PROB_BITS))])


_ESCAPED = np.arange(STAGE1_CONTEXTS * STAGE1_SYMBOLS) % STAGE1_SYMBOLS == ESCAPE

# Pixels per block of columns whose symbols' (1 / f, PROB_SCALE - f, start, limit) are
# looked up at once.
_COLUMN_BLOCK_PIXELS = 1 << 18


def _encode_rows(model: _Model, coded: np.ndarray, stage1: np.ndarray, tables, band: int):
    """The initial states and the word stream of the (rows, W + 1) coded rows.

    The encoder needs no wavefront: every row's symbols are known, so all
    rows are coded together, one column at a time from the last (literals:
    only the rows that escaped there). Each word is tagged with the (step,
    phase, lane) whose decoding reads it, and the words are put in that order
    at the end.
    """
    rows, width = coded.shape[0], coded.shape[1] - 1
    phases = 1 + len(model.literal_shapes)
    x = np.full(rows, RANS_L, np.float64)
    words: list[np.ndarray] = []  # states before the shift; the low 16 bits are the word
    lanes: list[np.ndarray] = []
    tags: list[int] = []  # (column, phase) of each entry of `lanes`
    block = max(1, _COLUMN_BLOCK_PIXELS // rows)
    everyone = np.arange(rows)
    for c1 in range(width, 0, -block):
        c0 = max(0, c1 - block)
        index = np.ascontiguousarray(stage1[:, 1 + c0 : 1 + c1].T)
        literals = _literal_symbols(model, coded, index, c0, tables)
        entries = _lookup(tables[0], index)
        for c in range(c1 - 1, c0 - 1, -1):
            for phase in range(phases - 1, 0, -1):
                where, bounds, values = literals[phase - 1]
                at = slice(bounds[c - c0], bounds[c - c0 + 1])
                if at.start == at.stop:
                    continue
                who = where[at]
                xe = x[who]
                reciprocal, gap, start, limit = values[:, at]
                _encode_symbols(xe, reciprocal, gap, start, limit, who, words, lanes)
                tags.extend([c * phases + phase] * (len(lanes) - len(tags)))
                x[who] = xe
            reciprocal, gap, start, limit = entries[:, c - c0]
            _encode_symbols(x, reciprocal, gap, start, limit, everyone, words, lanes)
            tags.extend([c * phases] * (len(lanes) - len(tags)))
    return x.astype("<u4").tobytes() + _word_stream(words, lanes, tags, rows, band, phases)


def _word_stream(words: list, lanes: list, tags: list, rows: int, band: int, phases: int) -> bytes:
    """The emitted words in decoding order: step c + 2j, then phase, then lane (j, then
    band). Lists are emptied as they are read, to keep the peak memory down."""
    if not words:
        return b""
    j = np.tile(np.arange(band, dtype=np.int64), rows // band)
    lane_key = 2 * j * phases * rows + j * (rows // band) + np.arange(rows) // band
    sizes = [len(a) for a in lanes]
    top = (max(tags) + 1) * rows + int(lane_key.max())
    key_type = np.int32 if top < 1 << 31 else np.int64  # half the sorting time
    keys: np.ndarray = np.concatenate(lanes).astype(key_type)
    lanes.clear()
    keys[...] = lane_key[keys]
    keys += np.repeat(np.array(tags, key_type) * rows, sizes)
    order = np.argsort(keys, kind="stable")  # runs of ascending keys: faster than quicksort
    del keys
    low = np.concatenate(words)
    words.clear()
    low = np.fmod(low, 65536, out=low).astype("<u2")  # exact: integers below 2**32
    return low[order].tobytes()


def _lookup(table: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Every row of `table` at `index`: shape (rows, *index.shape), one conversion of
    the index for all rows."""
    index = index.astype(np.intp, copy=False)
    out = np.empty((len(table), *index.shape))
    for row, values in zip(table, out, strict=True):
        np.take(row, index, out=values)
    return out


def _encode_symbols(x, reciprocal, gap, start, limit, who, words: list, lanes: list) -> None:
    """Push one symbol onto each state of `x` (in place), first emitting the words
    the decoder reads after decoding it (their lanes: `who`)."""
    big = np.flatnonzero(x >= limit)
    if big.size:
        shifted = x[big]
        words.append(shifted)
        lanes.append(who[big])
        x[big] = np.floor(shifted * (1 / 65536))
    q = x * reciprocal
    np.floor(q, out=q)
    q *= gap
    x += q
    x += start


def _literal_symbols(model: _Model, coded: np.ndarray, index: np.ndarray, c0: int, tables):
    """For each literal stage of the (columns, rows) block of stage-1 symbols `index`
    starting at column `c0`: the rows that code a literal, column by column (a
    symbol of frequency PROB_SCALE changes nothing and is left out), where each
    column starts among them, and their (1 / f, PROB_SCALE - f, start, limit)."""
    column, row = np.nonzero(_ESCAPED[index])
    value = coded[row, 1 + c0 + column].astype(np.int32)
    left = coded[row, c0 + column].astype(np.int32)
    out = []
    edges = np.arange(len(index) + 1)
    for table, (_, symbols), c, s in zip(
        tables[1:], model.literal_shapes, *_literal(model, left, value), strict=True
    ):
        values = _lookup(table, c * symbols + s)
        keep = values[1] != 0  # PROB_SCALE - f
        values = values[:, keep]
        out.append((row[keep], np.searchsorted(column[keep], edges), values))
    return out


def _literal(model: _Model, left: np.ndarray, value: np.ndarray):
    """(contexts, symbols) of each literal stage for escaped pixels' left neighbours and values."""
    if model.k <= 256:
        return [left], [value]
    return [left >> model.shift, value >> 8], [value >> 8, value & 255]


def _count(model: _Model, grid: np.ndarray, stage1: np.ndarray) -> list[np.ndarray]:
    """Fill `stage1` for every pixel of the (bands, band, W + 1) `grid` (column 0 unused)
    and return each stage's symbol counts, flat per (context, symbol)."""
    bands, band, width = grid.shape[0], grid.shape[1], grid.shape[2] - 1
    counts = [np.zeros(STAGE1_CONTEXTS * STAGE1_SYMBOLS, np.int64)]
    counts += [np.zeros(c * s, np.int64) for c, s in model.literal_shapes]
    rows = max(1, _BLOCK_PIXELS // width)
    matches = [("V", name) for name in ("L", "U", "UR", "UL")]
    for b in range(bands):
        for r0 in range(0, band, rows):
            r1 = min(band, r0 + rows)
            above = min(r0, 2)
            near = _neighbours(grid[b, r0 - above : r1, 1:], above)
            sym1 = _FIRST_MATCH[_bits(near, matches)]
            index = _bits(near, _PAIRS).astype(np.uint16)
            index *= STAGE1_SYMBOLS
            index += sym1
            out = stage1[b, r0:r1, 1:]
            out[...] = _rows(index, width)
            counts[0] += np.bincount(out.ravel(), minlength=len(counts[0]))
            escaped = np.flatnonzero(sym1 == ESCAPE)
            escaped = escaped[escaped % (width + 3) < width]  # not padding
            left = near["L"][escaped].astype(np.int64)
            lit = near["V"][escaped].astype(np.int64)
            for i, ((_, symbols), c, s) in enumerate(
                zip(model.literal_shapes, *_literal(model, left, lit), strict=True), 1
            ):
                counts[i] += np.bincount(c * symbols + s, minlength=len(counts[i]))
    return counts


# ---------------------------------------------------------------- decoder


def _split(view: memoryview, model: _Model, width: int, height: int):
    """Validate the payload's parts and return (band, codes, states, words)."""
    if len(view) < _PREFIX.size:
        raise TruncatedError(f"truncated rANS payload: {len(view)} bytes, need {_PREFIX.size}")
    version, band, table_length = _PREFIX.unpack_from(view)
    if version != MODEL_VERSION:
        raise CorruptError(f"unknown rANS model version {version}")
    highest = max_band(width, height)
    if not 1 <= band <= highest:
        raise CorruptError(f"rANS band height {band} is not in 1..{highest}")
    coded_rows = -(-height // band) * band
    table_end = _PREFIX.size + table_length
    states_end = table_end + 4 * coded_rows
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
    return band, codes, states, words


def _read_table(frame: memoryview, model: _Model) -> np.ndarray:
    expected = model.table_size
    raw = decompress_exact(
        frame,
        expected,
        subject="rANS frequency table",
        expected=f"K={model.k} needs {expected}",
        checksum=False,
    )
    codes = np.frombuffer(raw, np.uint8)
    if model.k > 256:
        lo = model.split_codes(codes)[2]
        if lo[-1, model.k - ((len(lo) - 1) << 8) :].any():
            raise CorruptError(f"rANS frequency table gives weight to indices >= K={model.k}")
    return codes


def _decode_table(freq: np.ndarray, codes: np.ndarray, contexts: np.ndarray):
    """Look-up tables for one stage: (symbol, frequency, bias) indexed by
    ``base[context] | slot``, built only for the rows that have weights (the
    others share one row, the default)."""
    used = np.flatnonzero(codes.any(axis=1))
    default = np.flatnonzero(~codes.any(axis=1))[:1]
    rows = np.concatenate([used, default])
    row_of = np.full(len(freq), len(rows) - 1, np.int64)
    row_of[used] = np.arange(len(used))
    freq = freq[rows]
    flat = freq.ravel()
    # Narrow types: np.repeat moves a million entries for K = 256.
    symbols = np.tile(np.arange(freq.shape[1], dtype=np.uint8), freq.shape[0])
    starts = (np.cumsum(freq, axis=1) - freq).ravel()
    sym = np.repeat(symbols, flat)
    f = np.repeat(flat.astype(np.uint16), flat)
    bias = np.tile(np.arange(PROB_SCALE, dtype=np.int16), len(freq))
    bias -= np.repeat(starts.astype(np.int16), flat)
    return row_of[contexts] << PROB_BITS, sym, f, bias


def _decode(model: _Model, band, codes, states, words, width: int, height: int) -> np.ndarray:
    freqs = _stage_frequencies(model, codes)
    code_tables = model.split_codes(codes)
    k = model.k
    literal_contexts = [np.arange(k) >> model.shift, np.arange((k + 255) >> 8)]
    tables = [_decode_table(freqs[0], code_tables[0], np.arange(STAGE1_CONTEXTS))]
    tables += [
        _decode_table(f, c, ctx)
        for f, c, ctx in zip(freqs[1:], code_tables[1:], literal_contexts, strict=False)
    ]
    bands = -(-height // band)
    out = np.zeros((bands, band, width + 2), np.uint16)
    by_band = out.reshape(bands, -1)
    # The last five steps' pixels, rows shifted down by 2 (rows 0-1 stay 0):
    # step t's plane is ring[t % 5], zeroed where no pixel was decoded.
    ring = np.zeros((5, band + 2, bands), np.uint16)
    flat_ring = ring.reshape(-1)
    plane = (band + 2) * bands
    lane = (np.arange(2, band + 2)[:, None] * bands + np.arange(bands)).astype(np.int64)
    x = np.ascontiguousarray(states.reshape(bands, band).T)
    pos = 0
    nwords = words.size
    equal = np.zeros((band, bands, 8), bool)
    packed = equal.view(np.uint64)[..., 0]
    base, sym_t, f_t, b_t = tables[0]
    # Ring planes of steps t, t-1, ... t-4 by t % 5; where each stage-1
    # symbol's neighbour is in the ring, relative to the pixel's lane.
    phases = [[(t - d) % 5 for d in (5, 1, 2, 3, 4)] for t in range(5)]
    offsets = np.array(
        [
            [p1 * plane, p2 * plane - bands, p1 * plane - bands, p3 * plane - bands, 0]
            for _, p1, p2, p3, _ in phases
        ]
    )
    names = ("L", "U", "UR", "UL", "LL", "UU")
    pairs = [(7 - bit, names.index(a), names.index(b)) for bit, (a, b) in enumerate(_PAIRS)]
    for t in range(width + 2 * band - 2):
        j0, j1 = _active(t, width, band)
        p0, p1, p2, p3, p4 = phases[t % 5]
        left = ring[p1, j0 + 2 : j1 + 2]
        near = (
            left,
            ring[p2, j0 + 1 : j1 + 1],
            ring[p1, j0 + 1 : j1 + 1],
            ring[p3, j0 + 1 : j1 + 1],
            ring[p2, j0 + 2 : j1 + 2],
            ring[p4, j0:j1],
        )
        eq = equal[: j1 - j0]
        for bit, a, b in pairs:
            np.equal(near[a], near[b], out=eq[..., bit])
        ctx = (packed[: j1 - j0] * _GATHER_BITS) >> _TOP_BYTE
        xs = x[j0:j1]
        i = base[ctx] | (xs & _SLOT)
        sym1 = sym_t[i]
        xs[...] = f_t[i] * (xs >> PROB_BITS) + b_t[i]
        pos = _renorm(xs, words, pos, nwords)
        value = flat_ring[lane[j0:j1] + offsets[t % 5, sym1]]
        escaped = np.flatnonzero(sym1 == ESCAPE)
        if escaped.size:
            flat = xs.reshape(-1)
            xe = flat[escaped]
            literal, pos = _decode_literal(
                tables, xe, left.reshape(-1)[escaped], words, pos, nwords
            )
            flat[escaped] = xe
            value.reshape(-1)[escaped] = literal
        ring[p0] = 0
        ring[p0, j0 + 2 : j1 + 2] = value
        a = t + j0 * width
        by_band[:, a : a + (j1 - j0 - 1) * width + 1 : width] = value.T
    if pos != nwords:
        raise CorruptError(f"rANS word stream has {nwords - pos} words left over")
    if (x != RANS_L).any():
        raise CorruptError("rANS streams do not end in their initial state: the data is damaged")
    return out.reshape(bands * band, width + 2)[:height, :width]


# Multiplying eight 0/1 bytes by this gathers them into the top byte, byte
# i landing on bit 7 - i.
_GATHER_BITS = np.uint64(0x8040201008040201)
_TOP_BYTE = np.uint64(56)


def _decode_literal(tables, xe, left, words, pos: int, nwords: int):
    """Decode the literal stages of the escaped lanes `xe` (in place)."""
    base, sym_t, f_t, b_t = tables[1]
    i = base[left] | (xe & _SLOT)
    literal = sym_t[i].astype(np.int64)
    xe[...] = f_t[i] * (xe >> PROB_BITS) + b_t[i]
    pos = _renorm(xe, words, pos, nwords)
    if len(tables) > 2:
        base, sym_t, f_t, b_t = tables[2]
        i = base[literal] | (xe & _SLOT)
        literal = (literal << 8) | sym_t[i]
        xe[...] = f_t[i] * (xe >> PROB_BITS) + b_t[i]
        pos = _renorm(xe, words, pos, nwords)
    return literal, pos


def _renorm(xs: np.ndarray, words: np.ndarray, pos: int, nwords: int) -> int:
    low = xs < RANS_L
    n = int(np.count_nonzero(low))
    if n:
        if pos + n > nwords:
            raise CorruptError("rANS word stream ends early: the data is damaged")
        xs[low] = (xs[low] << 16) | words[pos : pos + n]
    return pos + n
