"""Near-lossless .ccz at large K against lossless WebP and PNG of the same photos.

    python benchmarks/large_k.py                       # corpus photos at K = 256, 1024, 4096
    python benchmarks/large_k.py --images astronaut -k 4096,16384

For each corpus image: the original as an optimized PNG (Pillow, optimize=True,
then oxipng level 6 when pyoxipng is installed) and as lossless WebP (Pillow,
lossless=True, quality=100, method=6); for each K, the .ccz file (16-bit
indices above K = 256), its PSNR against the original, the quantized image as
lossless WebP and as PNG (what `ccodec decode` writes: palette PNG up to K = 256,
RGB(A) above), and
the time to quantize and to decode the .ccz to an array.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

from PIL import Image

import ccodec
from ccodec.writers import get_writer

try:  # benchmark-only peer
    import oxipng
except ImportError:  # pragma: no cover - optional
    oxipng = None

_REPO = Path(__file__).resolve().parent.parent


def _png(image: Image.Image | ccodec.Quantized) -> bytes:
    buffer = io.BytesIO()
    if isinstance(image, ccodec.Quantized):
        # What `ccodec decode x.ccz x.png` writes: palette PNG up to K = 256.
        get_writer("png").write(image, buffer)
    else:
        image.save(buffer, format="PNG", optimize=True)
    data = buffer.getvalue()
    if oxipng is not None:
        data = oxipng.optimize_from_memory(data, level=6)
    return data


def _webp(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", lossless=True, quality=100, method=6)
    return buffer.getvalue()


def _seconds(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=_REPO.parent / "shared" / "corpus")
    parser.add_argument("--images", nargs="*", default=["astronaut", "chelsea", "coffee", "rocket"])
    parser.add_argument("-k", default="256,1024,4096", help="comma-separated K values")
    args = parser.parse_args()
    ks = [int(value) for value in args.k.split(",")]

    print(f"oxipng: {'level 6' if oxipng else 'not installed (Pillow optimize only)'}\n")
    print(
        "| image | K | PSNR dB | .ccz bytes | ccz / WebP | ccz / PNG | quantized as WebP "
        "| quantized as PNG | quantize s | decode ms |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ratios: dict[int, list[float]] = {k: [] for k in ks}
    for name in args.images:
        with Image.open(args.corpus / f"{name}.png") as image:
            pixels = ccodec.to_pixels(image)
        original = Image.fromarray(pixels)
        png, webp = len(_png(original)), len(_webp(original))
        print(
            f"| {name} original | - | lossless | - | WebP {webp:,} | PNG {png:,} | - | - | - | - |"
        )
        for k in ks:
            quantize_s, q = _seconds(lambda k=k, pixels=pixels: ccodec.quantize(pixels, k, seed=0))
            data = ccodec.encode_quantized(q)
            decode_s, _ = _seconds(lambda data=data: ccodec.decode(data).to_array())
            quantized = q.to_image()
            psnr = ccodec.psnr(ccodec.mse(pixels, q.to_array()))
            ratios[k].append(len(data) / webp)
            print(
                f"| {name} | {q.k} | {psnr:.2f} | {len(data):,} | {len(data) / webp:.3f} "
                f"| {len(data) / png:.3f} | {len(_webp(quantized)):,} | {len(_png(q)):,} "
                f"| {quantize_s:.2f} | {1000 * decode_s:.1f} |"
            )
    print()
    for k in ks:
        median = statistics.median(ratios[k])
        print(f"K={k}: .ccz / lossless WebP of the original, median {median:.3f}")


if __name__ == "__main__":
    main()
