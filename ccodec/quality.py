"""pngquant's ``--quality MIN-MAX`` (0-100) and the MSE each end of it means.

The scale is libimagequant's: quality ``q`` is an error limit in its internal
units (``_internal_mse``), whose MSE per channel on the 0-255 scale is that
times 65536/6 (libimagequant's ``mse_to_standard_mse``); ccodec's MSE is on
the 0-1 scale, so divided by 255 squared. MAX is the target (the smallest K
that meets it); MIN the worst accepted: missing it writes nothing.

>>> parse_quality("60-80"), parse_quality("80"), parse_quality("-80"), parse_quality("60-")
((60, 80), (72, 80), (0, 80), (60, 100))
>>> quality_to_mse(100), quality_to_mse(0)
(0.0, inf)
"""

from __future__ import annotations

import math
import re

from .errors import OptionError

__all__ = ["parse_quality", "quality_to_mse"]

_STANDARD_PER_INTERNAL = 65536 / 6  # libimagequant's mse_to_standard_mse
_FORM = re.compile(r"(-?\d+)(-(\d*))?")


def parse_quality(text: str) -> tuple[int, int]:
    """(MIN, MAX) from pngquant's forms: ``MIN-MAX``; ``MAX`` (MIN is 90% of it, rounded
    down); ``-MAX`` (MIN 0); ``MIN-`` (MAX 100). OptionError for anything else."""
    match = _FORM.fullmatch(text.strip())
    if match is None:
        raise OptionError(f"--quality {text!r}: give MIN-MAX, MAX, -MAX or MIN- (0-100)")
    first, dash, second = match.groups()
    if dash is None:
        number = int(first)
        low, high = (0, -number) if number < 0 else (number * 9 // 10, number)
    elif second == "":
        low, high = int(first), 100
    else:
        low, high = int(first), int(second)
    if not (0 <= low <= high <= 100):
        raise OptionError(f"--quality {text!r}: needs 0 <= MIN <= MAX <= 100")
    return low, high


def quality_to_mse(quality: int) -> float:
    """The largest MSE (0-1 scale, as `ccodec.mse`) that pngquant's `quality` accepts:
    0 for 100, no limit (inf) for 0."""
    if quality == 0:
        return math.inf
    return _internal_mse(quality) * _STANDARD_PER_INTERNAL / 255**2


def _internal_mse(quality: int) -> float:
    # libimagequant's curve, "roughly similar to quality of libjpeg", with its low-end fudge.
    if quality >= 100:
        return 0.0
    low_end = max(0.0, 0.016 / (0.001 + quality) - 0.001)
    return low_end + 2.5 / (210.0 + quality) ** 1.2 * (100.1 - quality) / 100.0
