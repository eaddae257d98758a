# Error diffusion (Floyd-Steinberg): called by ccodec/dither.py, which validates the arguments.

from libc.stdlib cimport calloc, free, malloc, realloc

# The four shares of an error, each exact in float32 as the textbook loop multiplies them.
DEF _FS_RIGHT = 0.4375
DEF _FS_BELOW_LEFT = 0.1875
DEF _FS_BELOW = 0.3125
DEF _FS_BELOW_RIGHT = 0.0625
# A value is searched in its cell of 2^_FINEST_SHIFT levels a channel, whose list holds the
# only entries that can be nearest inside it, built when a value first falls there from the
# list of its enclosing cell one level up, and so on to the whole palette.
DEF _LEVELS = 2
DEF _TOP_SHIFT = 6
DEF _FINEST_SHIFT = _TOP_SHIFT - _LEVELS + 1
# Entries a list is pruned against (see _beaten).
DEF _PIVOTS = 8


cdef struct _Candidate:
    int bound  # the least squared distance from the entry to any point of the cell
    int index


cdef struct _Cells:
    int k
    int channels
    const unsigned char *palette  # (k, channels)
    double *colors  # (k, 4), channels past `channels` zero
    # Per level (the top first), per cell: 0 = not built yet, else 1 + offset of its count.
    Py_ssize_t *start[_LEVELS]
    _Candidate *lists  # per built cell: a count (in .index), then its candidates
    Py_ssize_t used, capacity


cdef inline bint _beaten(const _Cells *cells, const int *lows, int side, int entry,
                         const int *pivots, int n_pivots) noexcept nogil:
    """Whether a pivot is nearer than `entry` everywhere in the box, by at least 1 in squared
    distance: the difference of two squared distances is linear in the value, so its least
    over the box is at a corner, a whole number there; a margin of 1 leaves the float64
    rounding (far below it) no way to tie or reorder the two."""
    cdef int p, c, a, b, low, high, least, at_low, at_high
    cdef int channels = cells.channels
    for p in range(n_pivots):
        if pivots[p] == entry:
            continue
        least = 0
        for c in range(channels):
            a = cells.palette[entry * channels + c]
            b = cells.palette[pivots[p] * channels + c]
            low = lows[c]
            high = low + side
            at_low = (a - b) * (a + b - 2 * low)
            at_high = (a - b) * (a + b - 2 * high)
            least += at_low if at_low < at_high else at_high
        if least > 0:
            return True
    return False


cdef Py_ssize_t _list_entries(_Cells *cells, const int *lows, int side,
                              Py_ssize_t source, bint ordered) noexcept nogil:
    """List the entries that can be nearest inside the box from `lows` (`side` levels a
    channel), taken from the list at offset `source` (-1: the whole palette), `ordered` by
    their least distance to the box; return the new list's offset, or -1 when out of memory.

    An entry whose least distance to the box exceeds some entry's greatest is farther from
    every value inside than that one, in float64 too: each rounded step of the distance is
    monotonic and the box's bounds are whole numbers, so the textbook's rounded distance
    lies between the two integer bounds. So a box inside another needs only the other's list.
    An entry is also left out when one of the few with the least greatest distance (pivots)
    is nearer everywhere in the box (see _beaten).
    """
    cdef int channels = cells.channels, i, j, c, low, high, gap, near, far, best_far = -1
    cdef int count = cells.k if source < 0 else cells.lists[source].index
    cdef Py_ssize_t kept = 0, offset
    cdef _Candidate *grown
    cdef _Candidate *out
    cdef _Candidate moving
    cdef int pivots[_PIVOTS]
    cdef int pivot_far[_PIVOTS]
    cdef int n_pivots = 0
    if cells.used + count + 1 > cells.capacity:
        cells.capacity = 2 * (cells.used + count + 1)
        grown = <_Candidate *> realloc(cells.lists, cells.capacity * sizeof(_Candidate))
        if grown == NULL:
            return -1
        cells.lists = grown
    offset = cells.used
    out = cells.lists + offset + 1
    # One pass lists every entry with its least distance, the next keeps those that can win.
    for j in range(count):
        i = j if source < 0 else cells.lists[source + 1 + j].index
        near = 0
        far = 0
        for c in range(channels):
            low = lows[c] - cells.palette[i * channels + c]
            high = low + side
            gap = -low if -low > high else high
            far += gap * gap
            gap = low if low > 0 else (-high if high < 0 else 0)
            near += gap * gap
        if best_far < 0 or far < best_far:
            best_far = far
        if n_pivots < _PIVOTS or far < pivot_far[n_pivots - 1]:
            c = n_pivots if n_pivots < _PIVOTS else _PIVOTS - 1
            while c > 0 and pivot_far[c - 1] > far:
                pivot_far[c], pivots[c] = pivot_far[c - 1], pivots[c - 1]
                c -= 1
            pivot_far[c], pivots[c] = far, i
            n_pivots = min(n_pivots + 1, _PIVOTS)
        out[j].bound = near
        out[j].index = i
    for j in range(count):
        if out[j].bound <= best_far and not _beaten(cells, lows, side, out[j].index, pivots,
                                                     n_pivots):
            out[kept] = out[j]
            kept += 1
    if ordered:  # insertion sort: the lists at the finest level are short
        for j in range(1, kept):
            moving = out[j]
            i = <int> j - 1
            while i >= 0 and out[i].bound > moving.bound:
                out[i + 1] = out[i]
                i -= 1
            out[i + 1] = moving
    cells.lists[offset].index = <int> kept
    cells.used += kept + 1
    return offset


cdef Py_ssize_t _cell_list(_Cells *cells, const int *levels, int level) noexcept nogil:
    """The offset of the list of the cell at `level` holding the value whose levels are
    `levels`, built (with its enclosing cells') if need be; -1 when out of memory."""
    cdef int shift = _TOP_SHIFT - level, number = 0, c
    cdef int lows[4]
    cdef Py_ssize_t source
    for c in range(cells.channels - 1, -1, -1):
        number = (number << (8 - shift)) | (levels[c] >> shift)
    source = cells.start[level][number] - 1
    if source >= 0:
        return source
    if level > 0:
        source = _cell_list(cells, levels, level - 1)
        if source < 0:
            return -1
    for c in range(cells.channels):
        lows[c] = (levels[c] >> shift) << shift
    source = _list_entries(cells, lows, 1 << shift, source, level == _LEVELS - 1)
    if source >= 0:
        cells.start[level][number] = source + 1
    return source


cdef inline double _distance(const double *color, const double *value) noexcept nogil:
    """The textbook's float64 distance: squares summed over the channels in order (the zero
    padding past the image's channels adds nothing)."""
    cdef double d, total
    d = color[0] - value[0]
    total = d * d
    d = color[1] - value[1]
    total = total + d * d
    d = color[2] - value[2]
    total = total + d * d
    d = color[3] - value[3]
    return total + d * d


cdef inline int _nearest(_Cells *cells, const double *value, int guess) noexcept nogil:
    """The entry nearest `value` by the textbook's float64 distance, the lowest index among
    equals, starting from `guess`'s distance as the best so far; -1 when out of memory."""
    cdef int levels[4]
    cdef int c, i, count, index, cell = 0, best_index = guess, better
    cdef Py_ssize_t offset
    cdef const _Candidate *candidate
    cdef double best = _distance(cells.colors + 4 * guess, value), total
    for c in range(cells.channels - 1, -1, -1):
        levels[c] = <int> value[c]
        cell = (cell << (8 - _FINEST_SHIFT)) | (levels[c] >> _FINEST_SHIFT)
    offset = cells.start[_LEVELS - 1][cell] - 1
    if offset < 0:
        offset = _cell_list(cells, levels, _LEVELS - 1)
        if offset < 0:
            return -1
    count = cells.lists[offset].index
    candidate = cells.lists + offset + 1
    for i in range(count):
        # The rounded distance is at least the integer bound (see _list_entries).
        if candidate[i].bound > best:
            break
        index = candidate[i].index
        total = _distance(cells.colors + 4 * index, value)
        # Without branches: which entry wins is as unpredictable as the data.
        better = (total < best) | ((total == best) & (index < best_index))
        best_index = index if better else best_index
        best = total if total < best else best
    return best_index


cdef int _diffuse(const unsigned char *pixels, Py_ssize_t height, Py_ssize_t width,
                  _Cells *cells, float *rows, label_t *labels) noexcept nogil:
    """The labels of every pixel, row after row; -1 when out of memory."""
    # Two rows of four channels, one pixel of padding each side: shares that fall outside
    # the image land there, unread.
    cdef Py_ssize_t row_length = 4 * (width + 2), y, x
    cdef int channels = cells.channels, c, label = 0
    cdef float *current = rows
    cdef float *below = rows + row_length
    cdef float *swap
    cdef float *cell
    cdef const unsigned char *source
    cdef const double *color
    cdef float v, e
    cdef float error[4]
    cdef double value[4]
    for x in range(2 * row_length):
        rows[x] = 0
    for x in range(width):
        for c in range(channels):
            current[4 * (x + 1) + c] = pixels[x * channels + c]
    for y in range(height):
        for x in range(row_length):
            below[x] = 0
        if y + 1 < height:
            source = pixels + (y + 1) * width * channels
            for x in range(width):
                for c in range(channels):
                    below[4 * (x + 1) + c] = source[x * channels + c]
        for x in range(width):
            cell = current + 4 * (x + 1)
            for c in range(4):
                v = cell[c]
                v = 0 if v < 0 else v
                v = 255 if v > 255 else v
                cell[c] = v
                value[c] = v
            # The previous pixel's entry is often the nearest, or near it.
            label = _nearest(cells, value, label)
            if label < 0:
                return -1
            labels[y * width + x] = <label_t> label
            color = cells.colors + 4 * label
            for c in range(4):
                error[c] = cell[c] - <float> color[c]
            for c in range(4):
                e = <float> _FS_RIGHT * error[c]
                cell[4 + c] = cell[4 + c] + e
            for c in range(4):
                e = <float> _FS_BELOW_LEFT * error[c]
                below[4 * x + c] = below[4 * x + c] + e
            for c in range(4):
                e = <float> _FS_BELOW * error[c]
                below[4 * x + 4 + c] = below[4 * x + 4 + c] + e
            for c in range(4):
                e = <float> _FS_BELOW_RIGHT * error[c]
                below[4 * x + 8 + c] = below[4 * x + 8 + c] + e
        swap, current, below = current, below, current
    return 0


def floyd_steinberg(const unsigned char[:, :, ::1] pixels, const unsigned char[:, ::1] palette,
                    label_t[:, ::1] labels):
    """Write into `labels` (H, W) the textbook Floyd-Steinberg labels of `pixels` (H, W, C).

    Exactly ccodec.dither's definition (its docstring, and the loop in tests/test_dither.py):
    raster order, each value clipped to 0..255 in float32, the nearest entry by float64 squared
    distance summed over channels in order (the lowest index among equals), the error in
    float32 and its 7/16, 3/16, 5/16, 1/16 shares rounded to float32 before each is added.
    The caller checks that the shapes agree, 1 <= C <= 4 and 1 <= K <= 65,536.
    """
    cdef Py_ssize_t height = pixels.shape[0], width = pixels.shape[1]
    cdef int channels = pixels.shape[2], k = palette.shape[0], i, c, level, failed = 0
    cdef bint allocated
    cdef _Cells cells
    if height == 0 or width == 0:
        return
    cells.k, cells.channels, cells.palette = k, channels, &palette[0, 0]
    cells.used, cells.capacity, cells.lists = 0, 0, NULL
    for level in range(_LEVELS):
        cells.start[level] = <Py_ssize_t *> calloc(
            1 << ((level + 8 - _TOP_SHIFT) * channels), sizeof(Py_ssize_t)
        )
    cells.colors = <double *> calloc(4 * k, sizeof(double))
    cdef float *rows = <float *> malloc(2 * 4 * (width + 2) * sizeof(float))
    try:
        allocated = cells.colors != NULL and rows != NULL
        for level in range(_LEVELS):
            allocated = allocated and cells.start[level] != NULL
        if not allocated:
            raise MemoryError()
        for i in range(k):
            for c in range(channels):
                cells.colors[4 * i + c] = palette[i, c]
        with nogil:
            failed = _diffuse(&pixels[0, 0, 0], height, width, &cells, rows, &labels[0, 0])
        if failed:
            raise MemoryError()
    finally:
        for level in range(_LEVELS):
            free(cells.start[level])
        free(cells.colors)
        free(cells.lists)
        free(rows)
