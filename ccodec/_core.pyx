"""ccodec's compiled loops: the sequential work NumPy cannot vectorise.

One extension module, built from Cython by ``pip install .``; each job lives in
its own include file beside this one, and its Python caller (which validates
every argument first) is named there.
"""

# cython: language_level=3

include "_core_dither.pxi"
include "_core_coder.pxi"
