"""ccodec: k-means colour quantization and the .ccz image format.

>>> import numpy as np, ccodec
>>> q = ccodec.quantize(np.zeros((2, 2, 3), np.uint8), 16, seed=0)
>>> ccodec.decode(ccodec.encode_quantized(q)) == q
True
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    from . import _core  # noqa: F401  -- the compiled loops; no slow fallback stands in
except ImportError as exc:
    raise ImportError(
        f"ccodec's compiled module ccodec._core cannot be loaded ({exc}); install ccodec from "
        "source with a C compiler present: pip install ."
    ) from None
from .ccz import DEFAULT_MAX_PIXELS, Header, decode, encode_quantized, read_header
from .dropin import quantize_image
from .encoder import encode, encode_image
from .errors import (
    CczError,
    ChecksumError,
    CorruptError,
    FormatError,
    InputError,
    LimitError,
    NotCczError,
    OptionError,
    OutputError,
    QualityTooLowError,
    TruncatedError,
    UnsupportedError,
)
from .images import open_image, to_pixels
from .metrics import bits_per_pixel, mse, psnr
from .model import MAX_COLORS, Quantized
from .palettes import palette_of, quantize_many, remap, shared_palette
from .pillow_plugin import register
from .quality import quality_to_mse
from .quantize import quantize
from .target import TargetQuantized, quantize_to_target

try:
    __version__ = version("ccodec")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MAX_COLORS",
    "ChecksumError",
    "CczError",
    "CorruptError",
    "FormatError",
    "Header",
    "InputError",
    "LimitError",
    "NotCczError",
    "OptionError",
    "OutputError",
    "QualityTooLowError",
    "Quantized",
    "TargetQuantized",
    "TruncatedError",
    "UnsupportedError",
    "bits_per_pixel",
    "decode",
    "encode",
    "encode_image",
    "encode_quantized",
    "mse",
    "open_image",
    "palette_of",
    "psnr",
    "quality_to_mse",
    "quantize",
    "quantize_image",
    "quantize_many",
    "quantize_to_target",
    "read_header",
    "register",
    "remap",
    "shared_palette",
    "to_pixels",
]

register()
