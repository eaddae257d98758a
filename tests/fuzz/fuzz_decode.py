"""atheris harness: no bytes may make the .ccz decoder raise an undocumented error.

``ccodec.decode`` may raise only `CczError`; Pillow's ``Image.open`` + ``load``
restricted to the CCZ plugin may raise only ``OSError`` (and Pillow's own
``DecompressionBombError``). Anything else is a finding. A file that decodes
must also survive a re-encode unchanged and give Pillow the same pixels.

    python tests/fuzz/fuzz_decode.py /tmp/ccz-corpus formats/conformance \\
        -max_total_time=660 -rss_limit_mb=4096

The first directory collects new inputs; ``formats/conformance`` is the seed.
"""

from __future__ import annotations

import io
import sys
import warnings

import atheris

with atheris.instrument_imports():
    import numpy as np
    from PIL import Image

    import ccodec
    from ccodec.ccz import encode_quantized

warnings.simplefilter("ignore", Image.DecompressionBombWarning)


def _check_decode(data: bytes) -> ccodec.Quantized | None:
    try:
        q = ccodec.decode(data)
    except ccodec.CczError:
        return None
    again = ccodec.decode(encode_quantized(q))
    if again != q:
        raise AssertionError("decode(encode(decode(data))) differs from decode(data)")
    return q


def _check_pillow(data: bytes, q: ccodec.Quantized | None) -> None:
    try:
        with Image.open(io.BytesIO(data), formats=["CCZ"]) as im:
            im.load()
            pixels = np.asarray(im)
    except (OSError, Image.DecompressionBombError):
        return
    if q is None:
        # Pillow reads with no pixel limit of its own beyond MAX_IMAGE_PIXELS.
        q = ccodec.decode(data, max_pixels=None)
    expected = q.labels if im.mode == "P" else q.to_array()
    if not np.array_equal(pixels, expected):
        raise AssertionError("Pillow's pixels differ from ccodec.decode's")


def test_one_input(data: bytes) -> None:
    _check_pillow(data, _check_decode(data))


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
