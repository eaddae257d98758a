"""Encode and decode time and size of .ccz against the same quantized image as PNG-8 and WebP.

    python benchmarks/codec.py                       # the bundled sample at K = 2, 16, 50, 256
    python benchmarks/codec.py --image photo.jpg -k 16 --repeat 200
    python benchmarks/codec.py --corpus              # every corpus image at K = 4, 16, 64, 256
    python benchmarks/codec.py --scale -k 16,256     # the 24-megapixel image

For each image and K: the .ccz size (``coding="auto"``: the smaller of zstd
and rANS) and the size of the same quantized image as an optimized palette
PNG (Pillow, optimize=True); the time to quantize, to encode the container
(`ccodec.encode_quantized`), and to decode each file to an (H, W, C) array,
the .ccz against lossless WebP of the same pixels (Pillow, method 6, exact)
decoded by Pillow to an array: "ccz / WebP" is the ratio of the best of
--repeat runs of each, interleaved (one .ccz decode, one WebP decode, ...).
Quantize and encode are timed on the process's CPU clock (BLAS threads
included) and on the wall clock, best of --repeat-encode runs; .ccz decodes
are the median of --repeat runs (wall) and the best of 5 on the CPU clock.
"encode / quantize" is the CPU-time ratio: the issue's goal is that encoding
adds no more than quantizing costs; "ns/pixel" is the .ccz decode's best time
per pixel.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from importlib.resources import files
from pathlib import Path

import numpy as np
from PIL import Image

import ccodec

_REPO = Path(__file__).resolve().parent.parent
_CORPUS_KS = "4,16,64,256"


def _median_ms(function, repeat: int) -> float:
    function()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return 1000 * statistics.median(samples)


def _best(function, repeat: int) -> tuple[float, float, object]:
    """The lowest CPU and wall milliseconds of `repeat` calls, and the last result."""
    cpu = wall = float("inf")
    result = None
    for _ in range(repeat):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        result = function()
        cpu = min(cpu, time.process_time() - start_cpu)
        wall = min(wall, time.perf_counter() - start_wall)
    return 1000 * cpu, 1000 * wall, result


def _interleaved_best(functions, repeat: int) -> list[float]:
    """The best wall-clock milliseconds of each function, run in turn `repeat` times."""
    best = [float("inf")] * len(functions)
    for function in functions:
        function()
    for _ in range(repeat):
        for i, function in enumerate(functions):
            start = time.perf_counter()
            function()
            best[i] = min(best[i], time.perf_counter() - start)
    return [1000 * b for b in best]


def _webp(q: ccodec.Quantized) -> bytes:
    buffer = io.BytesIO()
    q.to_image().save(buffer, format="WEBP", lossless=True, quality=100, method=6, exact=True)
    return buffer.getvalue()


def _png8(q: ccodec.Quantized) -> bytes:
    image = Image.fromarray(q.labels, "P")
    image.putpalette(np.resize(q.palette, (q.k, 3)).tobytes() if q.channels >= 3 else b"")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _images(args) -> list[tuple[str, np.ndarray]]:
    if args.scale:
        from quantize import make_scale_image  # benchmarks/quantize.py, beside this script

        return [("24 MP", ccodec.to_pixels(make_scale_image(args.corpus)))]
    if args.corpus_run:
        paths = sorted(args.corpus.glob("*.png"))
    else:
        paths = [args.image or files("ccodec") / "data" / "astronaut.png"]
    images = []
    for path in paths:
        with Image.open(path) as image:
            images.append((Path(str(path)).stem, ccodec.to_pixels(image)))
    return images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, default=None, help="default: the bundled sample")
    parser.add_argument(
        "--corpus", dest="corpus_run", action="store_true", help="every PNG of --corpus-dir"
    )
    parser.add_argument(
        "--corpus-dir", dest="corpus", type=Path, default=_REPO.parent / "shared" / "corpus"
    )
    parser.add_argument("--scale", action="store_true", help="the 24-megapixel image")
    parser.add_argument("-k", default=None, help="comma-separated K values")
    parser.add_argument("--repeat", type=int, default=100, help="decode runs (median)")
    parser.add_argument("--repeat-encode", type=int, default=3, help="quantize/encode runs (best)")
    args = parser.parse_args()
    if args.k is None:
        args.k = _CORPUS_KS if args.corpus_run else "16,256" if args.scale else "2,16,50,256"
    if args.scale:
        args.repeat, args.repeat_encode = min(args.repeat, 1), min(args.repeat_encode, 1)

    print(
        f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
        f"decode: median of {args.repeat}, quantize/encode: best of {args.repeat_encode}\n"
    )
    print(
        "| image | K | .ccz bytes | coding | PNG-8 bytes | ccz/PNG | quantize ms CPU (wall) "
        "| encode ms CPU (wall) | encode / quantize | ccz decode ms (CPU) | PNG-8 decode ms "
        "| WebP bytes | best ccz / WebP decode | ns/pixel |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ratios, webp_ratios = [], []
    for name, pixels in _images(args):
        for k in (int(value) for value in args.k.split(",")):
            q_cpu, q_wall, q = _best(
                lambda k=k, px=pixels: ccodec.quantize(px, k, seed=0), args.repeat_encode
            )
            e_cpu, e_wall, data = _best(lambda q=q: ccodec.encode_quantized(q), args.repeat_encode)
            coding = ccodec.read_header(data, max_pixels=None).coding
            png = _png8(q) if pixels.shape[2] == 3 else None
            ccz_ms = _median_ms(
                lambda data=data: ccodec.decode(data, max_pixels=None).to_array(), args.repeat
            )
            ccz_cpu = _best(
                lambda data=data: ccodec.decode(data, max_pixels=None).to_array(),
                max(1, min(args.repeat, 5)),
            )[0]
            if png is not None:
                png_ms = _median_ms(
                    lambda png=png: np.asarray(Image.open(io.BytesIO(png)).convert("RGB")),
                    args.repeat,
                )
                png_cells = f"{len(png):,} | {len(data) / len(png):.3f}"
                png_time = f"{png_ms:.2f}"
            else:  # RGBA: a palette PNG would drop the alpha
                png_cells, png_time = "- | -", "-"
            webp = _webp(q)
            ccz_best, webp_best = _interleaved_best(
                [
                    lambda data=data: ccodec.decode(data, max_pixels=None).to_array(),
                    lambda webp=webp: np.asarray(Image.open(io.BytesIO(webp))),
                ],
                args.repeat,
            )
            webp_ratios.append((ccz_best / webp_best, f"{name} K={q.k}"))
            ratios.append((e_cpu / q_cpu, f"{name} K={q.k}"))
            print(
                f"| {name} | {q.k} | {len(data):,} | {coding} | {png_cells} "
                f"| {q_cpu:.0f} ({q_wall:.0f}) | {e_cpu:.0f} ({e_wall:.0f}) "
                f"| {e_cpu / q_cpu:.2f} | {ccz_ms:.1f} ({ccz_cpu:.1f}) | {png_time} "
                f"| {len(webp):,} | {ccz_best / webp_best:.2f} "
                f"| {1e6 * ccz_best / (q.width * q.height):.1f} |"
            )
    worst = max(ratios)
    print(
        f"\nencode / quantize (CPU): median {statistics.median(r for r, _ in ratios):.2f}, "
        f"worst {worst[0]:.2f} ({worst[1]}), cells above 1: "
        f"{sum(r > 1 for r, _ in ratios)} of {len(ratios)}"
    )
    worst = max(webp_ratios)
    print(
        f"ccz / WebP decode (best, interleaved): median "
        f"{statistics.median(r for r, _ in webp_ratios):.2f}, worst {worst[0]:.2f} ({worst[1]})"
    )
    print(f"load average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
