# Error diffusion (Floyd-Steinberg): called by ccodec/dither.py, which validates the arguments.

from libc.stdlib cimport calloc, free, malloc, qsort, realloc

ctypedef fused label_t:
    unsigned char
    unsigned short

# The four shares of an error, in float32 as the textbook loop multiplies them.
cdef float _FS_RIGHT = 0.4375
cdef float _FS_BELOW_LEFT = 0.1875
cdef float _FS_BELOW = 0.3125
cdef float _FS_BELOW_RIGHT = 0.0625
# Values are searched in cells of 16 levels a channel (16^C cells, each listing the only
# entries that can be nearest to a value inside it, built when a value first falls in it)
# from the list of the enclosing cell of 64 levels, itself built from the whole palette.
DEF _CELL_SHIFT = 4
DEF _CELL_SIDE = 16
DEF _CELLS_PER_CHANNEL = 16
DEF _PARENT_SHIFT = 6
DEF _PARENT_SIDE = 64
DEF _PARENTS_PER_CHANNEL = 4


cdef struct _Candidate:
    long long bound  # the least squared distance from the entry to any point of the cell
    int index


cdef struct _Cells:
    int k
    int channels
    const unsigned char *palette  # (k, channels)
    double *colors  # (k, 4), channels past `channels` zero
    Py_ssize_t *start  # per cell: 0 = not built yet, else 1 + offset of its count in `lists`
    Py_ssize_t *parent_start  # the same for the cells of 64 levels
    _Candidate *lists  # per built cell: a count (in .index), then its candidates
    Py_ssize_t used, capacity


cdef int _by_bound(const void *a, const void *b) noexcept nogil:
    cdef long long x = (<const _Candidate *> a).bound, y = (<const _Candidate *> b).bound
    return (x > y) - (x < y)


cdef Py_ssize_t _list_entries(_Cells *cells, const int *lows, int side,
                              Py_ssize_t source) noexcept nogil:
    """List, by their least distance to the box from `lows` (`side` levels a channel), the
    entries that can be nearest inside it, taken from the list at offset `source` (-1: the
    whole palette); return the new list's offset, or -1 when memory runs out.

    An entry whose least distance to the box exceeds some entry's greatest is farther from
    every value inside than that one, in float64 too: each rounded step of the distance is
    monotonic and the box's bounds are whole numbers, so the textbook's rounded distance
    lies between the two integer bounds. So a box inside another needs only the other's list.
    """
    cdef int channels = cells.channels, i, j, c, low, high, gap
    cdef int count = cells.k if source < 0 else cells.lists[source].index
    cdef long long near, far, best_far = -1
    cdef Py_ssize_t kept = 0, offset
    cdef _Candidate *grown
    cdef _Candidate *out
    if cells.used + count + 1 > cells.capacity:
        cells.capacity = 2 * (cells.used + count + 1)
        grown = <_Candidate *> realloc(cells.lists, cells.capacity * sizeof(_Candidate))
        if grown == NULL:
            return -1
        cells.lists = grown
    for j in range(count):
        i = j if source < 0 else cells.lists[source + 1 + j].index
        far = 0
        for c in range(channels):
            low = lows[c] - cells.palette[i * channels + c]
            high = low + side
            gap = -low if -low > high else high
            far += <long long> gap * gap
        if best_far < 0 or far < best_far:
            best_far = far
    offset = cells.used
    out = cells.lists + offset + 1
    for j in range(count):
        i = j if source < 0 else cells.lists[source + 1 + j].index
        near = 0
        for c in range(channels):
            low = lows[c] - cells.palette[i * channels + c]
            high = low + side
            gap = low if low > 0 else (-high if high < 0 else 0)
            near += <long long> gap * gap
        if near <= best_far:
            out[kept].bound = near
            out[kept].index = i
            kept += 1
    qsort(out, kept, sizeof(_Candidate), _by_bound)
    cells.lists[offset].index = <int> kept
    cells.used += kept + 1
    return offset


cdef Py_ssize_t _build_cell(_Cells *cells, const double *value, int cell) noexcept nogil:
    """The list of the cell `value` falls in (number `cell`), built with its parent's."""
    cdef int lows[4]
    cdef int c, parent = 0
    cdef Py_ssize_t source
    for c in range(cells.channels - 1, -1, -1):
        parent = parent * _PARENTS_PER_CHANNEL + ((<int> value[c]) >> _PARENT_SHIFT)
    source = cells.parent_start[parent] - 1
    if source < 0:
        for c in range(cells.channels):
            lows[c] = ((<int> value[c]) >> _PARENT_SHIFT) * _PARENT_SIDE
        source = _list_entries(cells, lows, _PARENT_SIDE, -1)
        if source < 0:
            return -1
        cells.parent_start[parent] = source + 1
    for c in range(cells.channels):
        lows[c] = ((<int> value[c]) >> _CELL_SHIFT) * _CELL_SIDE
    source = _list_entries(cells, lows, _CELL_SIDE, source)
    if source >= 0:
        cells.start[cell] = source + 1
    return source


cdef inline int _nearest(_Cells *cells, const double *value) noexcept nogil:
    """The entry nearest `value` by the textbook's float64 distance, the lowest index among
    equals; -1 when memory runs out."""
    cdef int cell = 0, c, i, count, index, best_index = -1
    cdef Py_ssize_t offset
    cdef const _Candidate *candidate
    cdef const double *color
    cdef double best = 0, d, total
    for c in range(cells.channels - 1, -1, -1):
        cell = cell * _CELLS_PER_CHANNEL + ((<int> value[c]) >> _CELL_SHIFT)
    offset = cells.start[cell] - 1
    if offset < 0:
        offset = _build_cell(cells, value, cell)
        if offset < 0:
            return -1
    count = cells.lists[offset].index
    candidate = cells.lists + offset + 1
    for i in range(count):
        # The rounded distance is at least the integer bound (see _build_cell).
        if best_index >= 0 and candidate[i].bound > best:
            break
        index = candidate[i].index
        color = cells.colors + 4 * index
        # Channels in order, as the textbook sums them; the zero padding adds nothing.
        d = color[0] - value[0]
        total = d * d
        d = color[1] - value[1]
        total = total + d * d
        d = color[2] - value[2]
        total = total + d * d
        d = color[3] - value[3]
        total = total + d * d
        if best_index < 0 or total < best or (total == best and index < best_index):
            best, best_index = total, index
    return best_index


cdef int _diffuse(const unsigned char[:, :, ::1] pixels, _Cells *cells, float *rows,
                  int *out) noexcept nogil:
    """The labels of every pixel into `out` (H x W); -1 when memory runs out."""
    cdef Py_ssize_t height = pixels.shape[0], width = pixels.shape[1]
    cdef int channels = pixels.shape[2], c, label
    # Two rows of four channels, one pixel of padding each side: shares that fall outside
    # the image land there, unread.
    cdef Py_ssize_t row_length = 4 * (width + 2), y, x
    cdef float *current = rows
    cdef float *below = rows + row_length
    cdef float *swap
    cdef float *cell
    cdef float v, e, share
    cdef double value[4]
    for x in range(row_length):
        current[x] = 0
    for x in range(width):
        for c in range(channels):
            current[4 * (x + 1) + c] = pixels[0, x, c]
    for y in range(height):
        for x in range(row_length):
            below[x] = 0
        if y + 1 < height:
            for x in range(width):
                for c in range(channels):
                    below[4 * (x + 1) + c] = pixels[y + 1, x, c]
        for x in range(width):
            cell = current + 4 * (x + 1)
            for c in range(4):
                v = cell[c]
                if v < 0:
                    v = 0
                elif v > 255:
                    v = 255
                cell[c] = v
                value[c] = v
            label = _nearest(cells, value)
            if label < 0:
                return -1
            out[y * width + x] = label
            for c in range(4):
                e = cell[c] - <float> cells.colors[4 * label + c]
                share = _FS_RIGHT * e
                cell[4 + c] = cell[4 + c] + share
                share = _FS_BELOW_LEFT * e
                below[4 * x + c] = below[4 * x + c] + share
                share = _FS_BELOW * e
                below[4 * x + 4 + c] = below[4 * x + 4 + c] + share
                share = _FS_BELOW_RIGHT * e
                below[4 * x + 8 + c] = below[4 * x + 8 + c] + share
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
    cdef Py_ssize_t height = pixels.shape[0], width = pixels.shape[1], y, x
    cdef int channels = pixels.shape[2], k = palette.shape[0], i, c, failed = 0
    cdef int n_cells = 1, n_parents = 1
    cdef _Cells cells
    for c in range(channels):
        n_cells *= _CELLS_PER_CHANNEL
        n_parents *= _PARENTS_PER_CHANNEL
    cells.k, cells.channels, cells.palette = k, channels, &palette[0, 0]
    cells.used, cells.capacity = 0, 0
    cells.lists = NULL
    cells.colors = <double *> calloc(4 * k, sizeof(double))
    cells.start = <Py_ssize_t *> calloc(n_cells, sizeof(Py_ssize_t))
    cells.parent_start = <Py_ssize_t *> calloc(n_parents, sizeof(Py_ssize_t))
    cdef float *rows = <float *> malloc(2 * 4 * (width + 2) * sizeof(float))
    cdef int *out = <int *> malloc(height * width * sizeof(int))
    try:
        if not (cells.colors and cells.start and cells.parent_start and rows and out):
            raise MemoryError()
        for i in range(k):
            for c in range(channels):
                cells.colors[4 * i + c] = palette[i, c]
        with nogil:
            failed = _diffuse(pixels, &cells, rows, out)
            if not failed:
                for y in range(height):
                    for x in range(width):
                        labels[y, x] = <label_t> out[y * width + x]
        if failed:
            raise MemoryError()
    finally:
        free(cells.colors)
        free(cells.start)
        free(cells.parent_start)
        free(cells.lists)
        free(rows)
        free(out)
