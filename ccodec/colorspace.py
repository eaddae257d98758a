"""sRGB to OKLab and back, for clustering colours where distances follow perception.

OKLab is Björn Ottosson's space (https://bottosson.github.io/posts/oklab/):
sRGB values are linearised with the sRGB transfer function, mixed into LMS
cone responses, cube-rooted, and mixed again into L (lightness, 0 to 1 from
black to white) and a, b (green-red and blue-yellow, about -0.4 to 0.4).

Arrays hold floats with channels last, in the quantizer's layouts:

    C = 3  R, G, B   <->  L, a, b
    C = 4  R, G, B, A <->  L, a, b, A     alpha passes through unchanged
    C = 1  grey      <->  L               a = b = 0 for every grey
    C = 2  grey, A   <->  L, A

sRGB values are on the [0, 1] scale. The inverse uses the exact inverses of
the forward matrices, so a round trip returns the input to float precision;
OKLab points outside the sRGB gamut come back outside [0, 1], and
`oklab_palette_to_srgb` clips them when it makes a uint8 palette.
"""

from __future__ import annotations

import numpy as np

from .errors import OptionError

__all__ = ["oklab_palette_to_srgb", "oklab_to_srgb", "srgb_to_oklab"]

# Linear sRGB -> LMS, and cube-rooted LMS -> Lab (Ottosson's published values).
_RGB_TO_LMS = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ]
)
_LMS_TO_LAB = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ]
)
_LMS_TO_RGB = np.linalg.inv(_RGB_TO_LMS)
_LAB_TO_LMS = np.linalg.inv(_LMS_TO_LAB)


def srgb_to_oklab(values: np.ndarray) -> np.ndarray:
    """OKLab (float64) of sRGB `values` on the [0, 1] scale, channels last (C in 1..4).

    >>> np.round(srgb_to_oklab(np.array([1.0, 0.0, 0.0])), 5)
    array([0.62796, 0.22486, 0.12585])
    """
    values, colour = _split(values)
    linear = _linearise(values[..., :colour])
    lab = np.cbrt(linear) if colour == 1 else _mix(np.cbrt(_mix(linear, _RGB_TO_LMS)), _LMS_TO_LAB)
    return _join(lab, values, colour)


def oklab_to_srgb(values: np.ndarray) -> np.ndarray:
    """sRGB (float64, [0, 1] inside the gamut) of OKLab `values`: the inverse of `srgb_to_oklab`.

    >>> oklab_to_srgb(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])).round(6) + 0
    array([[1., 1., 1.],
           [0., 0., 0.]])
    """
    values, colour = _split(values)
    lab = values[..., :colour]
    linear = lab**3 if colour == 1 else _mix(_mix(lab, _LAB_TO_LMS) ** 3, _LMS_TO_RGB)
    return _join(_encode(linear), values, colour)


def oklab_palette_to_srgb(palette: np.ndarray) -> np.ndarray:
    """A (K, C) uint8 sRGB palette from centres found in OKLab, clipped to the gamut and rounded.

    >>> oklab_palette_to_srgb(np.array([[0.62796, 0.22486, 0.12585], [1.2, 0.0, 0.0]]))
    array([[255,   0,   0],
           [255, 255, 255]], dtype=uint8)
    """
    palette = np.asarray(palette, np.float64)
    if palette.ndim != 2:
        raise OptionError(f"palette must have shape (K, C), not {palette.shape}.")
    srgb = oklab_to_srgb(palette)
    return np.rint(np.clip(srgb, 0, 1) * 255).astype(np.uint8)


def _split(values: object) -> tuple[np.ndarray, int]:
    """`values` as float64 and the number of colour channels (1 or 3) before any alpha."""
    array = np.asarray(values)
    if not np.issubdtype(array.dtype, np.floating):
        # uint8 pixels are 0..255; taking them as [0, 1] values would be silently wrong.
        raise OptionError(f"colour values must be floats on the [0, 1] scale, not {array.dtype}.")
    if array.ndim == 0 or not 1 <= array.shape[-1] <= 4:
        raise OptionError(f"colour values need 1 to 4 channels last, not shape {array.shape}.")
    return array.astype(np.float64), 1 if array.shape[-1] <= 2 else 3


def _mix(values: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``values @ matrix.T`` over the last axis; einsum, not `@`, which starts BLAS threads
    for this tiny product."""
    return np.einsum("...j,kj->...k", values, matrix)


def _join(colour: np.ndarray, values: np.ndarray, channels: int) -> np.ndarray:
    """The converted colour channels followed by the input's alpha, if any."""
    if values.shape[-1] == channels:
        return colour
    return np.concatenate([colour, values[..., channels:]], axis=-1)


def _linearise(srgb: np.ndarray) -> np.ndarray:
    """The sRGB transfer function undone; odd-symmetric so values past 0 stay finite."""
    magnitude = np.abs(srgb)
    linear = np.where(magnitude <= 0.04045, magnitude / 12.92, ((magnitude + 0.055) / 1.055) ** 2.4)
    return np.copysign(linear, srgb)


def _encode(linear: np.ndarray) -> np.ndarray:
    """The sRGB transfer function, odd-symmetric like `_linearise`."""
    magnitude = np.abs(linear)
    srgb = np.where(
        magnitude <= 0.0031308, magnitude * 12.92, 1.055 * magnitude ** (1 / 2.4) - 0.055
    )
    return np.copysign(srgb, linear)
