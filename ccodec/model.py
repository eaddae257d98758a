"""The data model every stage shares: `Quantized` (a palette and its labels), modes and limits.

The quantizer makes a `Quantized`, the container stores one, the writers
and the Pillow plugin turn one into images; none of them needs the k-means.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _core
from .errors import OptionError

__all__ = ["BYTE_PALETTE_SIZE", "MAX_COLORS", "MODES", "Quantized", "label_dtype", "pillow_info"]

#: The largest K: labels are uint8 up to 256 palette entries, uint16 above.
MAX_COLORS = 65536

#: The Pillow mode of an image with this many channels.
MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}

#: The most entries 8-bit indices address: uint8 labels, and Pillow's (PNG's,
#: GIF's) palettes. Larger palettes get uint16 labels and RGB(A) images.
BYTE_PALETTE_SIZE = 256

# Keys Pillow's savers and converters give a meaning to: a text entry of a
# decoded file named like one ("transparency") must not reach them.
PILLOW_INFO_KEYS = frozenset(
    {"aspect", "background", "ccz_version", "colors", "compression", "dpi", "duration",
     "exif", "gamma", "loop", "progressive", "quality", "transparency", "xmp"}
)  # fmt: skip


def pillow_info(info: dict) -> dict:
    """The entries of `info` that are safe in a PIL image's ``info``.

    >>> pillow_info({"Title": "sea", "transparency": "0"})
    {'Title': 'sea'}
    """
    return {key: value for key, value in info.items() if key not in PILLOW_INFO_KEYS}


def label_dtype(k: int) -> type:
    """uint8 labels for up to `BYTE_PALETTE_SIZE` palette entries, uint16 above."""
    return np.uint8 if k <= BYTE_PALETTE_SIZE else np.uint16


@dataclass(frozen=True, eq=False)
class Quantized:
    """An image reduced to a palette: ``palette[labels]`` is the image.

    Attributes
    ----------
    palette : numpy.ndarray
        (K, C) uint8, C from 1 to 4 (the mode L, LA, RGB or RGBA).
    labels : numpy.ndarray
        (H, W) indices into the palette: uint8 when K <= 256, uint16 above.
    seed : int or None
        The seed that produced it (None when decoded).
    info : dict
        Metadata the way Pillow's ``Image.info`` carries it (``"icc_profile"``
        as bytes, text entries as str); it never affects pixels, nor equality.

    >>> q = Quantized(np.zeros((1, 3), np.uint8), np.zeros((2, 3), np.uint8))
    >>> q.k, q.mode, q.to_array().shape
    (1, 'RGB', (2, 3, 3))
    """

    palette: np.ndarray
    labels: np.ndarray
    seed: int | None = None
    info: dict = field(default_factory=dict, compare=False)

    @property
    def k(self) -> int:
        """The number of palette entries."""
        return int(self.palette.shape[0])

    @property
    def channels(self) -> int:
        return int(self.palette.shape[1])

    @property
    def mode(self) -> str:
        """The Pillow mode of the image: L, LA, RGB or RGBA."""
        return MODES[self.channels]

    @property
    def height(self) -> int:
        return int(self.labels.shape[0])

    @property
    def width(self) -> int:
        return int(self.labels.shape[1])

    def to_array(self) -> np.ndarray:
        """The quantized pixels: (H, W, C) uint8, or (H, W) for one channel."""
        labels = np.ascontiguousarray(self.labels)
        if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
            raise OptionError(
                f"labels must be an (H, W) integer array, not {labels.dtype} "
                f"of shape {labels.shape}."
            )
        # Unsigned labels need no lower bound, nor an upper one when their dtype cannot exceed K.
        signed = np.issubdtype(labels.dtype, np.signedinteger)
        can_exceed = signed or np.iinfo(labels.dtype).max >= self.k
        if labels.size and (
            (signed and labels.min() < 0) or (can_exceed and labels.max() >= self.k)
        ):
            raise OptionError(f"labels must lie in 0..{self.k - 1}.")
        if labels.dtype not in (np.uint8, np.uint16):
            labels = labels.astype(label_dtype(self.k))
        pixels = np.empty((*labels.shape, self.channels), np.uint8)
        # Compiled: a gather with no temporary the size of the image.
        _core.palette_lookup(labels, np.ascontiguousarray(self.palette, np.uint8), pixels)
        return pixels[..., 0] if self.channels == 1 else pixels

    def to_image(self, mode: str | None = None):
        """The quantized pixels as a PIL image.

        Parameters
        ----------
        mode : {None, "P"}
            None: mode `mode` (L, LA, RGB or RGBA). ``"P"``: a palette image
            with this palette, for up to 256 entries; grey entries become
            R = G = B, and alpha goes into ``info["transparency"]`` as one
            byte per entry (Pillow's way: saved as PNG's tRNS, kept by
            ``convert("RGBA")``) when some entry is not opaque.

        Raises
        ------
        OptionError
            Mode P with more than 256 entries, or another mode.

        >>> q = Quantized(np.array([[0, 0], [255, 255]], np.uint8), np.eye(2, dtype=np.uint8))
        >>> image = q.to_image("P")
        >>> image.mode, image.info["transparency"], image.getpalette()[:6]
        ('P', b'\\x00\\xff', [0, 0, 0, 255, 255, 255])
        """
        from PIL import Image

        if mode == "P":
            image = self._palette_image()
        elif mode is None or mode == self.mode:
            image = Image.fromarray(self.to_array(), self.mode)
        else:
            raise OptionError(f"mode={mode!r}: to_image makes mode P or {self.mode}, not {mode}.")
        image.info.update(pillow_info(self.info))
        return image

    def _palette_image(self):
        from PIL import Image

        if self.k > BYTE_PALETTE_SIZE:
            raise OptionError(
                f"mode P holds at most {BYTE_PALETTE_SIZE} palette entries and this image has "
                f"{self.k}; use to_image() for {self.mode}, or quantize to 256 colours or fewer."
            )
        self.to_array()  # the labels' checks, before they become indices
        labels = np.ascontiguousarray(self.labels, np.uint8)
        image = Image.frombytes("P", (self.width, self.height), labels.tobytes())
        colour = self.palette[:, :3] if self.channels >= 3 else self.palette[:, :1].repeat(3, 1)
        image.putpalette(np.ascontiguousarray(colour).tobytes(), "RGB")
        if self.channels in (2, 4) and np.any(self.palette[:, -1] != 255):
            image.info["transparency"] = self.palette[:, -1].tobytes()
        return image

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantized):
            return NotImplemented
        return np.array_equal(self.palette, other.palette) and np.array_equal(
            self.labels, other.labels
        )

    __hash__ = None  # type: ignore[assignment]
