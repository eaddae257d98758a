# The adaptive context coder of payload coding 2 (formats/context.md): called by ccodec/coder.py,
# which validates the image, allocates every table from K alone and checks what these return.

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, realloc, free

# Probabilities are P(bit = 0) in 1/65536, kept in [PROB_MIN, PROB_MAX] by the update itself.
DEF PROB_INIT = 32768
DEF PROB_MIN = 32
DEF PROB_MAX = 65504
# A context's adaptation rate is 1/(n + 1.5) for its n-th bit, then stays at its last step.
DEF RATE_STEPS = 60
DEF NEAR = 3  # the second candidate is "near" when among the 4 colours nearest the first
DEF TOP = 16777216  # 2**24: the range is renormalized to stay at or above it

# Context layout (formats/context.md section 4).
DEF CANDIDATES = 6
DEF FLAG_CONTEXTS = 110592  # candidate slot (6) x pattern: equalities (256), outcomes of W, N (9),
DEF SLOT_STRIDE = 18432  # diagonal equalities (4), near colours (2)
DEF NEAR_PATTERN = 9216
DEF LITERAL_CLASSES = 9
DEF EXP_NODES = 16
DEF MANT_NODES = 256

# Decoder results besides 0 (success).
DEF ERR_RANK = 1
DEF ERR_LITERAL = 2
DEF ERR_LENGTH = 3

cdef uint32_t _RATE[RATE_STEPS + 1]
cdef int _rate_i
for _rate_i in range(RATE_STEPS + 1):
    _RATE[_rate_i] = <uint32_t>(65536 * 2 // (2 * _rate_i + 3))
# Bit lengths of the byte values: a rank's class in one load, not a loop whose exit mispredicts.
cdef uint8_t _BIT_LENGTH[256]
for _rate_i in range(256):
    _BIT_LENGTH[_rate_i] = (<uint32_t>_rate_i).bit_length()


cdef struct Encoder:
    uint64_t low
    uint32_t range_
    uint32_t cache
    uint64_t pending  # bytes held back for a carry: the cache byte and 0xFF bytes after it
    bint first  # the first byte out of the cache is always 0 and is not written
    uint8_t *out
    size_t size
    size_t capacity
    bint failed  # out of memory


cdef struct Decoder:
    uint32_t range_
    uint32_t code
    const uint8_t *data
    size_t size
    size_t pos  # bytes consumed; bytes past the end read as 0


cdef inline void _adapt(uint16_t *prob, uint8_t *count, int bit) noexcept nogil:
    cdef uint32_t p = prob[0]
    cdef uint32_t rate = _RATE[count[0]]
    if bit == 0:
        p += ((PROB_MAX - p) * rate) >> 16
    else:
        p -= ((p - PROB_MIN) * rate) >> 16
    prob[0] = <uint16_t>p
    if count[0] < RATE_STEPS:
        count[0] += 1


cdef inline void _put_byte(Encoder *e, uint32_t byte) noexcept nogil:
    cdef uint8_t *grown
    if e.first:
        e.first = False
        return
    if e.size == e.capacity:
        grown = <uint8_t *>realloc(e.out, e.capacity * 2)
        if grown == NULL:
            e.failed = True
            return
        e.out = grown
        e.capacity *= 2
    e.out[e.size] = <uint8_t>byte
    e.size += 1


cdef inline void _shift_low(Encoder *e) noexcept nogil:
    cdef uint32_t carry
    if e.low < <uint64_t>0xFF000000 or e.low >= (<uint64_t>1 << 32):
        carry = <uint32_t>(e.low >> 32)
        _put_byte(e, (e.cache + carry) & 0xFF)
        while e.pending > 1:
            _put_byte(e, (0xFF + carry) & 0xFF)
            e.pending -= 1
        e.pending = 0
        e.cache = <uint32_t>((e.low >> 24) & 0xFF)
    e.pending += 1
    e.low = (e.low & 0x00FFFFFF) << 8


cdef inline void _encode_bit(Encoder *e, uint16_t *prob, uint8_t *count, int bit) noexcept nogil:
    cdef uint32_t bound = (e.range_ >> 16) * prob[0]
    if bit == 0:
        e.range_ = bound
    else:
        e.low += bound
        e.range_ -= bound
    while e.range_ < TOP:
        e.range_ <<= 8
        _shift_low(e)
    _adapt(prob, count, bit)


cdef inline int _decode_bit(Decoder *d, uint16_t *prob, uint8_t *count) noexcept nogil:
    cdef uint32_t bound = (d.range_ >> 16) * prob[0]
    cdef int bit
    if d.code < bound:
        d.range_ = bound
        bit = 0
    else:
        d.code -= bound
        d.range_ -= bound
        bit = 1
    while d.range_ < TOP:
        d.range_ <<= 8
        d.code = (d.code << 8) | (d.data[d.pos] if d.pos < d.size else 0)
        d.pos += 1
    _adapt(prob, count, bit)
    return bit


cdef inline int _bit_length(uint32_t value) noexcept nogil:
    cdef int n = 0
    while value:
        n += 1
        value >>= 1
    return n


cdef struct Context:
    int pattern  # the flag context without the candidate slot
    int n  # distinct candidates
    uint32_t cand[CANDIDATES]
    uint32_t west  # the literal's reference colour
    uint32_t nn  # the last neighbour, kept by _pattern for _more_candidates


cdef inline void _context(label_t *row, label_t *up, label_t *up2, uint8_t *esc_row,
                          uint8_t *esc_up, Py_ssize_t x, Py_ssize_t width, Context *c) noexcept nogil:
    """The neighbours of pixel x (formats/context.md 4.1) as deduplicated candidates and the
    flag context; `up` and `up2` are NULL above the image."""
    cdef uint32_t w, n, nw, ne, ww, nn, v, nne, nww
    cdef uint32_t others[CANDIDATES - 1]
    cdef int i, j, dup, pattern
    if x > 0:
        w = row[x - 1]
    elif up != NULL:
        w = up[x]
    else:
        w = 0
    if up != NULL:
        n = up[x]
        nw = up[x - 1] if x > 0 else n
        ne = up[x + 1] if x + 1 < width else n
    else:
        n = nw = ne = w
    ww = row[x - 2] if x > 1 else w
    nn = up2[x] if up2 != NULL else n
    nne = up2[x + 1] if up2 != NULL and x + 1 < width else ne
    nww = up[x - 2] if up != NULL and x > 1 else nw
    pattern = ((w == n) | (w == nw) << 1 | (w == ne) << 2 | (n == nw) << 3
               | (n == ne) << 4 | (nw == ne) << 5 | (w == ww) << 6 | (n == nn) << 7)
    pattern += ((esc_row[x - 1] if x > 0 else 0) * 3 + (esc_up[x] if up != NULL else 0)) * 256
    pattern += ((ne == nne) | (nw == nww) << 1) * 2304
    c.pattern = pattern
    c.west = w
    c.cand[0] = w
    c.n = 1
    others[0] = n
    others[1] = nw
    others[2] = ne
    others[3] = ww
    others[4] = nn
    for i in range(CANDIDATES - 1):
        v = others[i]
        dup = 0
        for j in range(c.n):
            if c.cand[j] == v:
                dup = 1
                break
        if not dup:
            c.cand[c.n] = v
            c.n += 1


cdef inline int _pattern(label_t *row, label_t *up, label_t *up2, uint8_t *esc_row,
                         uint8_t *esc_up, Py_ssize_t x, Py_ssize_t width, Context *c) noexcept nogil:
    """The decoder's half of _context: the flag context without `near`, w and the second
    candidate (c.n is 1 or 2 here); the rest waits for _more_candidates."""
    cdef uint32_t w, n, nw, ne, ww, nn, nne, nww
    cdef int pattern
    if x > 0:
        w = row[x - 1]
    elif up != NULL:
        w = up[x]
    else:
        w = 0
    if up != NULL:
        n = up[x]
        nw = up[x - 1] if x > 0 else n
        ne = up[x + 1] if x + 1 < width else n
    else:
        n = nw = ne = w
    ww = row[x - 2] if x > 1 else w
    nn = up2[x] if up2 != NULL else n
    nne = up2[x + 1] if up2 != NULL and x + 1 < width else ne
    nww = up[x - 2] if up != NULL and x > 1 else nw
    pattern = ((w == n) | (w == nw) << 1 | (w == ne) << 2 | (n == nw) << 3
               | (n == ne) << 4 | (nw == ne) << 5 | (w == ww) << 6 | (n == nn) << 7)
    pattern += ((esc_row[x - 1] if x > 0 else 0) * 3 + (esc_up[x] if up != NULL else 0)) * 256
    pattern += ((ne == nne) | (nw == nww) << 1) * 2304
    c.west = w
    c.cand[0] = w
    c.cand[2] = n
    c.cand[3] = nw
    c.cand[4] = ne
    c.cand[5] = ww
    c.nn = nn
    # The second candidate: the first neighbour after w that differs from it.
    c.cand[1] = (n if w != n else nw if w != nw else ne if w != ne else ww if w != ww else nn)
    c.n = 2 if c.cand[1] != w else 1
    return pattern


cdef inline void _more_candidates(Context *c) noexcept nogil:
    """The full candidate list after _pattern. Without branches: whether a neighbour repeats
    an earlier one is as hard to predict as the image, and each slot is written anyway and
    kept by advancing the count."""
    cdef uint32_t w = c.cand[0], n = c.cand[2], nw = c.cand[3], ne = c.cand[4], ww = c.cand[5]
    cdef uint32_t nn = c.nn
    cdef int m = 1
    c.cand[m] = n
    m += n != w
    c.cand[m] = nw
    m += (nw != w) & (nw != n)
    c.cand[m] = ne
    m += (ne != w) & (ne != n) & (ne != nw)
    c.cand[m] = ww
    m += (ww != w) & (ww != n) & (ww != nw) & (ww != ne)
    c.cand[m] = nn
    m += (nn != w) & (nn != n) & (nn != nw) & (nn != ne) & (nn != ww)
    c.n = m


cdef inline int _literal_class(const uint8_t *pos_row, Context *c) noexcept nogil:
    """How far, in rank from the west colour, the second candidate lies (0 if there is none)."""
    if c.n < 2:
        return 0
    return _BIT_LENGTH[pos_row[c.cand[1]]]


cdef _check_tables(Py_ssize_t width, Py_ssize_t k, const uint8_t[:, ::1] order,
                   const uint8_t[:, ::1] pos, uint16_t[::1] prob, uint8_t[::1] count):
    """ValueError unless the tables are as large as the loops index them: a wrong caller, not
    a file, could otherwise make them read or write past an array."""
    cdef Py_ssize_t contexts = FLAG_CONTEXTS + (
        LITERAL_CLASSES * (EXP_NODES + MANT_NODES) if k <= 256 else 2 * 256 * 256)
    if not 1 <= k <= 65536 or width < 1:
        raise ValueError(f"k={k}, width={width}: out of range")
    if k <= 256 and (order.shape[0] < k or order.shape[1] < k
                     or pos.shape[0] < k or pos.shape[1] < k):
        raise ValueError(f"distance tables smaller than {k} x {k}")
    if prob.shape[0] < contexts or count.shape[0] < contexts:
        raise ValueError(f"probability tables smaller than {contexts}")


def context_encode(const label_t[:, ::1] labels, Py_ssize_t k, const uint8_t[:, ::1] order,
                   const uint8_t[:, ::1] pos, uint16_t[::1] prob, uint8_t[::1] count):
    """The coder's stream for `labels` (all < k), with tables made by ccodec.coder."""
    _check_tables(labels.shape[1], k, order, pos, prob, count)
    cdef Py_ssize_t height = labels.shape[0], width = labels.shape[1]
    cdef Py_ssize_t x, y
    cdef Encoder e
    cdef Context c
    cdef uint8_t *esc = NULL
    cdef uint8_t *esc_row
    cdef uint8_t *esc_up
    cdef label_t *row
    cdef label_t *up
    cdef label_t *up2
    cdef uint16_t *pr = &prob[0]
    cdef uint8_t *ct = &count[0]
    cdef uint32_t value, rank, p, slot
    cdef int i, hit, cls, e_bits, depth, node, bit, emax, hi_bits, hi, lo
    cdef Py_ssize_t lit_base = FLAG_CONTEXTS
    cdef Py_ssize_t mant_base = FLAG_CONTEXTS + LITERAL_CLASSES * EXP_NODES
    cdef Py_ssize_t lo_base = FLAG_CONTEXTS + 256 * 256
    emax = _bit_length(<uint32_t>(k - 1))
    depth = _bit_length(<uint32_t>emax)
    hi_bits = _bit_length(<uint32_t>((k - 1) >> 8))

    e.low = 0
    e.range_ = 0xFFFFFFFF
    e.cache = 0
    e.pending = 1
    e.first = True
    e.size = 0
    e.capacity = 1 << 16
    e.failed = False
    e.out = <uint8_t *>malloc(e.capacity)
    esc = <uint8_t *>malloc(2 * width)
    if e.out == NULL or esc == NULL:
        free(e.out)
        free(esc)
        raise MemoryError()
    try:
        with nogil:
            for y in range(height):
                row = <label_t *>&labels[y, 0]
                up = <label_t *>&labels[y - 1, 0] if y > 0 else NULL
                up2 = <label_t *>&labels[y - 2, 0] if y > 1 else NULL
                esc_row = esc + (y & 1) * width
                esc_up = esc + ((y + 1) & 1) * width
                for x in range(width):
                    _context(row, up, up2, esc_row, esc_up, x, width, &c)
                    if k <= 256 and c.n >= 2 and pos[c.west, c.cand[1]] <= NEAR:
                        c.pattern += NEAR_PATTERN
                    value = row[x]
                    hit = 0
                    for i in range(c.n):
                        slot = i * SLOT_STRIDE + c.pattern
                        bit = c.cand[i] == value
                        _encode_bit(&e, pr + slot, ct + slot, 1 - bit)
                        if bit:
                            hit = 1
                            break
                    esc_row[x] = 2 if not hit else (1 if i > 0 else 0)
                    if hit:
                        continue
                    if k <= 256:
                        # Rank among the palette by distance from the west colour, the
                        # candidates (known not to be the value) left out.
                        p = pos[c.west, value]
                        rank = p
                        for i in range(c.n):
                            if pos[c.west, c.cand[i]] < p:
                                rank -= 1
                        cls = _literal_class(&pos[c.west, 0], &c)
                        e_bits = _bit_length(rank)
                        node = 1
                        for i in range(depth - 1, -1, -1):
                            bit = (e_bits >> i) & 1
                            slot = lit_base + cls * EXP_NODES + node
                            _encode_bit(&e, pr + slot, ct + slot, bit)
                            node = node * 2 + bit
                        node = 1
                        for i in range(e_bits - 2, -1, -1):
                            bit = (rank >> i) & 1
                            slot = mant_base + cls * MANT_NODES + node
                            _encode_bit(&e, pr + slot, ct + slot, bit)
                            node = node * 2 + bit
                    else:
                        hi = value >> 8
                        node = 1
                        for i in range(hi_bits - 1, -1, -1):
                            bit = (hi >> i) & 1
                            slot = lit_base + (c.west >> 8) * 256 + node
                            _encode_bit(&e, pr + slot, ct + slot, bit)
                            node = node * 2 + bit
                        node = 1
                        for i in range(7, -1, -1):
                            bit = (value >> i) & 1
                            slot = lo_base + hi * 256 + node
                            _encode_bit(&e, pr + slot, ct + slot, bit)
                            node = node * 2 + bit
                if e.failed:
                    break
            for i in range(5):
                _shift_low(&e)
        if e.failed:
            raise MemoryError()
        return bytes((<char *>e.out)[:e.size])
    finally:
        free(e.out)
        free(esc)


def context_decode(const uint8_t[::1] stream, label_t[:, ::1] labels, Py_ssize_t k,
                   const uint8_t[:, ::1] order, const uint8_t[:, ::1] pos,
                   uint16_t[::1] prob, uint8_t[::1] count, uint8_t[::1] esc):
    """Decode `stream` into `labels` (H, W); returns 0, or the error code of the first fault
    (ERR_RANK: a rank beyond the palette, ERR_LITERAL: an index >= k, ERR_LENGTH: the stream
    is not exactly the bytes the decoding consumed) and the row where it was found."""
    _check_tables(labels.shape[1], k, order, pos, prob, count)
    if esc.shape[0] < 2 * labels.shape[1]:
        raise ValueError(f"escape rows of {esc.shape[0]} bytes for a width of {labels.shape[1]}")
    cdef Py_ssize_t height = labels.shape[0], width = labels.shape[1]
    cdef Py_ssize_t x, y
    cdef Decoder d
    cdef Context c
    cdef uint8_t *esc_row
    cdef uint8_t *esc_up
    cdef label_t *row
    cdef label_t *up
    cdef label_t *up2
    cdef uint16_t *pr = &prob[0]
    cdef uint8_t *ct = &count[0]
    cdef const uint8_t *pos_row
    cdef uint32_t value, rank, slot, t, j
    cdef int i, hit, cls, e_bits, depth, node, bit, emax, hi_bits, hi, err = 0, pattern
    cdef uint32_t excluded[CANDIDATES]
    cdef Py_ssize_t lit_base = FLAG_CONTEXTS
    cdef Py_ssize_t mant_base = FLAG_CONTEXTS + LITERAL_CLASSES * EXP_NODES
    cdef Py_ssize_t lo_base = FLAG_CONTEXTS + 256 * 256
    emax = _bit_length(<uint32_t>(k - 1))
    depth = _bit_length(<uint32_t>emax)
    hi_bits = _bit_length(<uint32_t>((k - 1) >> 8))
    pos_row = NULL  # the distance ranks from w, K <= 256 only

    d.size = stream.shape[0]
    if d.size < 4:
        return ERR_LENGTH, 0
    d.data = &stream[0]
    d.range_ = 0xFFFFFFFF
    d.code = 0
    d.pos = 0
    for i in range(4):
        d.code = (d.code << 8) | (d.data[d.pos] if d.pos < d.size else 0)
        d.pos += 1
    with nogil:
        for y in range(height):
            row = &labels[y, 0]
            up = &labels[y - 1, 0] if y > 0 else NULL
            up2 = &labels[y - 2, 0] if y > 1 else NULL
            esc_row = &esc[(y & 1) * width]
            esc_up = &esc[((y + 1) & 1) * width]
            for x in range(width):
                pattern = _pattern(row, up, up2, esc_row, esc_up, x, width, &c)
                pos_row = &pos[c.west, 0] if k <= 256 else pos_row
                if k <= 256 and c.n >= 2 and pos_row[c.cand[1]] <= NEAR:
                    pattern += NEAR_PATTERN
                # Most pixels are their west neighbour: the other candidates only after a miss.
                if _decode_bit(&d, pr + pattern, ct + pattern) == 0:
                    row[x] = <label_t>c.west
                    esc_row[x] = 0
                    continue
                _more_candidates(&c)
                hit = 0
                for i in range(1, c.n):
                    slot = i * SLOT_STRIDE + pattern
                    if _decode_bit(&d, pr + slot, ct + slot) == 0:
                        row[x] = <label_t>c.cand[i]
                        hit = 1
                        break
                esc_row[x] = 1 if hit else 2
                if hit:
                    continue
                if k <= 256:
                    cls = _literal_class(pos_row, &c)
                    node = 1
                    for i in range(depth):
                        slot = lit_base + cls * EXP_NODES + node
                        node = node * 2 + _decode_bit(&d, pr + slot, ct + slot)
                    e_bits = node - (1 << depth)
                    if e_bits > emax:
                        err = ERR_RANK
                        break
                    node = 1
                    for i in range(e_bits - 1):
                        slot = mant_base + cls * MANT_NODES + node
                        node = node * 2 + _decode_bit(&d, pr + slot, ct + slot)
                    rank = <uint32_t>node if e_bits > 0 else 0
                    # Undo the candidates' exclusion: the least R with R = rank + (candidates at
                    # or below R), found from R = rank upwards; it is formats/context.md's
                    # stepping over the sorted ranks, without the sort.
                    for i in range(c.n):
                        excluded[i] = pos_row[c.cand[i]]
                    t = rank
                    while True:
                        j = rank
                        for i in range(c.n):
                            j += excluded[i] <= t
                        if j == t:
                            break
                        t = j
                    rank = t
                    if rank >= <uint32_t>k:
                        err = ERR_RANK
                        break
                    row[x] = <label_t>order[c.west, rank]
                else:
                    node = 1
                    for i in range(hi_bits):
                        slot = lit_base + (c.west >> 8) * 256 + node
                        node = node * 2 + _decode_bit(&d, pr + slot, ct + slot)
                    hi = node - (1 << hi_bits)
                    node = 1
                    for i in range(8):
                        slot = lo_base + hi * 256 + node
                        node = node * 2 + _decode_bit(&d, pr + slot, ct + slot)
                    value = (<uint32_t>hi << 8) | <uint32_t>(node - 256)
                    if value >= <uint32_t>k:
                        err = ERR_LITERAL
                        break
                    row[x] = <label_t>value
            if err:
                break
    if err:
        return err, y
    if d.pos != d.size:
        return ERR_LENGTH, d.pos
    return 0, 0
