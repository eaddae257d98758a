"""ccodec's compiled loops: the sequential work NumPy cannot vectorise.

One extension module, built from Cython by ``pip install .``; each job lives in
its own include file beside this one, and its Python caller (which validates
every argument first) is named there.
"""

# cython: language_level=3

from libc.stdint cimport uint8_t, uint16_t

# A label map's element: 8-bit indices up to K = 256, 16-bit above (model.label_dtype).
ctypedef fused label_t:
    uint8_t
    uint16_t

include "_core_dither.pxi"
include "_core_coder.pxi"
include "_core_palette.pxi"
