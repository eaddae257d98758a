"""Builds ccodec's one compiled module, ccodec._core, from Cython; the rest is in pyproject.toml.

CCODEC_SANITIZE=address builds it with AddressSanitizer (for the fuzz and conformance runs in
README's Development section); release builds use no machine-specific flags.
"""

import os

from Cython.Build import cythonize
from setuptools import Extension, setup

# No fused multiply-add: dithering must round each float product before its sum, as NumPy does.
exact_float = ["-ffp-contract=off"]
compile_args = ["-O3", *exact_float]
link_args: list[str] = []
sanitize = os.environ.get("CCODEC_SANITIZE", "")
if sanitize:
    compile_args = ["-O1", "-g", "-fno-omit-frame-pointer", f"-fsanitize={sanitize}", *exact_float]
    link_args = [f"-fsanitize={sanitize}"]

core = Extension(
    "ccodec._core",
    ["ccodec/_core.pyx"],
    extra_compile_args=compile_args,
    extra_link_args=link_args,
)

setup(
    ext_modules=cythonize(
        [core],
        language_level=3,
        compiler_directives={
            # Every index is checked by hand where it comes from a file; the checks stay on
            # in the sanitizer build so that a missed one is an error there, not silence.
            "boundscheck": bool(sanitize),
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": bool(sanitize),
        },
    )
)
