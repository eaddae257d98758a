"""ccodec's quantizer against the best and the median of several scikit-learn k-means runs.

Run from the repository root (issue 17's quality goal; see benchmarks/README.md):

    python benchmarks/kmeans_best.py                       # every image, K = 2 .. 50
    python benchmarks/kmeans_best.py --images astronaut --k 16 --k 32
    python benchmarks/kmeans_best.py --runs 4 --json sklearn_runs.json

One scikit-learn run (``KMeans(n_clusters=K, n_init=1, random_state=s)``) is
a lottery: its seed decides which local optimum it finds. This compares
ccodec at its default (``ccodec.quantize(pixels, K, seed=0)``) with the best
and the median of `--runs` of them, seeds 0 .. runs - 1, each fitted on every
pixel as [0, 1] floats, its centres rounded to 8 bits and every pixel
re-assigned to the nearest rounded centre, as a stored palette must be (the
same as `benchmarks/quantize.py`). MSE is over all H x W x C values scaled to
[0, 1], alpha included.

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


def run_ccodec(pixels: np.ndarray, k: int) -> tuple[float, float]:
    start = time.perf_counter()
    q = ccodec.quantize(pixels, k, seed=0)
    elapsed = time.perf_counter() - start
    return mse(q.to_array(), pixels), elapsed


def run_sklearn(pixels: np.ndarray, k: int, seed: int) -> tuple[float, float]:
    from sklearn.cluster import KMeans

    flat = pixels.reshape(-1, pixels.shape[-1] if pixels.ndim == 3 else 1)
    x = flat.astype(np.float64) / 255
    start = time.perf_counter()
    model = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(x)
    elapsed = time.perf_counter() - start
    palette = np.clip(np.rint(model.cluster_centers_ * 255), 0, 255)
    return _palette_mse(flat.astype(np.float64), palette), elapsed


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


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
