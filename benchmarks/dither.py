"""What dithering and clustering in OKLab do to error, size and time on the corpus (issue 6).

    python benchmarks/dither.py                          # every corpus image, K = 2, 16, 64, 256
    python benchmarks/dither.py --images astronaut --k 16 --repeat 9
    python benchmarks/dither.py --no-oklab --sheet ''    # dithering table only

Dithering: for each image and K, `ccodec.quantize(pixels, K, seed=0)` gives
the palette; `ccodec.dither.dither(pixels, palette, method)` maps the pixels
for each method. Columns: MSE in RGB as `ccodec.mse` defines it; "blur
MSE", the same after a 4 x 4 box filter on both images (a rough stand-in
for viewing from a distance, which is what dithering is for); the .ccz
size from `encode_quantized(Quantized(palette, labels))`; and the time of
the `dither` call, the median of --repeat runs. The "quantize" row is the
quantizer's own labels, what `encode` stores today; wired in, ``none``
would reuse them and add nothing.

OKLab: the quantizer takes uint8, so this experiment clusters the image's
colour histogram itself with a small weighted k-means++ and Lloyd
(`_lloyd`, at most --iterations steps), once on sRGB values in [0, 1] and
once on their OKLab coordinates (alpha as one more channel); OKLab centres
become sRGB bytes with `oklab_palette_to_srgb`, and pixels take the entry
nearest in the space that was clustered. Columns: MSE in RGB (alpha
included), and the mean OKLab distance between each pixel and its
replacement (colour channels only), with the quantizer's RGB result for
reference. The same small Lloyd runs in both spaces, so the difference is
the space, not the algorithm.

The sheet (--sheet, default benchmarks/figures/dither_sheet.png) shows
crops at K=16, two pixels per pixel: original, RGB clusters without
dithering, OKLab clusters without dithering, RGB + Floyd-Steinberg and
RGB + ordered.
"""

from __future__ import annotations

import argparse
import statistics
import timeit
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import ccodec
from ccodec.colorspace import oklab_palette_to_srgb, srgb_to_oklab
from ccodec.dither import METHODS, dither

REPO = Path(__file__).resolve().parent.parent
# (image, top, left) of each 128 x 128 crop on the sheet.
CROPS = (("astronaut", 40, 170), ("coffee", 150, 300), ("rocket", 80, 220))
CROP = 128


def _median_ms(function, repeat: int) -> float:
    function()  # warm up: first calls pay for imports and allocations
    return 1000 * statistics.median(timeit.repeat(function, number=1, repeat=repeat))


def _box_blur(pixels: np.ndarray, size: int = 4) -> np.ndarray:
    sums = np.cumsum(np.cumsum(np.pad(pixels.astype(np.float64), ((1, 0), (1, 0), (0, 0))), 0), 1)
    return (
        sums[size:, size:] - sums[:-size, size:] - sums[size:, :-size] + sums[:-size, :-size]
    ) / (size * size)


def _blur_mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((_box_blur(a) - _box_blur(b)) ** 2)) / (255.0 * 255.0)


def _oklab(pixels: np.ndarray) -> np.ndarray:
    return srgb_to_oklab(pixels / 255.0)


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Nearest centre per point, float32, in chunks."""
    points, centres = points.astype(np.float32), centres.astype(np.float32)
    terms = np.vstack([-2 * centres.T, np.einsum("ij,ij->i", centres, centres)[None]])
    step = max(1, (1 << 16) // len(centres))
    labels = np.empty(len(points), np.intp)
    for start in range(0, len(points), step):
        chunk = points[start : start + step]
        distances = np.hstack([chunk, np.ones((len(chunk), 1), np.float32)]) @ terms
        labels[start : start + len(chunk)] = np.argmin(distances, axis=1)
    return labels


def _lloyd(points: np.ndarray, weights: np.ndarray, k: int, iterations: int) -> np.ndarray:
    """Weighted k-means++ seeding and Lloyd steps on a colour histogram; the centres."""
    rng = np.random.default_rng(0)
    k = min(k, len(points))
    chosen = [int(rng.choice(len(points), p=weights / weights.sum()))]
    closest = np.sum((points - points[chosen[0]]) ** 2, axis=1)
    for _ in range(1, k):
        mass = weights * closest
        chosen.append(int(rng.choice(len(points), p=mass / mass.sum())))
        closest = np.minimum(closest, np.sum((points - points[chosen[-1]]) ** 2, axis=1))
    centres = points[chosen].copy()
    labels = None
    for _ in range(iterations):
        new = _nearest(points, centres)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        totals = np.bincount(labels, weights, k)
        for c in range(points.shape[1]):
            sums = np.bincount(labels, weights * points[:, c], k)
            np.divide(sums, totals, out=centres[:, c], where=totals > 0)
    return centres


def _histogram(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    colours, counts = np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0, return_counts=True)
    return colours, counts.astype(np.float64)


def _cluster(pixels: np.ndarray, k: int, space: str, iterations: int) -> ccodec.Quantized:
    """Palette and labels from the small Lloyd in `space` ("rgb" or "oklab")."""
    colours, counts = _histogram(pixels)
    flat = pixels.reshape(-1, pixels.shape[2])
    if space == "rgb":
        centres = _lloyd(colours / 255.0, counts, k, iterations)
        palette = np.rint(np.clip(centres, 0, 1) * 255).astype(np.uint8)
        labels = _nearest(flat / 255.0, palette / 255.0)
    else:
        centres = _lloyd(_oklab(colours), counts, k, iterations)
        palette = oklab_palette_to_srgb(centres)
        labels = _nearest(_oklab(flat), _oklab(palette))
    return ccodec.Quantized(palette, labels.reshape(pixels.shape[:2]).astype(np.uint8))


def _delta_e(pixels: np.ndarray, approximation: np.ndarray) -> float:
    """Mean OKLab distance over pixels, colour channels only."""
    colour = 1 if pixels.shape[2] <= 2 else 3
    diff = _oklab(pixels[..., :colour]) - _oklab(approximation[..., :colour])
    return float(np.mean(np.sqrt(np.sum(diff * diff, axis=-1))))


def _load(corpus: Path, names: list[str] | None) -> dict[str, np.ndarray]:
    paths = sorted(corpus.glob("*.png"))
    if names:
        paths = [p for p in paths if p.stem in names]
    if not paths:
        raise SystemExit(f"no corpus images in {corpus}")
    images = {}
    for path in paths:
        with Image.open(path) as image:
            images[path.stem] = ccodec.to_pixels(image)
    return images


def _dither_table(images: dict[str, np.ndarray], ks: list[int], repeat: int) -> None:
    print("## Dithering\n")
    print("| image | K | method | MSE | blur MSE | .ccz bytes | ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, pixels in images.items():
        for k in ks:
            q = ccodec.quantize(pixels, k, seed=0)
            rows = [("quantize", q.labels, 0.0)]
            for method in METHODS:
                labels = dither(pixels, q.palette, method)
                ms = _median_ms(lambda m=method, p=pixels, c=q.palette: dither(p, c, m), repeat)
                rows.append((method, labels, ms))
            for method, labels, ms in rows:
                result = ccodec.Quantized(q.palette, labels)
                approximation = result.to_array().reshape(pixels.shape)
                size = len(ccodec.encode_quantized(result))
                print(
                    f"| {name} | {k} | {method} | {ccodec.mse(pixels, approximation):.6f} "
                    f"| {_blur_mse(pixels, approximation):.6f} | {size:,} | {ms:.1f} |"
                )


def _oklab_table(images: dict[str, np.ndarray], ks: list[int], iterations: int) -> None:
    print("\n## Clustering in OKLab\n")
    print(
        "| image | K | quantize MSE | Lloyd RGB MSE | Lloyd OKLab MSE | OKLab/RGB MSE "
        "| quantize dE | Lloyd RGB dE | Lloyd OKLab dE | OKLab/RGB dE |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, pixels in images.items():
        for k in ks:
            results = [ccodec.quantize(pixels, k, seed=0)]
            results += [_cluster(pixels, k, space, iterations) for space in ("rgb", "oklab")]
            arrays = [r.to_array().reshape(pixels.shape) for r in results]
            errors = [ccodec.mse(pixels, a) for a in arrays]
            deltas = [_delta_e(pixels, a) for a in arrays]
            print(
                f"| {name} | {k} | {errors[0]:.6f} | {errors[1]:.6f} | {errors[2]:.6f} "
                f"| {errors[2] / errors[1]:.3f} | {deltas[0]:.5f} | {deltas[1]:.5f} "
                f"| {deltas[2]:.5f} | {deltas[2] / deltas[1]:.3f} |"
            )


def _sheet(images: dict[str, np.ndarray], path: Path, iterations: int, k: int = 16) -> None:
    titles = ["original", "RGB, none", "OKLab, none", "RGB, Floyd-Steinberg", "RGB, ordered"]
    rows = []
    for name, top, left in CROPS:
        if name not in images:
            continue
        pixels = images[name][..., :3]
        q = ccodec.quantize(pixels, k, seed=0)
        panels = [
            pixels,
            q.to_array(),
            _cluster(pixels, k, "oklab", iterations).to_array(),
            q.palette[dither(pixels, q.palette, "floyd-steinberg")],
            q.palette[dither(pixels, q.palette, "ordered")],
        ]
        crops = [p[top : top + CROP, left : left + CROP] for p in panels]
        rows.append(
            np.hstack([np.pad(c, ((4, 4), (4, 4), (0, 0)), constant_values=255) for c in crops])
        )
    if not rows:
        return
    grid = np.vstack(rows).repeat(2, axis=0).repeat(2, axis=1)
    header = 24
    sheet = Image.new("RGB", (grid.shape[1], grid.shape[0] + header), "white")
    sheet.paste(Image.fromarray(grid), (0, header))
    draw = ImageDraw.Draw(sheet)
    for i, title in enumerate(titles):
        draw.text((i * 2 * (CROP + 8) + 8, 6), f"{title} (K={k})", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, optimize=True)
    print(f"\nsheet: {path} ({path.stat().st_size:,} bytes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--images", nargs="*", default=None, help="stems, e.g. astronaut logo")
    parser.add_argument("--k", default="2,16,64,256", help="comma-separated K values")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per cell (median)")
    parser.add_argument("--iterations", type=int, default=40, help="Lloyd steps in the OKLab test")
    parser.add_argument("--no-oklab", action="store_true")
    parser.add_argument(
        "--sheet",
        default=str(REPO / "benchmarks" / "figures" / "dither_sheet.png"),
        help="where to save the crops ('' for none)",
    )
    args = parser.parse_args()

    images = _load(args.corpus, args.images)
    ks = [int(value) for value in args.k.split(",")]
    print(f"numpy {np.__version__}, ccodec {ccodec.__version__}, median of {args.repeat} runs\n")
    _dither_table(images, ks, args.repeat)
    if not args.no_oklab:
        _oklab_table(images, ks, args.iterations)
    if args.sheet:
        _sheet(images, Path(args.sheet), args.iterations)


if __name__ == "__main__":
    main()
