""".ccz size (default, context, zstd and rANS codings) against lossless JPEG XL, WebP and PNG-8.

    python benchmarks/size.py                          # corpus at K = 4, 16, 64, 256
    python benchmarks/size.py --images astronaut -k 16 --repeat 5

For each corpus image and K (labels from ``ccodec.quantize(pixels, k, seed=0)``):
the whole .ccz file (header, palette, payload) as ``coding="auto"`` writes it
and with each coding forced; the same quantized image as lossless JPEG XL at
effort 9 (the smaller of ``cjxl -d 0 -e 9`` on the palette PNG and
pillow-jxl-plugin's ``lossless=True, effort=9``; the column says which), as
lossless WebP (Pillow, lossless=True, quality=100, method=6, exact=True) and
as a palette PNG (Pillow, optimize=True, then oxipng level 6); the ratios of
the default .ccz to each. Then the median and worst ratios, and the time to
quantize, to context-code the labels and to decode the context file to labels
(the best of --repeat runs, wall clock, this one process).
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from PIL import Image

import ccodec
from ccodec import ccz, coder
from ccodec.writers._palette import palette_image

try:  # benchmark-only peers
    import oxipng
except ImportError:  # pragma: no cover - optional
    oxipng = None
try:
    import pillow_jxl  # noqa: F401  -- registers the JXL format with Pillow
except ImportError:  # pragma: no cover - optional
    pillow_jxl = None

_REPO = Path(__file__).resolve().parent.parent
_IMAGES = ["astronaut", "chelsea", "coffee", "logo", "rocket"]
_KS = "4,16,64,256"


def _png8(q: ccodec.Quantized) -> int:
    buffer = io.BytesIO()
    palette_image(q).save(buffer, format="PNG", optimize=True)
    data = buffer.getvalue()
    if oxipng is not None:
        data = oxipng.optimize_from_memory(data, level=6)
    return len(data)


def _webp(q: ccodec.Quantized) -> int:
    buffer = io.BytesIO()
    q.to_image().save(buffer, format="WEBP", lossless=True, quality=100, method=6, exact=True)
    return len(buffer.getvalue())


def _jxl(q: ccodec.Quantized) -> tuple[int, str]:
    """Lossless JPEG XL at effort 9: the smaller of cjxl (on the palette PNG) and pillow-jxl."""
    sizes = {}
    if shutil.which("cjxl"):
        buffer = io.BytesIO()
        palette_image(q).save(buffer, format="PNG")
        with tempfile.TemporaryDirectory() as folder:
            png, jxl = Path(folder) / "in.png", Path(folder) / "out.jxl"
            png.write_bytes(buffer.getvalue())
            subprocess.run(
                ["cjxl", "-d", "0", "-e", "9", "--quiet", str(png), str(jxl)],
                check=True,
                capture_output=True,
            )
            sizes["cjxl"] = jxl.stat().st_size
    if pillow_jxl is not None:
        buffer = io.BytesIO()
        q.to_image().save(buffer, "JXL", lossless=True, effort=9)
        sizes["pillow-jxl"] = len(buffer.getvalue())
    if not sizes:
        raise SystemExit("needs cjxl on PATH or pillow-jxl-plugin for the JPEG XL column")
    name = min(sizes, key=sizes.__getitem__)
    return sizes[name], name


def _best(function, repeat: int) -> tuple[float, object]:
    """The shortest wall-clock time of `repeat` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def _ccz_sizes(q: ccodec.Quantized) -> dict[str, int]:
    """Sizes of the .ccz file as auto writes it and with each coding forced."""
    return {
        coding: len(ccz.encode_quantized(q, coding=coding))
        for coding in ("auto", "context", "zstd", "rans")
    }


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
        "| image | K | ccz (auto) | context | zstd | rANS | JXL e9 | WebP | PNG-8 "
        "| ccz / JXL | ccz / WebP | ccz / PNG-8 | quantize ms | context encode ms "
        "| context decode ms | decode ns/pixel |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    ratios: dict[str, list[tuple[float, str]]] = {"JXL": [], "WebP": [], "PNG-8": []}
    for name in args.images:
        with Image.open(args.corpus / f"{name}.png") as image:
            pixels = ccodec.to_pixels(image)
        for k in ks:
            quantize_s, q = _best(
                lambda k=k, px=pixels: ccodec.quantize(px, k, seed=0), args.repeat
            )
            sizes = _ccz_sizes(q)
            encode_s, stream = _best(
                lambda q=q: coder.encode_labels(q.labels, q.palette), args.repeat
            )
            decode_s, labels = _best(
                lambda s=stream, q=q: coder.decode_labels(s, q.width, q.height, q.palette),
                args.repeat,
            )
            if not (labels == q.labels).all():
                raise SystemExit(f"{name} K={k}: context round trip differs")
            (jxl, jxl_by), webp, png = _jxl(q), _webp(q), _png8(q)
            best = sizes["auto"]
            cell = f"{name} K={q.k}"
            for column, size in (("JXL", jxl), ("WebP", webp), ("PNG-8", png)):
                ratios[column].append((best / size, cell))
            print(
                f"| {name} | {q.k} | {best:,} | {sizes['context']:,} | {sizes['zstd']:,} "
                f"| {sizes['rans']:,} | {jxl:,} ({jxl_by}) | {webp:,} | {png:,} "
                f"| {best / jxl:.3f} | {best / webp:.3f} | {best / png:.3f} "
                f"| {1000 * quantize_s:.0f} | {1000 * encode_s:.1f} | {1000 * decode_s:.1f} "
                f"| {1e9 * decode_s / q.labels.size:.1f} |"
            )
    print()
    for column, values in ratios.items():
        worst = max(values)
        print(
            f"default .ccz / {column}: median {statistics.median(r for r, _ in values):.3f}, "
            f"worst {worst[0]:.3f} ({worst[1]}), cells above 1: "
            f"{sum(r > 1 for r, _ in values)} of {len(values)}"
        )


if __name__ == "__main__":
    main()
