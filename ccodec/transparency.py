"""Fully transparent pixels: their colour is invisible, so free to change (as in pngquant).

Before the histogram every alpha-0 pixel becomes one colour, so no palette
entry is spent on colours nobody sees; when mapping to a given palette,
alpha-0 pixels go to its first alpha-0 entry. `ccodec.mse` with
``ignore_transparent=True`` measures the result the same way.
"""

from __future__ import annotations

import numpy as np

__all__ = ["clear_hidden", "first_transparent", "has_alpha", "hidden"]


def has_alpha(channels: int) -> bool:
    """Whether pixels with this many channels (LA, RGBA) carry alpha, last."""
    return channels in (2, 4)


def hidden(pixels: np.ndarray) -> np.ndarray | None:
    """Where alpha is 0 in (..., C) pixels: a boolean array over (...), or None without alpha."""
    if pixels.ndim < 2 or not has_alpha(pixels.shape[-1]):
        return None
    return pixels[..., -1] == 0


def clear_hidden(pixels: np.ndarray, fill: np.ndarray | None = None) -> np.ndarray:
    """`pixels` (..., C) with every alpha-0 pixel set to `fill` (all zeros by default).

    The same array when nothing changes (no alpha, or every hidden pixel is `fill` already).

    >>> clear_hidden(np.array([[9, 9, 0], [5, 5, 5]], np.uint8)[:, [0, 1, 1, 2]]).tolist()
    [[0, 0, 0, 0], [5, 5, 5, 5]]
    """
    mask = hidden(pixels)
    if mask is None:
        return pixels
    value = np.zeros(pixels.shape[-1], np.uint8) if fill is None else fill
    if not np.any(pixels[mask] != value):
        return pixels
    cleared = pixels.copy()
    cleared[mask] = value
    return cleared


def first_transparent(palette: np.ndarray) -> int | None:
    """The index of the first alpha-0 entry of a (K, C) palette, or None."""
    if not has_alpha(palette.shape[1]):
        return None
    found = np.flatnonzero(palette[:, -1] == 0)
    return int(found[0]) if len(found) else None
