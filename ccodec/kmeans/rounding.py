"""Points and palettes: colours to the space clustered in, and centres back to 8-bit sRGB.

With ``space="oklab"`` points are OKLab coordinates (`ccodec.colorspace`);
rounding turns centres into sRGB bytes and re-assigns and re-centres by
those bytes' OKLab coordinates, so every colour ends on the palette entry
nearest to it in OKLab.
"""

from __future__ import annotations

import numpy as np

from ..colorspace import oklab_palette_to_srgb, srgb_to_oklab
from ..model import label_dtype
from .lloyd import LloydState

__all__ = ["round_palette", "to_points"]

# Re-centre-and-round steps after rounding the centres (each kept only if it
# lowers the error; rarely more than one helps).
_ROUNDING_STEPS = 3


def to_points(colors: np.ndarray, space: str) -> np.ndarray:
    """The float32 points clustered for (M, C) colours on 0..255 (uint8 or whole floats)."""
    if space == "rgb":
        return colors.astype(np.float32) / 255
    return srgb_to_oklab(colors.astype(np.float64) / 255).astype(np.float32)


def _to_palette(centers: np.ndarray, space: str) -> np.ndarray:
    """The nearest sRGB bytes (as float32 values 0..255) of centres in `space`."""
    if space == "rgb":
        return np.clip(np.rint(centers * 255), 0, 255)
    return oklab_palette_to_srgb(centers).astype(np.float32)


def round_palette(state: LloydState, space: str) -> tuple[np.ndarray, np.ndarray]:
    """Round centres to 8 bits, then re-assign and re-centre while the error falls.

    Rounding moves every centre by up to half a level per channel; assigning
    the colours to the rounded palette (not keeping the float labels) and
    re-centring once or twice wins back most of that loss. Assignments,
    means and the error are all measured in `space`, the one clustered; the
    error comes from the clusters' sums (`LloydState.inertia`), in O(K), not
    from another pass over every colour.
    """
    palette = _to_palette(state.centers, space)
    state.move(to_points(palette, space))
    error = state.inertia()
    for _ in range(_ROUNDING_STEPS):
        means, _ = state.means()
        candidate = _to_palette(means, space)
        if np.array_equal(candidate, palette):
            break
        labels = state.labels.copy()
        state.move(to_points(candidate, space))
        new_error = state.inertia()
        if new_error >= error:
            state.labels = labels
            break
        palette, error = candidate, new_error
    return palette.astype(np.uint8), state.labels.astype(label_dtype(len(palette)))
