""".ccz size (zstd and rANS codings) against PNG-8 and lossless WebP of the same quantized image.

    python benchmarks/size.py                          # corpus at K = 2, 4, ..., 256
    python benchmarks/size.py --images astronaut -k 16 --repeat 5

For each corpus image and K (labels from ``ccodec.quantize(pixels, k, seed=0)``):
the whole .ccz file (header, palette, payload) with the zstd coding and with
the rANS coding; the same quantized image as a palette PNG (Pillow,
optimize=True, then oxipng level 6) and as lossless WebP (Pillow,
lossless=True, quality=100, method=6); the ratios of the smaller .ccz (what
``coding="auto"`` writes) to both. Then the median ratios, and the time to
quantize, to rANS-code the labels and to decode the rANS file to labels (the
best of --repeat runs, wall clock, this one process).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

from PIL import Image

import ccodec
from ccodec import ccz, rans
from ccodec.writers._palette import palette_image

try:  # benchmark-only peer
    import oxipng
except ImportError:  # pragma: no cover - optional
    oxipng = None

_REPO = Path(__file__).resolve().parent.parent
_IMAGES = ["astronaut", "chelsea", "coffee", "logo", "rocket"]
_KS = "2,4,8,16,32,64,128,256"


def _png8(q: ccodec.Quantized) -> int:
    buffer = io.BytesIO()
    palette_image(q).save(buffer, format="PNG", optimize=True)
    data = buffer.getvalue()
    if oxipng is not None:
        data = oxipng.optimize_from_memory(data, level=6)
    return len(data)


def _webp(q: ccodec.Quantized) -> int:
    buffer = io.BytesIO()
    q.to_image().save(buffer, format="WEBP", lossless=True, quality=100, method=6)
    return len(buffer.getvalue())


def _best(function, repeat: int) -> tuple[float, object]:
    """The shortest wall-clock time of `repeat` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def _ccz_sizes(q: ccodec.Quantized) -> tuple[int, int]:
    """Sizes of the .ccz file with the zstd and with the rANS coding."""
    try:
        return (
            len(ccz.encode_quantized(q, coding="zstd")),
            len(ccz.encode_quantized(q, coding="rans")),
        )
    except TypeError:  # a container without the coding option: swap the payload by hand
        data = ccz.encode_quantized(q)
        payload = ccz.read_header(data).payload_length
        return len(data), len(data) - payload + len(rans.encode_labels(q.labels, q.k))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=_REPO.parent / "shared" / "corpus")
    parser.add_argument("--images", nargs="*", default=_IMAGES)
    parser.add_argument("-k", default=_KS, help="comma-separated K values")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs (best is kept)")
    args = parser.parse_args()
    ks = [int(value) for value in args.k.split(",")]

    print(f"oxipng: {'level 6' if oxipng else 'not installed (Pillow optimize only)'}\n")
    print(
        "| image | K | ccz zstd | ccz rans | PNG-8 | WebP | best / PNG-8 | best / WebP "
        "| quantize ms | rans encode ms | rans decode ms |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    to_png, to_webp, worst = [], [], (0.0, "")
    for name in args.images:
        with Image.open(args.corpus / f"{name}.png") as image:
            pixels = ccodec.to_pixels(image)
        for k in ks:
            quantize_s, q = _best(
                lambda k=k, px=pixels: ccodec.quantize(px, k, seed=0), args.repeat
            )
            zstd_size, rans_size = _ccz_sizes(q)
            encode_s, payload = _best(lambda q=q: rans.encode_labels(q.labels, q.k), args.repeat)
            decode_s, labels = _best(
                lambda p=payload, q=q: rans.decode_labels(p, q.width, q.height, q.k), args.repeat
            )
            if not (labels == q.labels).all():
                raise SystemExit(f"{name} K={k}: rANS round trip differs")
            png, webp = _png8(q), _webp(q)
            best = min(zstd_size, rans_size)
            to_png.append(best / png)
            to_webp.append(best / webp)
            worst = max(worst, (best / png, f"{name} K={q.k}"))
            print(
                f"| {name} | {q.k} | {zstd_size:,} | {rans_size:,} | {png:,} | {webp:,} "
                f"| {best / png:.3f} | {best / webp:.3f} | {1000 * quantize_s:.0f} "
                f"| {1000 * encode_s:.0f} | {1000 * decode_s:.0f} |"
            )
    print()
    print(
        f"best .ccz / PNG-8: median {statistics.median(to_png):.3f}, worst {worst[0]:.3f} "
        f"({worst[1]}), cells above 1: {sum(r > 1 for r in to_png)} of {len(to_png)}"
    )
    print(f"best .ccz / WebP:  median {statistics.median(to_webp):.3f}, worst {max(to_webp):.3f}")


if __name__ == "__main__":
    main()
