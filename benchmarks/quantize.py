"""Benchmark ccodec's quantizer against scikit-learn, pngquant and Pillow on a corpus.

Run from the repository root (see benchmarks/README.md):

    python benchmarks/quantize.py                      # every image, every K
    python benchmarks/quantize.py --images astronaut --k 16 --k 256
    python benchmarks/quantize.py --scale              # the 24-megapixel case only
    python benchmarks/quantize.py --large-k --images astronaut   # K = 512 .. 16384, ccodec only
    python benchmarks/quantize.py --repeat 3           # each time the best of 3 runs

Every peer sees the same pixels. MSE is over all H x W x C values scaled to
[0, 1], alpha included. scikit-learn's centres are rounded to 8 bits and the
pixels re-assigned to the nearest rounded centre, as any stored palette must
be. ccodec and scikit-learn run one after the other in this process, with the
same BLAS threads; pngquant is timed as a whole process. A peer that is not
installed (or cannot handle a mode) leaves its column as "-". With
--repeat N every method runs N times on each cell, one after another, and
its best time counts: a one-off stall (another process taking the core)
then moves no ratio. Every method gives the same output each run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

import ccodec
from ccodec.metrics import mse

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
DEFAULT_KS = (2, 5, 10, 16, 20, 32, 50, 64, 128, 256)
LARGE_KS = (512, 1024, 4096, 16384)
SCALE_SIZE = (6000, 4000)


@dataclass
class Cell:
    image: str
    k: int
    ccodec_mse: float
    ccodec_s: float
    sklearn_mse: float | None = None
    sklearn_s: float | None = None
    peers: dict[str, tuple[float, float | None]] = field(default_factory=dict)


def load(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return ccodec.to_pixels(image)


def run_ccodec(pixels: np.ndarray, k: int) -> tuple[float, float]:
    start = time.perf_counter()
    q = ccodec.quantize(pixels, k, seed=0)
    elapsed = time.perf_counter() - start
    return mse(q.to_array(), pixels), elapsed


def run_sklearn(pixels: np.ndarray, k: int) -> tuple[float, float] | None:
    try:
        from sklearn.cluster import KMeans
    except ImportError:
        return None
    flat = pixels.reshape(-1, pixels.shape[-1] if pixels.ndim == 3 else 1)
    x = flat.astype(np.float64) / 255
    start = time.perf_counter()
    model = KMeans(n_clusters=k, n_init=1, random_state=0).fit(x)
    elapsed = time.perf_counter() - start
    palette = np.clip(np.rint(model.cluster_centers_ * 255), 0, 255)
    return _palette_mse(flat.astype(np.float64), palette), elapsed


def _palette_mse(values: np.ndarray, palette: np.ndarray) -> float:
    """MSE of `values` (N, C) in 0..255 mapped to their nearest palette entry, in chunks."""
    total = 0.0
    palette_sq = (palette**2).sum(1)
    for start in range(0, len(values), 1 << 16):
        chunk = values[start : start + (1 << 16)]
        d = (chunk**2).sum(1)[:, None] - 2 * chunk @ palette.T + palette_sq
        total += float(np.maximum(d.min(1), 0).sum())
    return total / values.size / 255**2


def run_pngquant(pixels: np.ndarray, k: int, tmp: Path) -> tuple[float, float] | None:
    exe = shutil.which("pngquant")
    if exe is None or k < 2:
        return None
    source, target = tmp / "in.png", tmp / "out.png"
    _to_image(pixels).save(source)
    target.unlink(missing_ok=True)
    start = time.perf_counter()
    result = subprocess.run(
        [
            exe,
            "--nofs",
            "--speed",
            "1",
            "--force",
            "--output",
            str(target),
            str(k),
            "--",
            str(source),
        ],
        capture_output=True,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        return None
    with Image.open(target) as image:
        out = np.asarray(image.convert(_to_image(pixels).mode))
    return mse(out, pixels), elapsed


def run_pillow(pixels: np.ndarray, k: int, method_name: str) -> tuple[float, float] | None:
    method = getattr(Image.Quantize, method_name)
    image = _to_image(pixels)
    if method_name == "MEDIANCUT" and image.mode != "RGB":
        return None  # Pillow's median cut takes RGB (or L) only
    start = time.perf_counter()
    try:
        out = image.quantize(k, method=method, dither=Image.Dither.NONE)
    except (ValueError, OSError):
        return None  # e.g. libimagequant not compiled in
    elapsed = time.perf_counter() - start
    return mse(np.asarray(out.convert(image.mode)), pixels), elapsed


def _to_image(pixels: np.ndarray) -> Image.Image:
    modes = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
    if pixels.ndim == 2:
        return Image.fromarray(pixels, "L")
    return Image.fromarray(pixels, modes[pixels.shape[2]])


PEERS = ("pngquant", "MEDIANCUT", "FASTOCTREE", "LIBIMAGEQUANT")


def measure(name: str, pixels: np.ndarray, k: int, tmp: Path, repeat: int = 1) -> Cell:
    cell = Cell(name, k, *_best_of(repeat, run_ccodec, pixels, k))
    result = _best_of(repeat, run_sklearn, pixels, k)
    if result is not None:
        cell.sklearn_mse, cell.sklearn_s = result
    for peer in PEERS:
        if peer == "pngquant":
            result = _best_of(repeat, run_pngquant, pixels, k, tmp)
        else:
            result = _best_of(repeat, run_pillow, pixels, k, peer)
        if result is not None:
            cell.peers[peer] = result
    return cell


def _best_of(repeat: int, run, *args) -> tuple[float, float] | None:
    """(MSE, least time) over `repeat` runs; None if the method is not available."""
    results = [run(*args) for _ in range(repeat)]
    if results[0] is None:
        return None
    return results[0][0], min(seconds for _, seconds in results)


def warm_up() -> None:
    """Run ccodec and sklearn once untimed, so no cell pays for first-call set-up."""
    pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    run_ccodec(pixels, 16)
    run_sklearn(pixels, 16)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(name: str, cells: list[Cell], peers: list[str]) -> None:
    print(f"\n### {name}\n")
    head = ["K", "ccodec MSE", "sklearn MSE", "MSE ratio", "ccodec s", "sklearn s", "time ratio"]
    head += [f"{p} MSE" for p in peers] + ["pngquant s"] * ("pngquant" in peers)
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for c in cells:
        row = [str(c.k), f"{c.ccodec_mse:.6f}", _fmt(c.sklearn_mse, ".6f")]
        row.append(_fmt(_ratio(c.ccodec_mse, c.sklearn_mse), ".4f"))
        row += [f"{c.ccodec_s:.3f}", _fmt(c.sklearn_s, ".3f")]
        row.append(_fmt(_ratio(c.ccodec_s, c.sklearn_s), ".3f"))
        row += [_fmt(c.peers.get(p, (None,))[0], ".6f") for p in peers]
        if "pngquant" in peers:
            row.append(_fmt(c.peers.get("pngquant", (None, None))[1], ".3f"))
        print("| " + " | ".join(row) + " |")


def _ratio(a: float, b: float | None) -> float | None:
    if b is None:
        return None
    if b == 0:
        return 1.0 if a == 0 else float("inf")
    return a / b


def print_summary(cells: list[Cell]) -> None:
    print("\n### Summary\n")
    mse_ratios = [r for c in cells if (r := _ratio(c.ccodec_mse, c.sklearn_mse)) is not None]
    time_ratios = [r for c in cells if (r := _ratio(c.ccodec_s, c.sklearn_s)) is not None]
    if mse_ratios:
        worst = max(zip(mse_ratios, cells, strict=False), key=lambda p: p[0])
        print(
            f"- MSE / sklearn: worst {worst[0]:.4f} ({worst[1].image} K={worst[1].k}), "
            f"median {statistics.median(mse_ratios):.4f} over {len(mse_ratios)} cells"
        )
        print(
            f"- time / sklearn: median {statistics.median(time_ratios):.3f}, "
            f"worst {max(time_ratios):.3f}"
        )
    for peer in PEERS:
        pairs = [(c, c.peers[peer]) for c in cells if peer in c.peers]
        if not pairs:
            print(f"- {peer}: not available, skipped")
            continue
        beaten = sum(c.ccodec_mse < m or c.ccodec_mse == m == 0 for c, (m, _) in pairs)
        print(f"- MSE below {peer}: {beaten}/{len(pairs)} cells")
    png = [(c, c.peers["pngquant"]) for c in cells if "pngquant" in c.peers and c.k >= 64]
    if png:
        faster = sum(c.ccodec_s < s for c, (_, s) in png)
        ratios = [c.ccodec_s / s for c, (_, s) in png]
        print(
            f"- faster than pngquant (whole process) at K >= 64: {faster}/{len(png)} cells, "
            f"time ratio median {statistics.median(ratios):.3f}, worst {max(ratios):.3f}"
        )


def run_large_k(paths: list[Path], ks: tuple[int, ...]) -> None:
    """ccodec alone above 256 colours (the peers stop at 256): time, MSE and PSNR."""
    print("\n### Large K (ccodec only)\n")
    print("| image | K | colours | ccodec s | CPU s | MSE | PSNR dB | labels |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for path in paths:
        pixels = load(path)
        colours = len(
            np.unique(pixels.reshape(-1, pixels.shape[-1] if pixels.ndim == 3 else 1), axis=0)
        )
        for k in ks:
            wall, cpu = time.perf_counter(), time.process_time()
            q = ccodec.quantize(pixels, k, seed=0)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            error = mse(q.to_array(), pixels)
            psnr = "inf" if error == 0 else f"{10 * np.log10(1 / error):.2f}"
            print(
                f"| {path.stem} | {k} | {colours:,} | {wall:.2f} | {cpu:.2f} | {error:.3e} | "
                f"{psnr} | {q.labels.dtype} |"
            )
            sys.stdout.flush()


def make_scale_image(corpus: Path, size: tuple[int, int] = SCALE_SIZE) -> Image.Image:
    """A deterministic 6000 x 4000 RGB 'photo' with millions of distinct colours.

    Each corpus photo (the RGB ones, sorted by name) is upscaled bicubically to
    2000 x 2000, the tiles fill a 3 x 2 grid in turn, and Gaussian noise
    (sigma 3 levels, ``default_rng(0)``) is added so that the smooth upscaled
    areas do not collapse to few colours.
    """
    width, height = size
    tile = 2000
    photos = []
    for path in sorted(corpus.glob("*.png")):
        with Image.open(path) as image:
            if image.mode == "RGB":
                photos.append(image.resize((tile, tile), Image.Resampling.BICUBIC))
    canvas = Image.new("RGB", size)
    index = 0
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            canvas.paste(photos[index % len(photos)], (left, top))
            index += 1
    array = np.asarray(canvas).astype(np.int16)
    rng = np.random.default_rng(0)
    for row in range(0, height, 500):  # in bands, to keep this script's own memory low
        band = array[row : row + 500]
        band += np.rint(rng.normal(0, 3, band.shape)).astype(np.int16)
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), "RGB")


SCALE_SCRIPT = """
import sys, time
from PIL import Image
import ccodec
start = time.perf_counter()
with Image.open(sys.argv[1]) as image:
    image.load()
    loaded = time.perf_counter()
    data = ccodec.encode(image, int(sys.argv[2]), seed=0)
done = time.perf_counter()
print(f"load {loaded - start:.2f} s, encode {done - loaded:.2f} s, {len(data)} bytes")
"""


def run_scale(corpus: Path, k: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scale.png"
        image = make_scale_image(corpus)
        image.save(path, compress_level=1)
        colours = len(np.unique(np.asarray(image).reshape(-1, 3), axis=0))
        del image
        print(f"\n### Scale: {SCALE_SIZE[0]} x {SCALE_SIZE[1]} RGB, {colours:,} colours, K={k}\n")
        cmd = [sys.executable, "-c", SCALE_SCRIPT, str(path), str(k)]
        timer = shutil.which("time") or "/usr/bin/time"
        if Path(timer).exists():
            cmd = [timer, "-v", *cmd]
        start = time.perf_counter()
        result = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(f"scale run failed:\n{result.stderr}")
        peak = _peak_rss_kib(result.stderr)
        print(f"- {result.stdout.strip()}")
        print(f"- whole process: {wall:.2f} s wall, peak RSS " + _fmt_kib(peak))


def _peak_rss_kib(time_output: str) -> int | None:
    for line in time_output.splitlines():
        if "Maximum resident set size" in line:
            return int(line.rsplit(":", 1)[1])
    return None


def _fmt_kib(kib: int | None) -> str:
    return "unknown (no /usr/bin/time)" if kib is None else f"{kib / 1024:.0f} MiB"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--k", type=int, action="append", help="K to run (repeatable)")
    parser.add_argument("--images", nargs="+", help="image names without .png (default: all)")
    parser.add_argument("--scale", action="store_true", help="run only the 24 MP case")
    parser.add_argument("--scale-k", type=int, default=256)
    parser.add_argument("--large-k", action="store_true", help="ccodec only, K = 512 .. 16384")
    parser.add_argument("--repeat", type=int, default=1, help="runs per method and cell; best time")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        sys.exit(f"{args.corpus}: corpus directory not found (use --corpus)")
    if args.scale:
        run_scale(args.corpus, args.scale_k)
        return
    paths = sorted(args.corpus.glob("*.png"))
    if args.images:
        paths = [p for p in paths if p.stem in args.images]
    print(
        f"numpy {np.__version__}, {os.cpu_count()} CPUs, ccodec {ccodec.__version__}, "
        f"load average {_load()} (other processes slow every timing)"
    )
    if args.large_k:
        run_large_k(paths, tuple(args.k or LARGE_KS))
        return
    ks = args.k or DEFAULT_KS
    if args.repeat < 1:
        sys.exit("--repeat should be at least 1")
    print(f"best of {args.repeat} run(s) per method and cell")
    warm_up()
    all_cells = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            pixels = load(path)
            cells = [measure(path.stem, pixels, k, Path(tmp), args.repeat) for k in ks]
            peers = [p for p in PEERS if any(p in c.peers for c in cells)]
            print_table(f"{path.stem} ({pixels.shape[1]} x {pixels.shape[0]})", cells, peers)
            sys.stdout.flush()
            all_cells += cells
    print_summary(all_cells)
    print(f"- load average at the end: {_load()}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
