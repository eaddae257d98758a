"""Pillow format plugin: ``Image.open("x.ccz")`` and ``im.save("x.ccz", colors=16)``.

Call `register()` (``import ccodec`` already does) to make Pillow aware of
.ccz. Opened files have mode P with the palette for RGB and RGBA files (and
per-entry transparency for the latter) up to 256 colours, RGB or RGBA above
(Pillow's palettes stop at 256), and mode L or LA for grey files. The ICC
profile and text entries go in ``im.info``, as Pillow's PNG plugin puts
them. A damaged file raises ``OSError`` with the decoder's message; data
that is not .ccz at all makes Pillow move on to its other plugins.

Pillow's conventions: ``im.verify()`` decodes the payload and checks its
checksums, raising ``SyntaxError`` for a damaged file as the PNG plugin
does (the header, palette and length are checked by ``Image.open``
already). ``ImageFile.Parser`` works: the decoder takes pushed data and
decodes once the whole file has arrived. ``ImageFile.LOAD_TRUNCATED_IMAGES``
has no effect: a truncated .ccz is refused when opened, because neither
coding gives rows reliably without the payload's end (rANS decodes from
the final state, and the zstd frame's checksum covers all rows).
"""

from __future__ import annotations

import os

from PIL import Image, ImageFile, ImagePalette

from .ccz import (
    HEADER_SIZE,
    SIGNATURE,
    decode,
    read_container,
    read_header,
)
from .encoder import encode
from .errors import CczError
from .model import BYTE_PALETTE_SIZE, pillow_info

__all__ = ["CczImageFile", "register"]

FORMAT = "CCZ"


def _accept(prefix: bytes) -> bool:
    # Four bytes, so that a signature damaged in transfer still reaches _open
    # and gets its own error instead of "cannot identify image file".
    return prefix[:4] == SIGNATURE[:4]


class CczImageFile(ImageFile.ImageFile):
    format = FORMAT
    format_description = "ccodec quantized image"

    def _open(self) -> None:
        fp = self.fp
        if fp is None:  # Pillow opens the file before it asks a plugin
            raise SyntaxError("no file to read a .ccz image from")
        start = fp.tell()
        try:
            head = fp.read(HEADER_SIZE)
            header = read_header(head, max_pixels=None)
            prefix = head + fp.read(header.payload_offset - len(head))
            file_size = fp.seek(0, os.SEEK_END) - start
            # Header, palette, CRC and file length are all checked here, before
            # Pillow allocates the image in load(): a damaged 50-byte file must
            # not cost hundreds of megabytes before it is refused.
            header, palette, metadata = read_container(prefix, file_size=file_size, max_pixels=None)
        except CczError as exc:
            raise OSError(str(exc)) from exc
        self._size = (header.width, header.height)
        self.info.update(pillow_info(metadata))
        # Every text entry, also those named like a key Pillow interprets.
        self.text = {key: value for key, value in metadata.items() if key != "icc_profile"}
        self.info["ccz_version"] = (header.major, header.minor)
        self.info["colors"] = header.k
        if header.channels >= 3 and header.k <= BYTE_PALETTE_SIZE:
            # Alpha travels as per-entry transparency, as Pillow's PNG plugin
            # does, so convert("RGBA") and saving as PNG (tRNS) both keep it.
            self._mode = "P"
            self.palette = ImagePalette.raw("RGB", palette[:, :3].tobytes())
            if header.channels == 4:
                self.info["transparency"] = palette[:, 3].tobytes()
        else:
            self._mode = header.mode
        self.tile = [ImageFile._Tile("ccz", (0, 0) + self.size, start, (self._mode,))]

    def verify(self) -> None:
        """Decode the payload and check its checksums; `SyntaxError` if it is damaged.

        As for other plugins, call it right after opening; the file is
        closed afterwards (open it again to load it).
        """
        if self.fp is None:
            raise RuntimeError("verify must be called directly after open")
        self.fp.seek(self.tile[0].offset)
        try:
            decode(self.fp.read(), max_pixels=None)
        except CczError as exc:
            raise SyntaxError(f"broken CCZ file: {exc}") from exc
        super().verify()


class CczDecoder(ImageFile.PyDecoder):
    """Decodes a whole .ccz file: read from the file by ``load()``, or pushed in pieces
    by ``ImageFile.Parser`` (nothing is decoded before the last byte has arrived)."""

    _pulls_fd = True

    def decode(
        self, buffer: bytes | bytearray | memoryview | Image.SupportsArrayInterface
    ) -> tuple[int, int]:
        (mode,) = self.args
        if self.fd is not None:
            data = self.fd.read()
        else:
            if not isinstance(buffer, (bytes, bytearray, memoryview)):
                raise TypeError(f"a .ccz decoder is fed bytes, not {type(buffer).__name__}")
            chunk = bytes(buffer)
            pushed = self._pushed = getattr(self, "_pushed", b"") + chunk
            if len(pushed) < _file_size(pushed):
                return len(chunk), 0  # all taken; more to come
            data = pushed
        try:
            # Pillow's own MAX_IMAGE_PIXELS check already ran on the size.
            q = decode(data, max_pixels=None)
        except CczError as exc:
            raise OSError(str(exc)) from exc
        raw = q.labels if mode == "P" else q.to_array()
        self.set_as_raw(raw.tobytes(), mode)
        return -1, 0


def _file_size(head: bytes) -> int:
    """The length the header at the start of `head` announces; more than `head` while unknown."""
    if len(head) < HEADER_SIZE:
        return HEADER_SIZE
    try:
        return read_header(head[:HEADER_SIZE], max_pixels=None).file_size
    except CczError as exc:
        raise OSError(str(exc)) from exc


def _save(im: Image.Image, fp, filename: str | bytes) -> None:
    info = im.encoderinfo
    # 256 by default, as before 16-bit indices: Pillow's own palette size.
    colors = info.get("colors", BYTE_PALETTE_SIZE)
    fp.write(
        encode(
            im,
            colors,
            seed=info.get("seed", 0),
            max_iter=info.get("max_iter", 300),
            level=info.get("level"),
            coding=info.get("coding", "auto"),
        )
    )


def register() -> None:
    """Make Pillow open and save .ccz files; safe to call more than once."""
    Image.register_open(FORMAT, CczImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, ".ccz")
    Image.register_mime(FORMAT, "image/x-ccz")
    Image.register_decoder("ccz", CczDecoder)
