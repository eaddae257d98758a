# Palette lookup (labels -> pixels): called by Quantized.to_array, which checks the shapes and
# that every label is below K (decoders only return such labels).


def palette_lookup(const label_t[:, ::1] labels, const uint8_t[:, ::1] palette,
                   uint8_t[:, :, ::1] out):
    """Write palette[labels] into `out` (H, W, C), with no temporary the size of the image."""
    cdef Py_ssize_t height = labels.shape[0], width = labels.shape[1], y, x
    cdef Py_ssize_t channels = palette.shape[1], c
    cdef const uint8_t *entry
    if out.shape[0] != height or out.shape[1] != width or out.shape[2] != channels:
        raise ValueError("out must have shape (H, W, C) of labels and palette")
    with nogil:
        for y in range(height):
            for x in range(width):
                entry = &palette[labels[y, x], 0]
                for c in range(channels):
                    out[y, x, c] = entry[c]
