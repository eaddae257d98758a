# Palette lookup (labels -> pixels): called by Quantized.to_array, which checks the shapes and
# that every label is below K (decoders only return such labels).

from libc.string cimport memcpy


def palette_lookup(const label_t[:, ::1] labels, const uint8_t[:, ::1] palette,
                   uint8_t[:, :, ::1] out):
    """Write palette[labels] into `out` (H, W, C), with no temporary the size of the image."""
    cdef Py_ssize_t height = labels.shape[0], width = labels.shape[1], y, x
    cdef Py_ssize_t channels = palette.shape[1], c
    cdef const uint8_t *entry
    cdef const label_t *row
    cdef uint8_t *pixel
    if out.shape[0] != height or out.shape[1] != width or out.shape[2] != channels:
        raise ValueError("out must have shape (H, W, C) of labels and palette")
    if height == 0 or width == 0 or channels == 0:
        return
    with nogil:
        for y in range(height):
            row = &labels[y, 0]
            pixel = &out[y, 0, 0]
            # RGB and RGBA with the channel count fixed, so each pixel is a few plain stores.
            if channels == 3:
                for x in range(width):
                    entry = &palette[row[x], 0]
                    pixel[0] = entry[0]
                    pixel[1] = entry[1]
                    pixel[2] = entry[2]
                    pixel += 3
            elif channels == 4:
                for x in range(width):
                    memcpy(pixel, &palette[row[x], 0], 4)
                    pixel += 4
            else:
                for x in range(width):
                    entry = &palette[row[x], 0]
                    for c in range(channels):
                        pixel[c] = entry[c]
                    pixel += channels
