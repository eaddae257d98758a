"""Encode and decode speed and size of .ccz against the same quantized image as PNG-8.

    python benchmarks/codec.py                       # the bundled sample at K = 2, 16, 50, 256
    python benchmarks/codec.py --image photo.jpg -k 16 --repeat 200

For each K: the .ccz size and the size of the same quantized image as an
optimized palette PNG (Pillow, optimize=True); the time to quantize, to
encode the container, and to decode each file to an (H, W, C) array.
Times are the median of --repeat runs in this one process.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from importlib.resources import files
from pathlib import Path

import numpy as np
from PIL import Image

import ccodec


def _median_ms(function, repeat: int) -> float:
    function()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return 1000 * statistics.median(samples)


def _png8(q: ccodec.Quantized) -> bytes:
    image = Image.fromarray(q.labels, "P")
    image.putpalette(np.resize(q.palette, (q.k, 3)).tobytes() if q.channels >= 3 else b"")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, default=None, help="default: the bundled sample")
    parser.add_argument("-k", default="2,16,50,256", help="comma-separated K values")
    parser.add_argument("--repeat", type=int, default=100)
    args = parser.parse_args()

    path = args.image or files("ccodec") / "data" / "astronaut.png"
    with Image.open(path) as image:
        pixels = ccodec.to_pixels(image)
    if pixels.shape[2] not in (3,):
        raise SystemExit("this benchmark compares with PNG-8 and needs an RGB image")
    height, width = pixels.shape[:2]
    print(f"{Path(str(path)).name}: {width}x{height}, median of {args.repeat} runs\n")
    print(
        "| K | .ccz bytes | PNG-8 bytes | ccz/PNG | quantize ms | container encode ms "
        "| ccz decode ms | PNG-8 decode ms | decode ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for k in (int(value) for value in args.k.split(",")):
        start = time.perf_counter()
        q = ccodec.quantize(pixels, k, seed=0)
        quantize_ms = 1000 * (time.perf_counter() - start)
        data = ccodec.encode_quantized(q)
        png = _png8(q)
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), q.to_array())
        encode_ms = _median_ms(lambda q=q: ccodec.encode_quantized(q), max(3, args.repeat // 20))
        ccz_ms = _median_ms(lambda data=data: ccodec.decode(data).to_array(), args.repeat)
        png_ms = _median_ms(
            lambda png=png: np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), args.repeat
        )
        print(
            f"| {k} | {len(data):,} | {len(png):,} | {len(data) / len(png):.3f} "
            f"| {quantize_ms:.0f} | {encode_ms:.1f} | {ccz_ms:.2f} | {png_ms:.2f} "
            f"| {ccz_ms / png_ms:.2f} |"
        )


if __name__ == "__main__":
    main()
