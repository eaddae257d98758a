"""What dithering and clustering in OKLab do to error, size and time on the corpus (issue 6).

    python benchmarks/dither.py                          # every corpus image, K = 2, 16, 64, 256
    python benchmarks/dither.py --images astronaut --k 16 --repeat 9
    python benchmarks/dither.py --no-oklab --sheet '' --oklab-sheet ''  # dithering only
    python benchmarks/dither.py --no-dither --sheet ''   # OKLab table and sheet only
    python benchmarks/dither.py --k 2,16,256 --no-oklab --sheet '' --oklab-sheet '' --clock cpu
    python benchmarks/dither.py --alpha-ramp --k 2,16,256 --no-oklab --sheet '' --oklab-sheet ''
    python benchmarks/dither.py --pillow-ratio --repeat 15   # the issue 14 goal, and nothing else

--alpha-ramp adds an RGBA copy of each RGB image (name + "-ramp") whose
alpha falls from 255 at the centre to 0 at the corners, so Floyd-Steinberg
takes its NumPy path (Pillow's has no joint alpha) on photographs too.

Dithering: for each image and K, `ccodec.quantize(pixels, K, seed=0)` gives
the palette; `ccodec.dither.dither(pixels, palette, method)` maps the pixels
for each method. Columns: MSE in RGB as `ccodec.mse` defines it; "blur
MSE", the same after a 4 x 4 box filter on both images (a rough stand-in
for viewing from a distance, which is what dithering is for); the .ccz
size from `encode_quantized(Quantized(palette, labels))`; and the time of
the `dither` call, the median of --repeat runs (--stat best: the fastest
of them, which one stall from another process on a shared machine cannot
move). The "quantize" row is the
quantizer's own labels, what `encode` stores today; wired in, ``none``
would reuse them and add nothing.

--pillow-ratio: Floyd-Steinberg on astronaut (512 x 512) with the alpha
ramp at K = 256 (the palette from `ccodec.quantize(rgba, 256, seed=0)`)
against Pillow's C Floyd-Steinberg on the same image without alpha,
remapping to the same palette's RGB columns (`Image.quantize(palette=...,
dither=FLOYDSTEINBERG)`): the two calls alternate --repeat times, each
the best of its runs on the CPU clock; prints both and the ratio (issue
14's goal: at most 2).

OKLab: `ccodec.quantize(pixels, K, seed=0, space=...)` with space "rgb"
and "oklab" (same histogram, restarts and Lloyd; only the space differs).
Columns: MSE in RGB (alpha included), as `ccodec.mse` and the CLI report
it; the mean OKLab distance (dE) between each pixel and its replacement
(colour channels only); and the time of the `quantize` call, the median
(or --stat best) of --repeat runs.

The sheets show crops at K=16, two pixels per pixel. --sheet (default
benchmarks/figures/dither_sheet.png): original, RGB clusters without
dithering, OKLab clusters without dithering, RGB + Floyd-Steinberg and
RGB + ordered. --oklab-sheet (default benchmarks/figures/oklab_sheet.png):
original, RGB clusters, OKLab clusters.
"""

from __future__ import annotations

import argparse
import statistics
import time
import timeit
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import ccodec
from ccodec.colorspace import srgb_to_oklab
from ccodec.dither import METHODS, dither
from ccodec.quantize import SPACES

REPO = Path(__file__).resolve().parent.parent
# (image, top, left) of each 128 x 128 crop on the sheet.
CROPS = (("astronaut", 40, 170), ("coffee", 150, 300), ("rocket", 80, 220))
OKLAB_CROPS = (
    ("astronaut", 40, 170),
    ("astronaut", 300, 20),
    ("chelsea", 60, 150),
    ("coffee", 150, 300),
    ("rocket", 80, 220),
)
CROP = 128


# time.perf_counter (wall) unless --clock cpu picks time.process_time: on a
# machine other jobs share, this process's own CPU time moves far less.
_CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = time.perf_counter
# statistics.median, or min with --stat best.
_STAT = {"median": statistics.median, "best": min}
_stat = statistics.median


def _time_ms(function, repeat: int) -> float:
    function()  # warm up: first calls pay for imports and allocations
    timer = timeit.Timer(function, timer=_clock)
    return 1000 * _stat(timer.repeat(number=1, repeat=repeat))


def _box_blur(pixels: np.ndarray, size: int = 4) -> np.ndarray:
    sums = np.cumsum(np.cumsum(np.pad(pixels.astype(np.float64), ((1, 0), (1, 0), (0, 0))), 0), 1)
    return (
        sums[size:, size:] - sums[:-size, size:] - sums[size:, :-size] + sums[:-size, :-size]
    ) / (size * size)


def _blur_mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((_box_blur(a) - _box_blur(b)) ** 2)) / (255.0 * 255.0)


def _oklab(pixels: np.ndarray) -> np.ndarray:
    return srgb_to_oklab(pixels / 255.0)


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


def _with_alpha_ramp(images: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each image, then an RGBA copy of each RGB one with a radial alpha ramp."""
    ramps = {}
    for name, pixels in images.items():
        if pixels.shape[2] != 3:
            continue
        height, width = pixels.shape[:2]
        ys, xs = np.mgrid[0:height, 0:width]
        radius = np.hypot((ys - height / 2) / (height / 2), (xs - width / 2) / (width / 2))
        alpha = np.clip(255 * (1 - radius / np.sqrt(2)), 0, 255).astype(np.uint8)
        ramps[f"{name}-ramp"] = np.dstack([pixels, alpha])
    return {**images, **ramps}


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
                ms = _time_ms(lambda m=method, p=pixels, c=q.palette: dither(p, c, m), repeat)
                rows.append((method, labels, ms))
            for method, labels, ms in rows:
                result = ccodec.Quantized(q.palette, labels)
                approximation = result.to_array().reshape(pixels.shape)
                size = len(ccodec.encode_quantized(result))
                print(
                    f"| {name} | {k} | {method} | {ccodec.mse(pixels, approximation):.6f} "
                    f"| {_blur_mse(pixels, approximation):.6f} | {size:,} | {ms:.1f} |"
                )


def _pillow_ratio(images: dict[str, np.ndarray], repeat: int, k: int = 256) -> None:
    rgb = images["astronaut"][..., :3]
    rgba = _with_alpha_ramp({"astronaut": rgb})["astronaut-ramp"]
    palette = ccodec.quantize(rgba, k, seed=0).palette
    target = Image.new("P", (1, 1))
    target.putpalette(np.ascontiguousarray(palette[:, :3]).tobytes())
    image = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    calls = {
        "ccodec RGBA": lambda: dither(rgba, palette, "floyd-steinberg"),
        "Pillow RGB": lambda: image.quantize(palette=target, dither=Image.Dither.FLOYDSTEINBERG),
    }
    best = dict.fromkeys(calls, float("inf"))
    for call in calls.values():
        call()  # warm up
    for _ in range(repeat):  # interleaved, so a busy spell slows both
        for name, call in calls.items():
            start = time.process_time()
            call()
            best[name] = min(best[name], time.process_time() - start)
    ours, pillow = best.values()
    print(
        f"Floyd-Steinberg, astronaut {rgb.shape[1]}x{rgb.shape[0]}, K={len(palette)}, "
        f"best of {repeat}, CPU clock"
    )
    print(
        f"ccodec with alpha {1000 * ours:.2f} ms, Pillow without {1000 * pillow:.2f} ms, "
        f"ratio {ours / pillow:.2f}"
    )


def _oklab_table(images: dict[str, np.ndarray], ks: list[int], repeat: int) -> None:
    print("\n## Clustering in OKLab\n")
    print(
        "| image | K | MSE rgb | MSE oklab | oklab/rgb MSE | dE rgb | dE oklab | oklab/rgb dE "
        "| ms rgb | ms oklab |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, pixels in images.items():
        for k in ks:
            cells = []
            for space in SPACES:
                q = ccodec.quantize(pixels, k, seed=0, space=space)
                ms = _time_ms(
                    lambda p=pixels, n=k, s=space: ccodec.quantize(p, n, seed=0, space=s), repeat
                )
                approximation = q.to_array().reshape(pixels.shape)
                cells.append(
                    (ccodec.mse(pixels, approximation), _delta_e(pixels, approximation), ms)
                )
            (e_rgb, d_rgb, t_rgb), (e_ok, d_ok, t_ok) = cells
            print(
                f"| {name} | {k} | {e_rgb:.6f} | {e_ok:.6f} | {e_ok / e_rgb:.3f} "
                f"| {d_rgb:.5f} | {d_ok:.5f} | {d_ok / d_rgb:.3f} | {t_rgb:.1f} | {t_ok:.1f} |"
            )


def _save_sheet(rows: list[np.ndarray], titles: list[str], path: Path, k: int) -> None:
    """Rows of padded crops, doubled, under one title per column."""
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


def _crop_row(panels: list[np.ndarray], top: int, left: int) -> np.ndarray:
    crops = [p[top : top + CROP, left : left + CROP] for p in panels]
    return np.hstack([np.pad(c, ((4, 4), (4, 4), (0, 0)), constant_values=255) for c in crops])


def _sheet(images: dict[str, np.ndarray], path: Path, k: int = 16) -> None:
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
            ccodec.quantize(pixels, k, seed=0, space="oklab").to_array(),
            q.palette[dither(pixels, q.palette, "floyd-steinberg")],
            q.palette[dither(pixels, q.palette, "ordered")],
        ]
        rows.append(_crop_row(panels, top, left))
    _save_sheet(rows, titles, path, k)


def _oklab_sheet(images: dict[str, np.ndarray], path: Path, k: int = 16) -> None:
    rows = []
    for name, top, left in OKLAB_CROPS:
        if name not in images:
            continue
        pixels = images[name][..., :3]
        panels = [pixels] + [
            ccodec.quantize(pixels, k, seed=0, space=space).to_array() for space in ("rgb", "oklab")
        ]
        rows.append(_crop_row(panels, top, left))
    _save_sheet(rows, ["original", "--space rgb", "--space oklab"], path, k)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--images", nargs="*", default=None, help="stems, e.g. astronaut logo")
    parser.add_argument("--k", default="2,16,64,256", help="comma-separated K values")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per cell (median)")
    parser.add_argument(
        "--alpha-ramp", action="store_true", help="add an RGBA copy of each RGB image"
    )
    parser.add_argument("--no-dither", action="store_true")
    parser.add_argument(
        "--pillow-ratio",
        action="store_true",
        help="only time Floyd-Steinberg with alpha against Pillow's without (K=256)",
    )
    parser.add_argument("--no-oklab", action="store_true")
    parser.add_argument(
        "--sheet",
        default=str(REPO / "benchmarks" / "figures" / "dither_sheet.png"),
        help="where to save the crops ('' for none)",
    )
    parser.add_argument(
        "--oklab-sheet",
        default=str(REPO / "benchmarks" / "figures" / "oklab_sheet.png"),
        help="where to save the rgb/oklab crops ('' for none)",
    )
    parser.add_argument(
        "--clock", choices=sorted(_CLOCK), default="wall", help="what the ms columns measure"
    )
    parser.add_argument(
        "--stat", choices=sorted(_STAT), default="median", help="which of the --repeat runs"
    )
    args = parser.parse_args()

    global _clock, _stat
    _clock, _stat = _CLOCK[args.clock], _STAT[args.stat]
    images = _load(args.corpus, args.images)
    if args.pillow_ratio:
        _pillow_ratio(images, args.repeat)
        return
    if args.alpha_ramp:
        images = _with_alpha_ramp(images)
    ks = [int(value) for value in args.k.split(",")]
    print(
        f"numpy {np.__version__}, ccodec {ccodec.__version__}, {args.stat} of {args.repeat} runs, "
        f"{args.clock} clock\n"
    )
    if not args.no_dither:
        _dither_table(images, ks, args.repeat)
    if not args.no_oklab:
        _oklab_table(images, ks, args.repeat)
    if args.sheet:
        _sheet(images, Path(args.sheet))
    if args.oklab_sheet:
        _oklab_sheet(images, Path(args.oklab_sheet))


if __name__ == "__main__":
    main()
