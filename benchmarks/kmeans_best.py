"""ccodec's quantizer against the best and the median of several scikit-learn k-means runs.

Run from the repository root (issue 17's quality goal; see benchmarks/README.md):

    python benchmarks/kmeans_best.py                       # every image, K = 2 .. 50
    python benchmarks/kmeans_best.py --images astronaut --k 16 --k 32
    python benchmarks/kmeans_best.py --runs 4 --json sklearn_runs.json
    python benchmarks/kmeans_best.py --sklearn-json sklearn_runs.json --speed 3 --speed 4

With --sklearn-json the scikit-learn MSEs come from an earlier --json file
and only one scikit-learn run (seed 0) per cell is timed, alternating with
each --speed's ccodec run (`--repeat` times, median), for the time ratio.

One scikit-learn run (``KMeans(n_clusters=K, n_init=1, random_state=s)``) is
a lottery: its seed decides which local optimum it finds. This compares
ccodec at its default (``ccodec.quantize(pixels, K, seed=0)``) with the best
and the median of `--runs` of them, seeds 0 .. runs - 1, each fitted on every
pixel as [0, 1] floats, its centres rounded to 8 bits and every pixel
re-assigned to the nearest rounded centre, as a stored palette must be (the
same as `benchmarks/quantize.py`). MSE is over all H x W x C values scaled to
[0, 1], alpha included, as the command line reports it: colour under a pixel
transparent in both images is not counted (``ignore_transparent=True``).

Times: ccodec's is the whole `quantize` call, scikit-learn's the `fit` of
one run. The two alternate (ccodec, seed 0, ccodec, seed 1, ...), so a stall
from another process hits both alike; each column is the median of its
`--runs` times, and the time ratio is ccodec's median over one scikit-learn
run's median. ccodec gives the same output every run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import ccodec
from ccodec.metrics import mse
from ccodec.transparency import has_alpha

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quantize import DEFAULT_CORPUS, _palette_mse, load  # noqa: E402

DEFAULT_KS = (2, 4, 5, 8, 10, 16, 20, 32, 50)
DEFAULT_RUNS = 8


@dataclass
class Cell:
    image: str
    k: int
    ccodec_mse: float
    ccodec_s: float
    sklearn_mse: list[float]
    sklearn_s: list[float]

    @property
    def best(self) -> float:
        return min(self.sklearn_mse)

    @property
    def median(self) -> float:
        return statistics.median(self.sklearn_mse)

    @property
    def time_ratio(self) -> float:
        return self.ccodec_s / statistics.median(self.sklearn_s)


def run_ccodec(pixels: np.ndarray, k: int, speed: int | None = None) -> tuple[float, float]:
    options = {} if speed is None else {"speed": speed}
    start = time.perf_counter()
    q = ccodec.quantize(pixels, k, seed=0, **options)
    elapsed = time.perf_counter() - start
    return mse(q.to_array(), pixels, ignore_transparent=True), elapsed


def run_sklearn(pixels: np.ndarray, k: int, seed: int) -> tuple[float, float]:
    from sklearn.cluster import KMeans

    flat = pixels.reshape(-1, pixels.shape[-1] if pixels.ndim == 3 else 1)
    x = flat.astype(np.float64) / 255
    start = time.perf_counter()
    model = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(x)
    elapsed = time.perf_counter() - start
    palette = np.clip(np.rint(model.cluster_centers_ * 255), 0, 255)
    if not has_alpha(flat.shape[1]):
        return _palette_mse(flat.astype(np.float64), palette), elapsed
    # With alpha, the error ccodec reports: colour under alpha 0 (in both images) is free.
    mapped = ccodec.remap(pixels, palette.astype(np.uint8), dither="none").to_array()
    return mse(mapped, pixels, ignore_transparent=True), elapsed


def measure(name: str, pixels: np.ndarray, k: int, runs: int) -> Cell:
    ccodec_mse, ccodec_times = None, []
    sklearn_mse, sklearn_times = [], []
    for seed in range(runs):
        error, seconds = run_ccodec(pixels, k)
        if ccodec_mse is not None and error != ccodec_mse:
            sys.exit(f"{name} K={k}: ccodec gave {error} after {ccodec_mse} (not deterministic)")
        ccodec_mse = error
        ccodec_times.append(seconds)
        error, seconds = run_sklearn(pixels, k, seed)
        sklearn_mse.append(error)
        sklearn_times.append(seconds)
    return Cell(name, k, ccodec_mse, statistics.median(ccodec_times), sklearn_mse, sklearn_times)


def print_table(name: str, cells: list[Cell], runs: int) -> None:
    print(f"\n### {name}\n")
    head = [
        "K",
        "ccodec MSE",
        f"best of {runs}",
        f"median of {runs}",
        "ratio to best",
        "ratio to median",
        "ccodec ms",
        "sklearn ms (one run)",
        "time ratio",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for c in cells:
        row = [
            str(c.k),
            f"{c.ccodec_mse:.6f}",
            f"{c.best:.6f}",
            f"{c.median:.6f}",
            f"{_ratio(c.ccodec_mse, c.best):.4f}",
            f"{_ratio(c.ccodec_mse, c.median):.4f}",
            f"{c.ccodec_s * 1e3:.1f}",
            f"{statistics.median(c.sklearn_s) * 1e3:.1f}",
            f"{c.time_ratio:.3f}",
        ]
        print("| " + " | ".join(row) + " |")


def _ratio(a: float, b: float) -> float:
    if b == 0:
        return 1.0 if a == 0 else float("inf")
    return a / b


def print_summary(cells: list[Cell], runs: int) -> None:
    print("\n### Summary\n")
    ratios = [(_ratio(c.ccodec_mse, c.best), c) for c in cells]
    worst, cell = max(ratios, key=lambda pair: pair[0])
    met = sum(r <= 1 for r, _ in ratios)
    print(f"- at or below the best of {runs}: {met}/{len(cells)} cells")
    print(f"- MSE / best of {runs}: worst {worst:.4f} ({cell.image} K={cell.k})")
    to_median = [_ratio(c.ccodec_mse, c.median) for c in cells]
    print(f"- MSE / median of {runs}: worst {max(to_median):.4f}")
    times = [c.time_ratio for c in cells]
    slowest = max(cells, key=lambda c: c.time_ratio)
    print(
        f"- time / one sklearn run: median {statistics.median(times):.3f}, "
        f"worst {slowest.time_ratio:.3f} ({slowest.image} K={slowest.k})"
    )


def measure_speeds(
    name: str, pixels: np.ndarray, k: int, speeds: list[int], cached: dict, repeat: int
) -> dict[int, Cell]:
    """Each speed's cell, scikit-learn MSEs from `cached`; one sklearn run timed between."""
    errors: dict[int, float] = {}
    times: dict[int, list[float]] = {s: [] for s in speeds}
    sklearn_times = []
    for _ in range(repeat):
        for speed in speeds:
            error, seconds = run_ccodec(pixels, k, speed)
            if errors.setdefault(speed, error) != error:
                sys.exit(f"{name} K={k} speed {speed}: not deterministic")
            times[speed].append(seconds)
        sklearn_times.append(run_sklearn(pixels, k, 0)[1])
    return {
        s: Cell(
            name, k, errors[s], statistics.median(times[s]), cached["sklearn_mse"], sklearn_times
        )
        for s in speeds
    }


def print_speeds(cells: dict[int, list[Cell]], runs: int) -> None:
    """Per cell, each speed's ratio to the best of the runs and time ratio; then a summary."""
    speeds = list(cells)
    head = ["image", "K", f"best of {runs}"]
    for s in speeds:
        head += [f"speed {s} ratio", f"speed {s} ms", f"speed {s} / sklearn"]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for row in zip(*cells.values(), strict=True):
        first = row[0]
        line = [first.image, str(first.k), f"{first.best:.6f}"]
        for c in row:
            line += [f"{_ratio(c.ccodec_mse, c.best):.5f}", f"{c.ccodec_s * 1e3:.1f}"]
            line.append(f"{c.time_ratio:.3f}")
        print("| " + " | ".join(line) + " |")
    print()
    for s, group in cells.items():
        ratios = [_ratio(c.ccodec_mse, c.best) for c in group]
        worst = max(range(len(group)), key=lambda i: ratios[i])
        print(
            f"- speed {s}: at or below the best of {runs} in {sum(r <= 1 for r in ratios)}/"
            f"{len(group)} cells, worst {ratios[worst]:.4f} ({group[worst].image} "
            f"K={group[worst].k}); time / one sklearn run: median "
            f"{statistics.median(c.time_ratio for c in group):.3f}"
        )


def warm_up() -> None:
    """Run ccodec and sklearn once untimed, so no cell pays for first-call set-up."""
    pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    run_ccodec(pixels, 16)
    run_sklearn(pixels, 16, 0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus-dir", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--images", nargs="+", help="image names without .png (default: all)")
    parser.add_argument("--k", type=int, action="append", help="K to run (repeatable)")
    parser.add_argument(
        "--runs", type=int, default=DEFAULT_RUNS, help="scikit-learn seeds 0..runs-1"
    )
    parser.add_argument("--json", type=Path, help="also write every cell's figures here")
    parser.add_argument(
        "--sklearn-json", type=Path, help="scikit-learn MSEs from an earlier --json"
    )
    parser.add_argument("--speed", type=int, action="append", help="ccodec speed (repeatable)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs with --sklearn-json")
    args = parser.parse_args(argv)
    if not args.corpus_dir.is_dir():
        sys.exit(f"{args.corpus_dir}: corpus directory not found (use --corpus-dir)")
    if args.runs < 1:
        sys.exit("--runs should be at least 1")
    try:
        import sklearn  # noqa: F401
    except ImportError:
        sys.exit("scikit-learn is not installed (pip install -e .[bench])")
    paths = sorted(args.corpus_dir.glob("*.png"))
    if args.images:
        paths = [p for p in paths if p.stem in args.images]
    ks = args.k or DEFAULT_KS
    print(
        f"numpy {np.__version__}, {os.cpu_count()} CPUs, ccodec {ccodec.__version__}, "
        f"load average {_load()} (other processes slow every timing)"
    )
    warm_up()
    if args.sklearn_json:
        run_cached(args, paths, ks)
        return
    cells = []
    for path in paths:
        pixels = load(path)
        image_cells = [measure(path.stem, pixels, k, args.runs) for k in ks]
        print_table(f"{path.stem} ({pixels.shape[1]} x {pixels.shape[0]})", image_cells, args.runs)
        sys.stdout.flush()
        cells += image_cells
    print_summary(cells, args.runs)
    print(f"- load average at the end: {_load()}")
    if args.json:
        args.json.write_text(json.dumps([asdict(c) for c in cells], indent=1))


def run_cached(args: argparse.Namespace, paths: list[Path], ks: tuple[int, ...]) -> None:
    cached = {(c["image"], c["k"]): c for c in json.loads(args.sklearn_json.read_text())}
    speeds = args.speed or [None]
    cells: dict = {s: [] for s in speeds}
    for path in paths:
        pixels = load(path)
        for k in ks:
            if (path.stem, k) not in cached:
                continue
            cell = cached[(path.stem, k)]
            for s, c in measure_speeds(path.stem, pixels, k, speeds, cell, args.repeat).items():
                cells[s].append(c)
    runs = len(next(iter(cached.values()))["sklearn_mse"])
    print_speeds(cells, runs)
    print(f"- load average at the end: {_load()}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
