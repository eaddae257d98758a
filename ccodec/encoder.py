"""Image in, .ccz bytes out: the one encode path, at a fixed K or at a quality target.

`encode_pixels` joins the quantizer (or the target search), dithering,
metadata and the container; `encode_image` and `encode` (the Python API),
the command line and batch jobs all go through it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from .ccz import encode_quantized
from .dither import METHODS
from .errors import OptionError
from .images import metadata, profile_fits, to_pixels
from .model import Quantized
from .palettes import map_pixels, remap
from .quantize import DEFAULT_SPEED, quantize, validate_space, validate_speed
from .target import quantize_to_target

__all__ = [
    "EncodeOptions",
    "encode",
    "encode_image",
    "encode_pixels",
    "quantize_pixels",
    "with_metadata",
]


@dataclass(frozen=True)
class EncodeOptions:
    """How to encode an image; the keywords `encode` and `encode_image` take.

    Attributes
    ----------
    k : int or None
        Palette size, 1 to `ccodec.MAX_COLORS`. With a quality target, the
        largest K the search may use (None: 256).
    max_mse, min_psnr : float or None
        A quality target instead of a fixed K: the smallest K whose MSE (on
        the 0-1 scale of `ccodec.mse`) is at most `max_mse`, or whose PSNR in
        dB is at least `min_psnr` (see `ccodec.quantize_to_target`).
    seed, max_iter : int
        As `ccodec.quantize` takes them.
    level : int or None
        zstd level 1-22 for the zstd coding (None: 19, or 9 above 4 megapixels).
    dither_method : str
        ``"none"`` (each pixel to its nearest palette entry, as clustered),
        ``"floyd-steinberg"`` or ``"ordered"``; not with a quality target.
    space : str
        Where k-means measures distances: ``"rgb"`` or ``"oklab"``.
    speed : int
        The quantizer's speed dial, 1 (slowest, lowest error) to
        `ccodec.quantize.FASTEST`, as `ccodec.quantize` takes it.
    strip : bool
        Leave out a PIL image's ICC profile and text entries (kept by default).
    coding : str
        The payload coding, as `ccodec.encode_quantized` takes it.
    stretch : bool
        Passed to `ccodec.to_pixels` (16-bit and float grey ranges).
    palette : numpy.ndarray or None
        Map the image onto these (K, C) uint8 entries instead of quantizing
        (`ccodec.remap`; with any ``dither_method``): not with ``k`` or a
        quality target. The result's mode is the wider of the image's and
        the palette's.
    """

    k: int | None = None
    max_mse: float | None = None
    min_psnr: float | None = None
    seed: int = 0
    max_iter: int = 300
    level: int | None = None
    dither_method: str = "none"
    space: str = "rgb"
    speed: int = DEFAULT_SPEED
    strip: bool = False
    coding: str = "auto"
    stretch: bool = False
    # An array: left out of == and repr (a frozen dataclass compares its fields as tuples).
    palette: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def targeted(self) -> bool:
        """Whether a quality target, not K, decides the palette size."""
        return self.max_mse is not None or self.min_psnr is not None


def encode_pixels(
    pixels: np.ndarray,
    options: EncodeOptions,
    *,
    source: Image.Image | np.ndarray | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> tuple[Quantized, bytes]:
    """Quantize uint8 `pixels` as `options` says; the result and its .ccz bytes.

    Parameters
    ----------
    pixels : numpy.ndarray
        (H, W) or (H, W, C) uint8, as `ccodec.to_pixels` makes them.
    options : EncodeOptions
        A fixed ``k``, or a quality target (``max_mse`` or ``min_psnr``).
    source : PIL.Image.Image, optional
        The image `pixels` came from: its ICC profile and text entries go
        into the result's ``info`` unless ``options.strip``.
    on_progress : callable, optional
        Called with the fraction done, as `ccodec.quantize` takes it (a fixed
        K only: the target search reports nothing).

    Returns
    -------
    tuple of (Quantized, bytes)
        The quantized image (a `ccodec.TargetQuantized` with a target) and
        the .ccz file's bytes.

    Raises
    ------
    OptionError
        An option out of range, no K and no target, or dithering with a target.
    """
    q = quantize_pixels(pixels, options, source=source, on_progress=on_progress)
    return q, encode_quantized(q, level=options.level, coding=options.coding)


def quantize_pixels(
    pixels: np.ndarray,
    options: EncodeOptions,
    *,
    source: Image.Image | np.ndarray | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> Quantized:
    """`encode_pixels` without the container: the quantized image alone, for the writers of
    other formats. Takes and raises as `encode_pixels` does."""
    _check_choices(options)
    q: Quantized
    if options.palette is not None:
        if options.targeted or options.k is not None:
            raise OptionError("a given palette cannot be combined with k or a quality target.")
        q = remap(pixels, options.palette, options.dither_method)
    elif options.targeted:
        if options.dither_method != "none":
            # The target is met by the undithered labels; dithering would raise the error again.
            raise OptionError("dithering cannot be combined with a quality target.")
        # Without K the search stops at quantize_to_target's own default (256).
        cap = {} if options.k is None else {"k_max": options.k}
        q = quantize_to_target(
            pixels,
            max_mse=options.max_mse,
            min_psnr=options.min_psnr,
            seed=options.seed,
            max_iter=options.max_iter,
            space=options.space,
            speed=options.speed,
            **cap,
        )
    else:
        if options.k is None:
            raise OptionError("give k, or a quality target with max_mse or min_psnr.")
        q = quantize(
            pixels,
            options.k,
            seed=options.seed,
            max_iter=options.max_iter,
            space=options.space,
            speed=options.speed,
            on_progress=on_progress,
        )
        if options.dither_method != "none":
            labels = map_pixels(pixels, q.palette, options.dither_method)
            q = Quantized(q.palette, labels, q.seed)
    if not options.strip and isinstance(source, Image.Image):
        q = with_metadata(q, source)
    return q


def encode_image(
    image: Image.Image | np.ndarray,
    k: int | None = None,
    *,
    on_progress: Callable[[float], None] | None = None,
    **options: Any,
) -> tuple[Quantized, bytes]:
    """Quantize `image` to `k` colours, or to a quality target; ``(quantized, ccz_bytes)``.

    The palette is sRGB bytes whatever `space` k-means clusters in, and the
    .ccz holds exactly the (dithered) result.

    Parameters
    ----------
    image : PIL.Image.Image or numpy.ndarray
        Any image `ccodec.to_pixels` takes. A PIL image's ICC profile and PNG
        text entries go into ``quantized.info`` (and the .ccz) unless ``strip``.
    k : int, optional
        Palette size; with ``max_mse`` or ``min_psnr``, the largest allowed.
    on_progress : callable, optional
        Follows the quantization, as `ccodec.quantize` takes it.
    **options
        The other fields of `EncodeOptions`: ``max_mse``, ``min_psnr``,
        ``seed``, ``max_iter``, ``level``, ``dither_method``, ``space``,
        ``strip``, ``coding``, ``stretch``, ``palette``.

    Returns
    -------
    tuple of (Quantized, bytes)

    Raises
    ------
    OptionError
        An option out of range, or neither `k` nor a target.
    InputError
        An image `ccodec.to_pixels` cannot convert.

    >>> q, data = encode_image(np.zeros((4, 4, 3), np.uint8), 16, dither_method="ordered")
    >>> q.k, data[:4]
    (1, b'\\x89CCZ')
    >>> ramp = np.arange(64, dtype=np.uint8).reshape(8, 8)
    >>> q, data = encode_image(ramp, max_mse=1e-4)
    >>> q.k, q.reached
    (8, True)
    """
    settings = EncodeOptions(k=k, **options)
    _check_choices(settings)  # before the image's conversion, which can take long
    pixels = to_pixels(image, stretch=settings.stretch)
    return encode_pixels(pixels, settings, source=image, on_progress=on_progress)


def encode(image: Image.Image | np.ndarray, k: int | None = None, **options: Any) -> bytes:
    """Quantize `image` (a PIL image or a uint8 array) to `k` colours; the .ccz bytes.

    Parameters
    ----------
    image, k, **options
        As `encode_image` takes them: a fixed `k`, or a quality target
        (``max_mse`` or ``min_psnr``, `k` the most allowed).

    Returns
    -------
    bytes
        The .ccz file, the second half of `encode_image`'s result.

    Raises
    ------
    OptionError, InputError
        As `encode_image` raises them.

    >>> data = encode(np.zeros((4, 4, 3), np.uint8), 16)
    >>> data[:4]
    b'\\x89CCZ'
    """
    return encode_image(image, k, **options)[1]


def _check_choices(options: EncodeOptions) -> None:
    """OptionError unless the dither method and the space are ones there are."""
    if options.dither_method not in METHODS:
        raise OptionError(f"dither={options.dither_method!r} is not one of {', '.join(METHODS)}.")
    validate_space(options.space)
    validate_speed(options.speed)


def with_metadata(q: Quantized, image: Image.Image) -> Quantized:
    """`q` carrying `image`'s ICC profile and text entries in ``info``.

    >>> q = quantize(np.zeros((1, 1, 3), np.uint8), 1)
    >>> source = Image.new("RGB", (1, 1))
    >>> source.info["Title"] = "sea"
    >>> with_metadata(q, source).info
    {'Title': 'sea'}
    """
    kept = metadata(image)
    if not profile_fits(kept.get("icc_profile", b""), q.mode):
        # A CMYK or Lab profile describes colours the conversion to q's mode replaced.
        kept.pop("icc_profile", None)
    return dataclasses.replace(q, info={**q.info, **kept})
